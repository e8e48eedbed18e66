using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// GEMM kernels against a naive triple loop in double, on every device and (for ILGPU) both kernel versions.
// Tolerance: |C − C_ref| ≤ 1e-4 + 1e-4·|C_ref| with inputs in [−1, 1] and K ≤ 150 (float32 accumulation of
// K products rounds to ~K·6e-8·|partial sum|, below 1e-5 here; 1e-4 leaves room without hiding a wrong index,
// which gives errors of order 0.1–1).
public class GemmTests
{
    const float Atol = 1e-4f, Rtol = 1e-4f;

    /// <summary>The definition: C[b](i,j) = Alpha·Σ_p op(A)(i,p)·op(B)(p,j) + Beta·C[b](i,j), in double.</summary>
    public static float[] Reference(GemmArgs g, float[] a, float[] b, float[] c0)
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

    /// <summary>Runs one GEMM on a device (version 0 = the backend's default kernel).</summary>
    public static float[] Run(IBackend be, GemmArgs g, float[] a, float[] b, float[] c0, int version = 0)
    {
        using var sa = be.Allocate(a.Length, DType.Float32);
        using var sb = be.Allocate(b.Length, DType.Float32);
        using var sc = be.Allocate(c0.Length, DType.Float32);
        be.Upload(a, sa); be.Upload(b, sb); be.Upload(c0, sc);
        if (version != 0) ((IlgpuBackend)be).Gemm(g, sa, sb, sc, version);
        else be.Gemm(g, sa, sb, sc);
        var c = new float[c0.Length];
        be.Download(sc, c);
        return c;
    }

    /// <summary>Kernel versions to test on a device: the CPU has one, ILGPU has five.</summary>
    static int[] Versions(IBackend be) => be is IlgpuBackend ? [1, 2, 3, 4, 5] : [0];

