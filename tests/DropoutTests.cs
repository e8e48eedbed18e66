using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Dropout: mask statistics, exact scale, reproducibility from (seed, step), identical masks on every device,
// evaluation = identity, backward, and bad p.
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

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Mask_Statistics_AndExactScale(string device)
    {
        var b = Device.Get(device).Backend;
        var gen = new Generator(31);
        int n = device == "cpu" ? 1_000_000 : 20_000;
        var x = TestUtil.RandomArray(gen, n, 0.5f, 2f);  // never 0, so y = 0 exactly where dropped
        foreach (float p in new[] { 0.1f, 0.5f, 0.9f })
        {
            var (y, m) = Run(b, x, p, seed: 7, step: 3);
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
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Mask_IsReproducible_AndChangesWithStepAndSeed(string device)
    {
        var b = Device.Get(device).Backend;
        int n = 10_000;
        var x = Enumerable.Repeat(1f, n).ToArray();
        var (_, m1) = Run(b, x, 0.5f, 42, 100);
        var (_, m2) = Run(b, x, 0.5f, 42, 100);
        Assert.Equal(m1, m2);
        // Another step or another seed: an unrelated mask, so about half (2p(1 − p)) of the decisions differ.
        foreach (var (seed, step) in new[] { (42UL, 101L), (43UL, 100L), (42UL, -100L) })
        {
            var (_, m3) = Run(b, x, 0.5f, seed, step);
            double differ = Enumerable.Range(0, n).Count(i => m1[i] != m3[i]) / (double)n;
            Assert.InRange(differ, 0.45, 0.55);
        }
    }

    [Fact]
    public void Mask_IsIdenticalOnCpuAndIlgpu()
    {
        var cpu = Device.Get("cpu").Backend;
        var sim = Device.Get("ilgpu-cpu").Backend;
        var gen = new Generator(32);
        var x = TestUtil.RandomArray(gen, 3001);
        foreach (var (p, seed, step) in new[] { (0.5f, 0UL, 0L), (0.3f, 12345UL, 7L), (0.9f, ulong.MaxValue, long.MaxValue), (0.01f, 99UL, -1L) })
        {
            var (yc, mc) = Run(cpu, x, p, seed, step);
            var (yg, mg) = Run(sim, x, p, seed, step);
            Assert.Equal(mc, mg);
            Assert.Equal(yc, yg);
            Assert.Contains(mc, v => v == 0f);
            Assert.Contains(mc, v => v != 0f);
        }
        // and the op gives the same on both devices
        var tc = F.Dropout(Tensor.FromArray(x), 0.4f, true, 5, 6).ToArray();
        var tg = F.Dropout(Tensor.FromArray(x, Device.Get("ilgpu-cpu")), 0.4f, true, 5, 6).ToArray();
        Assert.Equal(tc, tg);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Op_Backward_IsMaskTimesUpstream_AndMatchesFiniteDifferences(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(33);
        int[] shape = [3, 4, 5];
        int n = 60;
        var x = TestUtil.RandomArray(gen, n);
        var r = TestUtil.RandomArray(gen, n);
        const float p = 0.3f;
        var tx = Tensor.FromArray(x, shape, d); tx.RequiresGrad = true;
        var y = F.Dropout(tx, p, training: true, seed: 9, step: 4);
        Assert.Equal("dropout", y.Op);
        Assert.Equal(shape, y.Shape);
        y.Backward(Tensor.FromArray(r, shape, d));

        // The mask of (seed 9, step 4) is the output for an input of ones.
        var mask = F.Dropout(Tensor.Ones(shape, d), p, true, 9, 4).ToArray();
        Assert.Equal(x.Select((v, i) => v * mask[i]).ToArray(), y.ToArray());
        Assert.Equal(r.Select((v, i) => v * mask[i]).ToArray(), tx.Grad!.ToArray());  // 0 + r·mask: exact

        var rd = TestUtil.ToDouble(r); var md = TestUtil.ToDouble(mask);
        var num = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, xs.Select((v, i) => v * md[i]).ToArray()), TestUtil.ToDouble(x));
        TestUtil.AssertClose(num, tx.Grad!.ToArray(), 1e-5f, 1e-4f, "dropout grad vs finite differences");

        // A second use of x accumulates into the same gradient.
        var y2 = tx.Dropout(p, true, 9, 5);
        y2.Backward(Tensor.FromArray(r, shape, d));
        var mask2 = F.Dropout(Tensor.Ones(shape, d), p, true, 9, 5).ToArray();
        Assert.Equal(r.Select((v, i) => v * mask[i] + v * mask2[i]).ToArray(), tx.Grad!.ToArray());
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
