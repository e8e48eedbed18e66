using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// GEMM. The definition (Reference.Gemm, kernels/gemm/Gemm.Reference.cs: float loops, row by row) against the math, a naive
// triple loop in double, and hand-computed special cases. Every version against the definition on the same inputs: the cpu
// device's default, cpu version 1 (Reference's loops) and version 2 (the packed SGEMM) on every vector path, ILGPU versions
// 1 … 5, each through IBackend on a device created with --gemm-version (and --kernels).
// Tolerance: |C − C_ref| ≤ 1e-4 + 1e-4·|C_ref| with inputs in [−1, 1] and K ≤ 150 (float32 accumulation of
// K products rounds to ~K·6e-8·|partial sum|, below 1e-5 here; 1e-4 leaves room without hiding a wrong index,
// which gives errors of order 0.1–1).
public class GemmTests
{
    const float Atol = 1e-4f, Rtol = 1e-4f;

    /// <summary>The math, for Reference_MatchesTheMath only: C[b](i,j) = Alpha·Σ_p op(A)(i,p)·op(B)(p,j) + Beta·C[b](i,j), in double.</summary>
    static float[] InDouble(GemmArgs g, float[] a, float[] b, float[] c0)
    {
        var c = (float[])c0.Clone();
        for (int bt = 0; bt < g.Batch; bt++)
            for (int i = 0; i < g.M; i++)
                for (int j = 0; j < g.N; j++)
                {
                    double s = 0;
                    for (int p = 0; p < g.K; p++)
                    {
                        double av = g.TransA ? a[g.OffsetA + bt * g.StrideA + p * g.M + i] : a[g.OffsetA + bt * g.StrideA + i * g.K + p];
                        double bv = g.TransB ? b[g.OffsetB + bt * g.StrideB + j * g.K + p] : b[g.OffsetB + bt * g.StrideB + p * g.N + j];
                        s += av * bv;
                    }
                    int idx = g.OffsetC + bt * g.StrideC + i * g.N + j;
                    c[idx] = (float)(g.Beta == 0f ? g.Alpha * s : g.Alpha * s + (double)g.Beta * c0[idx]);
                }
        return c;
    }

    /// <summary>The definition: Reference.Gemm on a copy of c0.</summary>
    public static float[] RefGemm(GemmArgs g, float[] a, float[] b, float[] c0)
    {
        var c = (float[])c0.Clone();
        Reference.Gemm(g, a, b, c);
        return c;
    }

    /// <summary>Runs one GEMM on a device (its options choose the version).</summary>
    public static float[] Run(IBackend be, GemmArgs g, float[] a, float[] b, float[] c0)
    {
        using var sa = be.Allocate(a.Length, DType.Float32);
        using var sb = be.Allocate(b.Length, DType.Float32);
        using var sc = be.Allocate(c0.Length, DType.Float32);
        be.Upload(a, sa); be.Upload(b, sb); be.Upload(c0, sc);
        be.Gemm(g, sa, sb, sc);
        var c = new float[c0.Length];
        be.Download(sc, c);
        return c;
    }