    // (M, N, K): degenerate 1s, sizes that are no multiple of 16 or 64, M < K, K < M, N < K, one full
    // v2 tile plus a ragged edge in every dimension.
    public static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 9, 5), (7, 1, 13), (3, 5, 150), (150, 3, 2), (17, 33, 40), (40, 17, 3), (65, 70, 19), (16, 16, 16), (2, 130, 67),
    ];

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void AllTransposes_ManyShapes_MatchReference(string device)
    {
        var be = Device.Get(device).Backend;
        var gen = new Generator(11);
        foreach (int version in Versions(be))
            foreach (var (m, n, k) in Shapes)
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        var g = new GemmArgs(ta, tb, m, n, k, Alpha: 1f, Beta: 0f);
                        var a = TestUtil.RandomArray(gen, m * k); var b = TestUtil.RandomArray(gen, k * n);
                        var c0 = Enumerable.Repeat(float.NaN, m * n).ToArray(); // Beta = 0 must not read C
                        TestUtil.AssertClose(Reference(g, a, b, c0), Run(be, g, a, b, c0, version), Atol, Rtol,
                            $"{device} v{version} M={m} N={n} K={k} TransA={ta} TransB={tb}");
                    }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void AlphaBeta_Accumulate(string device)
    {
        var be = Device.Get(device).Backend;
        var gen = new Generator(12);
        foreach (int version in Versions(be))
            foreach (var (m, n, k) in new[] { (5, 7, 9), (70, 66, 33) })
                foreach (var (alpha, beta) in new[] { (1f, 1f), (-0.5f, 2f), (2f, 0.25f) })
                {
                    var g = new GemmArgs(version == 1, true, m, n, k, alpha, beta);
                    var a = TestUtil.RandomArray(gen, m * k); var b = TestUtil.RandomArray(gen, k * n);
                    var c0 = TestUtil.RandomArray(gen, m * n);
                    TestUtil.AssertClose(Reference(g, a, b, c0), Run(be, g, a, b, c0, version), Atol, Rtol,
                        $"{device} v{version} M={m} N={n} K={k} alpha={alpha} beta={beta}");
                }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Batched_WithOffsetsStridesAndSharedA(string device)
    {
        var be = Device.Get(device).Backend;
        var gen = new Generator(13);
        foreach (int version in Versions(be))
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (int strideA in new[] { 0, 11 * 6 + 5 })   // 0: one A shared by every batch item (conv weights)
                    {
                        int m = 11, n = 13, k = 6, batch = 3;
                        // Gaps between batch items and a leading offset: everything outside the C matrices must stay untouched.
                        var g = new GemmArgs(ta, tb, m, n, k, 1.25f, 0.5f, batch,
                            OffsetA: 3, OffsetB: 7, OffsetC: 5, StrideA: strideA, StrideB: k * n + 2, StrideC: m * n + 9);
                        var a = TestUtil.RandomArray(gen, 3 + 2 * strideA + m * k + 4);
                        var b = TestUtil.RandomArray(gen, 7 + 2 * (k * n + 2) + k * n);
                        var c0 = TestUtil.RandomArray(gen, 5 + 2 * (m * n + 9) + m * n + 3);
                        TestUtil.AssertClose(Reference(g, a, b, c0), Run(be, g, a, b, c0, version), Atol, Rtol,
                            $"{device} v{version} batched TransA={ta} TransB={tb} StrideA={strideA}");
                    }
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

    [Fact]
    public void IlgpuVersions_AgreeWithCpu_OnAConvSizedProblem()
    {
        // One larger problem, shaped like a small conv layer's forward GEMM: W[16, 75] · col[75, 196].
        var gen = new Generator(14);
        var g = new GemmArgs(false, false, 16, 196, 75);
        var a = TestUtil.RandomArray(gen, 16 * 75); var b = TestUtil.RandomArray(gen, 75 * 196); var c0 = new float[16 * 196];
        var cpu = Run(Device.Get("cpu").Backend, g, a, b, c0);
        TestUtil.AssertClose(Reference(g, a, b, c0), cpu, Atol, Rtol, "cpu");
        var il = Device.Get("ilgpu-cpu").Backend;
        for (int v = 1; v <= 5; v++)
            TestUtil.AssertClose(cpu, Run(il, g, a, b, c0, v), Atol, Rtol, $"ilgpu v{v} vs cpu");
    }

    // v3 … v5 read float4 when a matrix allows it (leading dimension, offset and batch stride multiples of 4)
    // and fall back to guarded scalars otherwise and at ragged edges. These shapes cross 128-wide tiles with
    // aligned and unaligned leading dimensions, offsets that forbid float4, and K not a multiple of the slice.
    [Fact]
    public void FastVersions_VectorAndScalarPaths_MatchReference()
    {
        var il = (IlgpuBackend)Device.Get("ilgpu-cpu").Backend;
        var gen = new Generator(15);
        foreach (var (m, n, k, off) in new[] { (132, 136, 20, 0), (129, 131, 13, 0), (8, 260, 12, 4), (136, 4, 36, 2) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var g = new GemmArgs(ta, tb, m, n, k, 1f, 0.5f, OffsetA: off, OffsetB: off, OffsetC: off);
                    var a = TestUtil.RandomArray(gen, off + m * k); var b = TestUtil.RandomArray(gen, off + k * n);
                    var c0 = TestUtil.RandomArray(gen, off + m * n);
                    var want = Reference(g, a, b, c0);
                    for (int v = 3; v <= 5; v++)
                        TestUtil.AssertClose(want, Run(il, g, a, b, c0, v), Atol, Rtol, $"v{v} M={m} N={n} K={k} off={off} TransA={ta} TransB={tb}");
                }
    }

    // Split K: with few output tiles the default kernel sums K in slices into a workspace and reduces.
    // The CPU simulator never needs it, so the test asks for more groups than the tiles give.
    [Fact]
    public void SplitK_MatchesReference()
    {
        var il = (IlgpuBackend)Device.Get("ilgpu-cpu", new DeviceOptions { SplitKTargetGroups = 8 }).Backend;
        var gen = new Generator(16);
        {
            foreach (var (m, n, k) in new[] { (5, 12, 1000), (130, 7, 515), (64, 64, 256) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        var g = new GemmArgs(ta, tb, m, n, k, 0.75f, 0.5f);
                        Assert.True(il.SplitKFor(g) > 1, $"M={m} N={n} K={k} should split");
                        var a = TestUtil.RandomArray(gen, m * k); var b = TestUtil.RandomArray(gen, k * n);
                        var c0 = TestUtil.RandomArray(gen, m * n);
                        TestUtil.AssertClose(Reference(g, a, b, c0), Run(il, g, a, b, c0, 5), 1e-3f, 1e-4f, $"split-K M={m} N={n} K={k} TransA={ta} TransB={tb}");
                    }
        }
    }
}
