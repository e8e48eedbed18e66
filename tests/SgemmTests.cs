using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Sgemm (kernels/gemm/Sgemm*.cs: the cpu device's GEMM version 2) on every micro-kernel path this CPU has, against the
// GEMM family's definition, Reference.Gemm (kernels/gemm/Gemm.Reference.cs; GemmTests checks it against the math in double),
// run on dense copies of the strided operands.
//
// Tolerance, random floats in [-1, 1): |C − C_ref| ≤ 2·(K + 4)·2⁻²⁴·(|α|·Σ_k|a_ik·b_kj| + |β·c_ij|): each of
// Sgemm and Reference.Gemm stays within the classical worst-case bound γ_K for a K-term float dot product plus
// the roundings of the alpha/beta update (and Sgemm's per-KC-block accumulation), so they differ by at most twice
// that. It grows with K as the true error can. Because a worst-case bound is loose for large K, every shape is
// also run on small integers, where every product and partial sum is exactly representable in both: there the
// result must be bit-exact, so a single misplaced, missing or doubled term fails.
public class SgemmTests
{
    /// <summary>Every path the CPU supports (all three on an AVX-512 machine), so none is silently untested.</summary>
    public static IEnumerable<object[]> Paths() =>
        new[] { KernelPath.Avx512, KernelPath.Avx2, KernelPath.Vector }.Where(Sgemm.IsSupported).Select(p => new object[] { p });

    // (M, N, K): tiny, odd, M<K and K<M, and sizes that cross the MR/NR tile, the MC block (M = 250 > 240),
    // the KC block (K = 530 = 2·256 + 18) and the NC block (N = 4133 > 4096). 300×520×700 is in its own test.
    static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (7, 13, 5), (33, 65, 17), (5, 3, 40), (40, 3, 5), (12, 32, 1), (13, 33, 257),
        (97, 47, 300), (250, 70, 530), (20, 4133, 40),
    ];

    static readonly (float Alpha, float Beta)[] AlphaBetas = [(1f, 0f), (0.5f, 1f), (-2f, -1.5f)];

    [Fact]
    public void Paths_AllPresentOnThisMachine()
    {
        // This is an AVX-512 machine; if the detection ever breaks, the per-path tests would quietly shrink.
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            Assert.Equal(3, Paths().Count());
            Assert.Equal(KernelPath.Avx512, Sgemm.BestPath);
        }
        Assert.True(Sgemm.IsSupported(KernelPath.Vector));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RandomFloats_AllTransposes_MatchReference(KernelPath path)
    {
        var rng = new Random(1);
        foreach (var (m, n, k) in Shapes)
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                {
                    // All alpha/beta variants on the small shapes; one (cycled) on the large ones to keep the test fast.
                    var variants = (long)m * n * k < 200_000 ? AlphaBetas : [AlphaBetas[(m + n + k + (transA ? 1 : 0) + (transB ? 2 : 0)) % 3]];
                    foreach (var (alpha, beta) in variants)
                        Check(path, rng, transA, transB, m, n, k, alpha, beta, pad: (m + k) % 4, integers: false);
                }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SmallIntegers_AllTransposes_BitExact(KernelPath path)
    {
        var rng = new Random(2);
        foreach (var (m, n, k) in Shapes)
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    Check(path, rng, transA, transB, m, n, k, alpha: transA ? -2f : 0.5f, beta: transB ? 2f : -1f, pad: 3, integers: true);
    }

    [Fact]
    public void Large_300x520x700_AllPathsAllTransposes_BitExact()
    {
        // Crosses every block boundary on every path; Reference is computed once per transpose pair.
        var rng = new Random(6);
        int m = 300, n = 520, k = 700;
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                int lda = (transA ? m : k) + 5, ldb = (transB ? k : n) + 1, ldc = n + 2;
                var a = Strided(rng, transA ? k : m, transA ? m : k, lda, float.NaN, integers: true);
                var b = Strided(rng, transB ? n : k, transB ? k : n, ldb, float.NaN, integers: true);
                var c0 = Strided(rng, m, n, ldc, 12345f, integers: true);
                var expected = (float[])c0.Clone();
                RefStrided(transA, transB, m, n, k, -0.5f, a, lda, b, ldb, 2f, expected, ldc);
                foreach (var path in Paths().Select(p => (KernelPath)p[0]))
                {
                    var c = (float[])c0.Clone();
                    Sgemm.Gemm(transA, transB, m, n, k, -0.5f, a, lda, b, ldb, 2f, c, ldc, path);
                    Assert.True(expected.AsSpan().SequenceEqual(c), $"{path} transA={transA} transB={transB}: differs from the exact result");
                }
            }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BetaZero_IgnoresNaNInC_AndAlphaZeroOrKZeroOnlyScales(KernelPath path)
    {
        // Reference.Gemm: Beta = 0 never reads C, Alpha = 0 only scales C by Beta (hand values in GemmTests.Reference_MatchesTheMath).
        var rng = new Random(3);
        int m = 29, n = 37, k = 19;
        var a = RandomFloats(rng, m * k); var b = RandomFloats(rng, k * n);

        var nan = Enumerable.Repeat(float.NaN, m * n).ToArray();
        var c = (float[])nan.Clone();
        Sgemm.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, path);
        Assert.DoesNotContain(c, float.IsNaN);
        TestUtil.AssertClose(RefGemm(new GemmArgs(false, false, m, n, k), a, b, nan), c, 1e-5f, 1e-5f, $"beta 0 {path}");

        var c0 = RandomFloats(rng, m * n);
        c = (float[])c0.Clone();
        Sgemm.Gemm(false, false, m, n, k, 0f, a, k, b, n, -3f, c, n, path);
        Assert.Equal(RefGemm(new GemmArgs(false, false, m, n, k, 0f, -3f), a, b, c0), c);

        // K = 0 (which GemmArgs refuses): C = Beta·C, as Reference.Gemm with Alpha = 0 computes it.
        c = (float[])c0.Clone();
        Sgemm.Gemm(false, false, m, n, 0, 2f, a, 1, b, n, 0.5f, c, n, path);
        Assert.Equal(RefGemm(new GemmArgs(false, false, m, n, k, 0f, 0.5f), a, b, c0), c);

        c = (float[])nan.Clone();
        Sgemm.Gemm(false, false, m, n, 0, 2f, a, 1, b, n, 0f, c, n, path);
        Assert.Equal(RefGemm(new GemmArgs(false, false, m, n, k, 0f, 0f), a, b, nan), c);
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Threaded_BitIdenticalToSingleThreaded()
    {
        // Stripes split C along M (square) or N (wide); each element is summed in the same order either way.
        var rng = new Random(4);
        foreach (var (m, n, k, transA, transB) in new[] { (300, 520, 700, false, false), (20, 4133, 40, true, true), (61, 1000, 333, false, true) })
        {
            int lda = transA ? m : k, ldb = transB ? k : n;
            var a = RandomFloats(rng, m * k); var b = RandomFloats(rng, k * n);
            var threaded = new float[m * n]; var single = new float[m * n];
            Sgemm.Gemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, threaded, n);
            Sgemm.Gemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, single, n, maxThreads: 1);
            Assert.Equal(single, threaded);
        }
    }

    [Fact]
    public void ConcurrentCallers_AllCorrect()
    {
        // Several threads call at once: one gets the worker team, the others run on their own thread.
        var results = new float[6][];
        var rng = new Random(5);
        int m = 150, n = 260, k = 120;
        var a = SmallInts(rng, m * k); var b = SmallInts(rng, k * n);
        var expected = RefGemm(new GemmArgs(false, false, m, n, k), a, b, new float[m * n]);
        Parallel.For(0, results.Length, i =>
        {
            for (int rep = 0; rep < 5; rep++)
            {
                results[i] = new float[m * n];
                Sgemm.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, results[i], n);
            }
        });
        foreach (var r in results) Assert.Equal(expected, r);
    }

    [Fact]
    public unsafe void DotNT_MatchesReference_OnEdgeBlocksAndTails()
    {
        Assert.True(Sgemm.DotNTApplies(KernelPath.Avx512, 8, 25, 576) == System.Runtime.Intrinsics.X86.Avx512F.IsSupported);
        Assert.False(Sgemm.DotNTApplies(KernelPath.Avx2, 8, 25, 576));      // the other paths keep the packed GEMM
        Assert.False(Sgemm.DotNTApplies(KernelPath.Avx512, 32, 25, 576));   // too many rows of C
        Assert.False(Sgemm.DotNTApplies(KernelPath.Avx512, 8, 25, 64));     // K too short
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // DotNT is an AVX-512 kernel
        var rng = new Random(3);
        // 4×4 blocks and edge blocks (M, N not multiples of 4), K below, at and around multiples of 16, padded rows.
        foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 5, 17), (4, 4, 16), (8, 25, 576), (5, 7, 300), (16, 3, 257), (4, 9, 15) })
            foreach (float beta in new[] { 0f, 1f, 0.5f })
            {
                int lda = k + 3, ldb = k + 1, ldc = n + 2;
                float[] a = Enumerable.Range(0, m * lda).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
                float[] b = Enumerable.Range(0, n * ldb).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
                float[] c = Enumerable.Range(0, m * ldc).Select(_ => beta == 0f ? float.NaN : (float)rng.NextDouble()).ToArray();
                var expected = (float[])c.Clone();   // padding: untouched
                RefStrided(false, true, m, n, k, 1f, a, lda, b, ldb, beta, expected, ldc);
                fixed (float* pa = a, pb = b, pc = c) Sgemm.DotNT(m, n, k, pa, lda, pb, ldb, beta, pc, ldc);
                for (int i = 0; i < c.Length; i++)
                    if (!(float.IsNaN(expected[i]) && float.IsNaN(c[i])))
                        Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]), $"DotNT {m}x{n}x{k} beta {beta}: C[{i}] = {c[i]}, expected {expected[i]}");
            }
    }

    [Fact]
    public void BadArguments_ThrowArgumentException()
    {
        var a = new float[12]; var b = new float[12]; var c = new float[12];
        Assert.Contains("Sgemm", Assert.Throws<ArgumentException>(() => Sgemm.Gemm(false, false, -1, 3, 4, 1f, a, 4, b, 3, 0f, c, 3)).Message);
        Assert.Contains("lda=3", Assert.Throws<ArgumentException>(() => Sgemm.Gemm(false, false, 3, 3, 4, 1f, a, 3, b, 3, 0f, c, 3)).Message);
        Assert.Contains("ldb=2", Assert.Throws<ArgumentException>(() => Sgemm.Gemm(false, true, 3, 3, 4, 1f, a, 4, b, 2, 0f, c, 3)).Message);
        Assert.Contains("ldc=2", Assert.Throws<ArgumentException>(() => Sgemm.Gemm(false, false, 3, 3, 4, 1f, a, 4, b, 3, 0f, c, 2)).Message);
        Assert.Contains("A has 12", Assert.Throws<ArgumentException>(() => Sgemm.Gemm(false, false, 4, 3, 4, 1f, a, 4, b, 3, 0f, new float[12], 3)).Message);
        Assert.Contains("C has 12", Assert.Throws<ArgumentException>(() => Sgemm.Gemm(false, false, 3, 3, 4, 1f, a, 4, b, 3, 0f, c, 5)).Message);
    }

    /// <summary>
    /// One call with row strides padded by `pad` beyond the matrix width. A and B padding holds NaN (it must
    /// never be read); C padding holds a sentinel that must survive.
    /// </summary>
    static void Check(KernelPath path, Random rng, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad, bool integers)
    {
        int rowsA = transA ? k : m, colsA = transA ? m : k, rowsB = transB ? n : k, colsB = transB ? k : n;
        int lda = colsA + pad, ldb = colsB + pad, ldc = n + pad;
        var a = Strided(rng, rowsA, colsA, lda, float.NaN, integers);
        var b = Strided(rng, rowsB, colsB, ldb, float.NaN, integers);
        var c = Strided(rng, m, n, ldc, 12345f, integers);
        var expected = (float[])c.Clone();
        RefStrided(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        double[] bound = integers ? [] : Bound(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        Sgemm.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, path);

        string what = $"{path} transA={transA} transB={transB} M={m} N={n} K={k} alpha={alpha} beta={beta} pad={pad}";
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float got = c[i * ldc + j], want = expected[i * ldc + j];
                double tol = integers ? 0 : 2.0 * (k + 4) * Math.Pow(2, -24) * bound[i * n + j];
                if (!(Math.Abs(got - want) <= tol))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {want} (tolerance {tol:e2})");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.True(c[i * ldc + j] == 12345f, $"{what}: C padding [{i},{j}] was overwritten");
        }
    }

    /// <summary>The definition: Reference.Gemm (GemmArgs has no leading dimensions, so on dense copies of the strided
    /// operands; the result is written back into c's rows, its padding left as it was).</summary>
    static void RefStrided(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        float[] Dense(float[] x, int rows, int cols, int ld)
        {
            var d = new float[rows * cols];
            for (int r = 0; r < rows; r++) Array.Copy(x, r * ld, d, r * cols, cols);
            return d;
        }
        var dc = RefGemm(new GemmArgs(transA, transB, m, n, k, alpha, beta),
            Dense(a, transA ? k : m, transA ? m : k, lda), Dense(b, transB ? n : k, transB ? k : n, ldb), Dense(c, m, n, ldc));
        for (int r = 0; r < m; r++) Array.Copy(dc, r * n, c, r * ldc, n);
    }

    static float[] RefGemm(GemmArgs g, float[] a, float[] b, float[] c0) => GemmTests.RefGemm(g, a, b, c0);

    /// <summary>The tolerance's scale: |α|·Σ_k|a_ik·b_kj| + |β·c_ij| per element, in double.</summary>
    static double[] Bound(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var bound = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double abs = 0;
                for (int p = 0; p < k; p++)
                    abs += Math.Abs((double)(transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]));
                bound[i * n + j] = Math.Abs(alpha) * abs + (beta == 0f ? 0 : Math.Abs((double)beta * c[i * ldc + j]));
            }
        return bound;
    }

    static float[] Strided(Random rng, int rows, int cols, int ld, float padValue, bool integers)
    {
        var x = new float[Math.Max(1, (rows - 1) * ld + cols)];
        Array.Fill(x, padValue);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
                x[r * ld + j] = integers ? rng.Next(-4, 5) : rng.NextSingle() * 2 - 1;
        return x;
    }

    static float[] RandomFloats(Random rng, int n) => Enumerable.Range(0, n).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
    static float[] SmallInts(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)rng.Next(-4, 5)).ToArray();
}