    // (M, N, K): degenerate 1s, sizes that are no multiple of 16 or 64, M < K, K < M, N < K, one full
    // v2 tile plus a ragged edge in every dimension.
    public static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 9, 5), (7, 1, 13), (3, 5, 150), (150, 3, 2), (17, 33, 40), (40, 17, 3), (65, 70, 19), (16, 16, 16), (2, 130, 67),
    ];

    /// <summary>Every case the versions are compared on, (what, args, a, b, c0): all transposes of Shapes (Beta = 0 with C full of
    /// NaN: it must not be read), alpha/beta, batches with offsets, gaps and a shared A, a conv-sized problem.</summary>
    static IEnumerable<(string What, GemmArgs G, float[] A, float[] B, float[] C0)> Cases(bool transAForAlphaBeta)
    {
        var gen = new Generator(11);
        foreach (var (m, n, k) in Shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var g = new GemmArgs(ta, tb, m, n, k, Alpha: 1f, Beta: 0f);
                    yield return ($"M={m} N={n} K={k} TransA={ta} TransB={tb}", g, TestUtil.RandomArray(gen, m * k), TestUtil.RandomArray(gen, k * n),
                        Enumerable.Repeat(float.NaN, m * n).ToArray());
                }
        var gen2 = new Generator(12);
        foreach (var (m, n, k) in new[] { (5, 7, 9), (70, 66, 33) })
            foreach (var (alpha, beta) in new[] { (1f, 1f), (-0.5f, 2f), (2f, 0.25f) })
            {
                var g = new GemmArgs(transAForAlphaBeta, true, m, n, k, alpha, beta);
                yield return ($"M={m} N={n} K={k} alpha={alpha} beta={beta}", g, TestUtil.RandomArray(gen2, m * k), TestUtil.RandomArray(gen2, k * n),
                    TestUtil.RandomArray(gen2, m * n));
            }
        var gen3 = new Generator(13);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (int strideA in new[] { 0, 11 * 6 + 5 })   // 0: one A shared by every batch item (conv weights)
                {
                    int m = 11, n = 13, k = 6;
                    // Gaps between batch items and a leading offset: everything outside the C matrices must stay untouched.
                    var g = new GemmArgs(ta, tb, m, n, k, 1.25f, 0.5f, 3,
                        OffsetA: 3, OffsetB: 7, OffsetC: 5, StrideA: strideA, StrideB: k * n + 2, StrideC: m * n + 9);
                    yield return ($"batched TransA={ta} TransB={tb} StrideA={strideA}", g, TestUtil.RandomArray(gen3, 3 + 2 * strideA + m * k + 4),
                        TestUtil.RandomArray(gen3, 7 + 2 * (k * n + 2) + k * n), TestUtil.RandomArray(gen3, 5 + 2 * (m * n + 9) + m * n + 3));
                }
        // One larger problem, shaped like a small conv layer's forward GEMM: W[16, 75] · col[75, 196].
        var gen4 = new Generator(14);
        yield return ("conv-sized W[16, 75]·col[75, 196]", new GemmArgs(false, false, 16, 196, 75), TestUtil.RandomArray(gen4, 16 * 75),
            TestUtil.RandomArray(gen4, 75 * 196), new float[16 * 196]);
    }

    /// <summary>The definition itself, independent of it: Reference.Gemm against the triple loop in double on every case of the
    /// versions (and those of FastVersions and SplitK), and hand-computed special cases.</summary>
    [Fact]
    public void Reference_MatchesTheMath()
    {
        foreach (bool ta in new[] { false, true })
            foreach (var (what, g, a, b, c0) in Cases(ta))
                TestUtil.AssertClose(InDouble(g, a, b, c0), RefGemm(g, a, b, c0), Atol, Rtol, $"Reference {what}");
        foreach (var (what, g, a, b, c0) in FastCases())
            TestUtil.AssertClose(InDouble(g, a, b, c0), RefGemm(g, a, b, c0), Atol, Rtol, $"Reference {what}");
        foreach (var (what, g, a, b, c0) in SplitKCases())
            TestUtil.AssertClose(InDouble(g, a, b, c0), RefGemm(g, a, b, c0), 1e-3f, 1e-4f, $"Reference {what}");

        // Hand values: [[1, 2], [3, 4]]·[[5, 6], [7, 8]] = [[19, 22], [43, 50]]; with Aᵀ, Bᵀ, alpha 2 and beta −1 on C = 1.
        float[] ha = [1, 2, 3, 4], hb = [5, 6, 7, 8];
        Assert.Equal(new[] { 19f, 22f, 43f, 50f }, RefGemm(new GemmArgs(false, false, 2, 2, 2), ha, hb, [float.NaN, float.NaN, float.NaN, float.NaN]));
        Assert.Equal(new[] { 26f, 30f, 38f, 44f }, RefGemm(new GemmArgs(true, false, 2, 2, 2), ha, hb, new float[4]));    // Aᵀ = [[1, 3], [2, 4]]
        Assert.Equal(new[] { 17f, 23f, 39f, 53f }, RefGemm(new GemmArgs(false, true, 2, 2, 2), ha, hb, new float[4]));    // Bᵀ = [[5, 7], [6, 8]]
        Assert.Equal(new[] { 37f, 43f, 85f, 99f }, RefGemm(new GemmArgs(false, false, 2, 2, 2, 2f, -1f), ha, hb, [1, 1, 1, 1]));
        // Alpha = 0 only scales C by Beta; Beta = 0 never reads C (NaN there is overwritten).
        var gen = new Generator(15);
        var ra = TestUtil.RandomArray(gen, 29 * 19); var rb = TestUtil.RandomArray(gen, 19 * 37); var rc = TestUtil.RandomArray(gen, 29 * 37);
        Assert.Equal(rc.Select(v => -3f * v), RefGemm(new GemmArgs(false, false, 29, 37, 19, 0f, -3f), ra, rb, rc));
        Assert.DoesNotContain(RefGemm(new GemmArgs(false, false, 29, 37, 19), ra, rb, Enumerable.Repeat(float.NaN, 29 * 37).ToArray()), float.IsNaN);
    }

    /// <summary>Every GEMM version on every case, against Reference.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.Gemm), MemberType = typeof(KernelVersions))]
    public void Versions_MatchReference(string version)
    {
        var be = KernelVersions.Device(version).Backend;
        foreach (var (what, g, a, b, c0) in Cases(version.EndsWith("--gemm-version 1")))
            TestUtil.AssertClose(RefGemm(g, a, b, c0), Run(be, g, a, b, c0), Atol, Rtol, $"{version} {what}");
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void BadArguments_ThrowBeforeLaunch(string device)
    {
        var be = Device.Get(device).Backend;
        using var s = be.Allocate(100, DType.Float32);
        void Throws(GemmArgs g, string fragment)
        {
            var e = Assert.Throws<ArgumentException>(() => be.Gemm(g, s, s, s));
            Assert.Contains("gemm", e.Message);
            Assert.Contains(fragment, e.Message);
        }
        Throws(new GemmArgs(false, false, 0, 3, 3), "M=0");
        Throws(new GemmArgs(false, false, 3, 3, -1), "K=-1");
        Throws(new GemmArgs(false, false, 11, 10, 10), "A needs 110");             // A is 11×10 = 110 > 100
        Throws(new GemmArgs(false, true, 5, 5, 5, Batch: 2, OffsetB: 80, StrideB: 25, StrideC: 25), "B needs 130");
        Throws(new GemmArgs(false, false, 3, 3, 3, Batch: 2, StrideC: 4), "must not overlap");
        Throws(new GemmArgs(false, false, 3, 3, 3, OffsetC: -1), "must be >= 0");
        if (be is IlgpuBackend il)
        {
            Assert.Throws<ArgumentException>(() => il.Gemm(new GemmArgs(false, false, 2, 2, 2), s, s, s, 6));
            Assert.Contains("--gemm-version", Assert.Throws<ArgumentException>(() => Device.Get(il.Name, new DeviceOptions { GemmVersion = 6 })).Message);
        }
    }

    // v3 … v5 read float4 when a matrix allows it (leading dimension, offset and batch stride multiples of 4)
    // and fall back to guarded scalars otherwise and at ragged edges. These shapes cross 128-wide tiles with
    // aligned and unaligned leading dimensions, offsets that forbid float4, and K not a multiple of the slice.
    static IEnumerable<(string What, GemmArgs G, float[] A, float[] B, float[] C0)> FastCases()
    {
        var gen = new Generator(15);
        foreach (var (m, n, k, off) in new[] { (132, 136, 20, 0), (129, 131, 13, 0), (8, 260, 12, 4), (136, 4, 36, 2) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return ($"M={m} N={n} K={k} off={off} TransA={ta} TransB={tb}", new GemmArgs(ta, tb, m, n, k, 1f, 0.5f, OffsetA: off, OffsetB: off, OffsetC: off),
                        TestUtil.RandomArray(gen, off + m * k), TestUtil.RandomArray(gen, off + k * n), TestUtil.RandomArray(gen, off + m * n));
    }

    [Fact]
    public void FastVersions_VectorAndScalarPaths_MatchReference()
    {
        foreach (var d in TestUtil.Devices().Select(d => (string)d[0]).Where(d => d != "cpu"))
            foreach (var (what, g, a, b, c0) in FastCases())
            {
                var want = RefGemm(g, a, b, c0);
                for (int v = 3; v <= 5; v++)
                    TestUtil.AssertClose(want, Run(KernelVersions.Device($"{d} --gemm-version {v}").Backend, g, a, b, c0), Atol, Rtol, $"{d} v{v} {what}");
            }
    }

    // Split K: with few output tiles the default kernel sums K in slices into a workspace and reduces.
    // The CPU simulator never needs it, so the test asks for more groups than the tiles give.
    static IEnumerable<(string What, GemmArgs G, float[] A, float[] B, float[] C0)> SplitKCases()
    {
        var gen = new Generator(16);
        foreach (var (m, n, k) in new[] { (5, 12, 1000), (130, 7, 515), (64, 64, 256) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return ($"split-K M={m} N={n} K={k} TransA={ta} TransB={tb}", new GemmArgs(ta, tb, m, n, k, 0.75f, 0.5f),
                        TestUtil.RandomArray(gen, m * k), TestUtil.RandomArray(gen, k * n), TestUtil.RandomArray(gen, m * n));
    }

    [Fact]
    public void SplitK_MatchesReference()
    {
        foreach (var d in TestUtil.Devices().Select(d => (string)d[0]).Where(d => d != "cpu"))
        {
            var il = (IlgpuBackend)KernelVersions.Device($"{d} --gemm-version 5", o => o with { SplitKTargetGroups = 8 }).Backend;
            foreach (var (what, g, a, b, c0) in SplitKCases())
            {
                Assert.True(il.SplitKFor(g) > 1, $"{what} should split");
                TestUtil.AssertClose(RefGemm(g, a, b, c0), Run(il, g, a, b, c0), 1e-3f, 1e-4f, $"{d} {what}");
            }
        }
    }
}
