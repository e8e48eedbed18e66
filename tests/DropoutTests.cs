using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Dropout. The definition (Reference.DropoutForward, kernels/dropout/Dropout.Reference.cs, with the SplitMix64 hash of
// Dropout.cs) against the math: published SplitMix64 outputs, mask values in {0, 1/(1 − p)}, the kept fraction, independence
// of neighbours and unbiasedness within 5σ, reproducibility from (seed, step). Every version (each cpu vector path, the cpu
// default, the ILGPU kernel) and F.Dropout against the definition, bit for bit; the backward against it too.
public class DropoutTests
{
    /// <summary>The device's mask and output for x; the mask is read straight from the kernel.</summary>
    static (float[] y, float[] mask) Run(IBackend b, float[] x, float p, ulong seed, long step)
    {
        int n = x.Length;
        using Storage sx = b.Allocate(n, DType.Float32), sy = b.Allocate(n, DType.Float32), sm = b.Allocate(n, DType.Float32);
        b.Upload(x, sx);
        b.DropoutForward(sx, sy, sm, n, p, seed, step);
        var y = new float[n]; var m = new float[n];
        b.Download(sy, y); b.Download(sm, m);
        return (y, m);
    }

    /// <summary>Reference's mask and output for x.</summary>
    static (float[] y, float[] mask) RunReference(float[] x, float p, ulong seed, long step)
    {
        var y = new float[x.Length]; var m = new float[x.Length];
        Reference.DropoutForward(x, y, m, x.Length, p, seed, step);
        return (y, m);
    }

    [Fact]
    public void Hash_IsSplitMix64()
    {
        // Published SplitMix64 outputs for seed 0 (Vigna's splitmix64.c): the state advances by the golden
        // gamma, so output k is Mix64(k · 0x9E3779B97F4A7C15).
        Assert.Equal(0xE220A8397B1DCDAFUL, DropoutRng.Mix64(0x9E3779B97F4A7C15UL));
        Assert.Equal(0x6E789E6AA1B965F4UL, DropoutRng.Mix64(unchecked(2 * 0x9E3779B97F4A7C15UL)));
        Assert.Equal(0x06C45D188009454FUL, DropoutRng.Mix64(unchecked(3 * 0x9E3779B97F4A7C15UL)));
        // and the engine's own Generator is the same function
        var g = new Generator(0);
        Assert.Equal(DropoutRng.Mix64(0x9E3779B97F4A7C15UL), g.NextULong());
    }

    /// <summary>The definition itself, independent of it: the mask's values and statistics.</summary>
    [Fact]
    public void Reference_MatchesTheMath()
    {
        var gen = new Generator(31);
        int n = 1_000_000;
        var x = TestUtil.RandomArray(gen, n, 0.5f, 2f);  // never 0, so y = 0 exactly where dropped
        foreach (float p in new[] { 0.1f, 0.5f, 0.9f })
        {
            var (y, m) = RunReference(x, p, seed: 7, step: 3);
            float scale = 1f / (1f - p);
            for (int i = 0; i < n; i++)
            {
                Assert.True(m[i] == 0f || m[i] == scale, $"p={p}: mask[{i}] = {m[i]}, expected 0 or {scale}");
                Assert.Equal(x[i] * m[i], y[i]);  // exactly x · mask
            }
            // Fraction kept ≈ 1 − p within 5 standard deviations, overall and in each tenth of the tensor.
            double sigma = Math.Sqrt(p * (1 - p) / n);
            double kept = m.Count(v => v != 0f) / (double)n;
            Assert.InRange(kept, 1 - p - 5 * sigma, 1 - p + 5 * sigma);
            for (int part = 0; part < 10; part++)
            {
                double k = m.Skip(part * n / 10).Take(n / 10).Count(v => v != 0f) / (n / 10.0);
                Assert.InRange(k, 1 - p - 5 * sigma * Math.Sqrt(10), 1 - p + 5 * sigma * Math.Sqrt(10));
            }
            // Neighbours are independent: both kept with probability (1 − p)².
            double pairs = Enumerable.Range(0, n - 1).Count(i => m[i] != 0f && m[i + 1] != 0f) / (double)(n - 1);
            double q = (1 - p) * (1 - p);
            Assert.InRange(pairs, q - 5 * Math.Sqrt(q * (1 - q) / n), q + 5 * Math.Sqrt(q * (1 - q) / n));
            // E[y] = E[x]: the scale makes dropout unbiased (within 5σ of the mean of x·mask).
            double meanX = x.Average(v => (double)v), meanY = y.Average(v => (double)v);
            double sdY = Math.Sqrt(y.Average(v => (double)v * v) - meanY * meanY);
            Assert.InRange(meanY, meanX - 5 * sdY / Math.Sqrt(n), meanX + 5 * sdY / Math.Sqrt(n));
        }

        // Reproducible from (seed, step); another step or another seed: an unrelated mask, so about half (2p(1 − p)) of the
        // decisions differ. Every p of Kernels_MatchReference drops some elements and keeps others.
        var ones = Enumerable.Repeat(1f, 10_000).ToArray();
        var (_, m1) = RunReference(ones, 0.5f, 42, 100);
        Assert.Equal(m1, RunReference(ones, 0.5f, 42, 100).mask);
        foreach (var (seed, step) in new[] { (42UL, 101L), (43UL, 100L), (42UL, -100L) })
        {
            var (_, m3) = RunReference(ones, 0.5f, seed, step);
            double differ = Enumerable.Range(0, ones.Length).Count(i => m1[i] != m3[i]) / (double)ones.Length;
            Assert.InRange(differ, 0.45, 0.55);
        }
        foreach (var (p, seed, step) in Masks)
        {
            var (_, m) = RunReference(TestUtil.RandomArray(new Generator(32), 3001), p, seed, step);
            Assert.Contains(m, v => v == 0f);
            Assert.Contains(m, v => v != 0f);
        }
    }

    /// <summary>(p, seed, step): extreme seeds and steps, a negative step, and those of Reference_MatchesTheMath's statistics and
    /// reproducibility checks (an element's decision depends on (seed, step, p, its index) only, so a version equal to Reference
    /// on these has the masks whose statistics were checked).</summary>
    static readonly (float P, ulong Seed, long Step)[] Masks =
        [(0.5f, 0UL, 0L), (0.3f, 12345UL, 7L), (0.9f, ulong.MaxValue, long.MaxValue), (0.01f, 99UL, -1L),
         (0.5f, 42UL, 100L), (0.5f, 42UL, 101L), (0.5f, 43UL, 100L), (0.5f, 42UL, -100L), (0.1f, 7UL, 3L), (0.5f, 7UL, 3L), (0.9f, 7UL, 3L)];

    /// <summary>Every version: mask and output bit for bit equal to Reference's, and F.Dropout's output too.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Kernels_MatchReference(string version)
    {
        var d = KernelVersions.Device(version);
        var gen = new Generator(32);
        // (CpuSimdTests compares the cpu paths with Reference up to 1,000,003 elements)
        foreach (int n in KernelVersions.IsIlgpu(version) ? new[] { 3001, 20_000 } : new[] { 3001, 100_003 })
        {
            var x = TestUtil.RandomArray(gen, n);
            foreach (var (p, seed, step) in Masks)
            {
                var (y, m) = Run(d.Backend, x, p, seed, step);
                var (yRef, mRef) = RunReference(x, p, seed, step);
                Assert.Equal(mRef, m);
                Assert.Equal(yRef, y);
            }
            // and the op
            Assert.Equal(RunReference(x, 0.4f, 5, 6).y, F.Dropout(Tensor.FromArray(x, d), 0.4f, true, 5, 6).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Op_Backward_IsReferenceMaskTimesUpstream(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(33);
        int[] shape = [3, 4, 5];
        var x = TestUtil.RandomArray(gen, 60);
        var r = TestUtil.RandomArray(gen, 60);
        const float p = 0.3f;
        var tx = Tensor.FromArray(x, shape, d); tx.RequiresGrad = true;
        var y = F.Dropout(tx, p, training: true, seed: 9, step: 4);
        Assert.Equal("dropout", y.Op);
        Assert.Equal(shape, y.Shape);
        y.Backward(Tensor.FromArray(r, shape, d));

        // y = x · mask of (seed 9, step 4), and the gradient is r · that mask: Reference's output for the input r, exactly.
        Assert.Equal(RunReference(x, p, 9, 4).y, y.ToArray());
        var g1 = RunReference(r, p, 9, 4).y;
        Assert.Equal(g1, tx.Grad!.ToArray());  // 0 + r·mask: exact
        // and central differences of Σ r ⊙ Reference(x) (linear in each input: exact slopes)
        var num = TestUtil.NumericGrad(v => TestUtil.Dot(r, RunReference(v, p, 9, 4).y), x);
        TestUtil.AssertClose(num, tx.Grad!.ToArray(), 1e-5f, 1e-4f, "dropout grad vs finite differences");

        // A second use of x accumulates into the same gradient.
        var y2 = tx.Dropout(p, true, 9, 5);
        y2.Backward(Tensor.FromArray(r, shape, d));
        var g2 = RunReference(r, p, 9, 5).y;
        var sum = new float[60];
        Reference.Add(g1, g2, sum, 60);
        Assert.Equal(sum, tx.Grad!.ToArray());
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Eval_And_PZero_AreIdentity(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(34);
        var x = TestUtil.RandomArray(gen, 100);
        var r = TestUtil.RandomArray(gen, 100);
        foreach (var (p, training) in new[] { (0.5f, false), (0f, true), (0f, false) })
        {
            var tx = Tensor.FromArray(x, [10, 10], d); tx.RequiresGrad = true;
            var y = F.Dropout(tx, p, training, 1, 1);
            Assert.Equal(x, y.ToArray());
            F.Mul(y, Tensor.FromArray(r, [10, 10], d)).Backward(Tensor.Ones([10, 10], d));
            Assert.Equal(r, tx.Grad!.ToArray());
        }
    }

    [Fact]
    public void BadInput_NamesOpAndP()
    {
        var x = Tensor.Zeros([4, 4]);
        foreach (float p in new[] { 1f, 1.5f, -0.1f, float.NaN, float.PositiveInfinity })
            foreach (bool training in new[] { true, false })
            {
                var e = Assert.Throws<ArgumentException>(() => F.Dropout(x, p, training, 0, 0));
                Assert.Contains("dropout", e.Message);
                Assert.Contains("p", e.Message);
                Assert.Contains(p.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
            }
        var e2 = Assert.Throws<ArgumentException>(() => F.Dropout(Tensor.Labels([1, 2]), 0.5f, true, 0, 0));
        Assert.Contains("dropout", e2.Message);
    }
}
