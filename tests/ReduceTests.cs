using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Sum / Mean / Argmax / CountCorrect against plain loops; Sum and Mean backward against finite differences.
public class ReduceTests
{
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Sum_MatchesReference_AndIsDeterministic(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(21);
        // around one group (256), several groups, and more elements than the grid has threads
        foreach (int n in new[] { 1, 2, 7, 255, 256, 257, 1000, 4099, 70_001 })
        {
            var x = TestUtil.RandomArray(g, n, -1f, 3f);
            double exact = x.Sum(v => (double)v), magnitude = x.Sum(v => Math.Abs((double)v));
            var t = Tensor.FromArray(x, d);
            float s = F.Sum(t).Item();
            // float additions in a tree: error ≲ log2(n)·ε·Σ|x|
            Assert.True(Math.Abs(s - exact) <= 1e-6 * magnitude + 1e-6, $"sum n={n}: {s}, expected {exact}");
            Assert.Equal(BitConverter.SingleToInt32Bits(s), BitConverter.SingleToInt32Bits(F.Sum(t).Item()));
            Assert.True(Math.Abs(F.Mean(t).Item() - exact / n) <= (1e-6 * magnitude + 1e-6) / n, $"mean n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void SumMeanBackward_MatchFiniteDifferences(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(22);
        foreach (var shape in new[] { new[] { 1 }, new[] { 3, 5 }, new[] { 2, 3, 7 } })
        {
            int n = Tensor.NumelOf(shape);
            var x = TestUtil.RandomArray(g, n);
            float r = 0.5f + g.NextFloat();
            var xd = TestUtil.ToDouble(x);

            var t = Tensor.FromArray(x, shape, d); t.RequiresGrad = true;
            F.Sum(t).Backward(Tensor.FromArray([r], d));
            TestUtil.AssertClose(TestUtil.NumericGrad(v => r * v.Sum(), xd), t.Grad!.ToArray(), 1e-5f, 1e-4f, "d sum");

            var u = Tensor.FromArray(x, shape, d); u.RequiresGrad = true;
            // u feeds two reductions: the gradients add up
            (F.Mean(u) + F.Sum(u) * 2f).Backward(Tensor.FromArray([r], d));
            TestUtil.AssertClose(TestUtil.NumericGrad(v => r * (v.Average() + 2 * v.Sum()), xd), u.Grad!.ToArray(), 1e-5f, 1e-4f, "d (mean + 2 sum)");
        }
    }

    static int RefArgmax(float[] x, int o, int c)
    {
        int best = 0;
        for (int j = 1; j < c; j++)
            if (x[o + j] > x[o + best] || (float.IsNaN(x[o + j]) && !float.IsNaN(x[o + best]))) best = j;
        return best;
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void ArgmaxAndCountCorrect_MatchReference(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(23);
        foreach (var (n, c) in new[] { (1, 2), (1, 10), (7, 10), (33, 3), (3, 1000), (300, 5) })
        {
            // few distinct values so rows have ties: the first maximum must win
            var x = Enumerable.Range(0, n * c).Select(_ => (float)g.NextInt(4)).ToArray();
            if (n > 2) { x[2 * c + c - 1] = float.NaN; x[2 * c + 0] = 5f; }   // a NaN beats everything
            var expected = Enumerable.Range(0, n).Select(r => RefArgmax(x, r * c, c)).ToArray();
            var t = Tensor.FromArray(x, [n, c], d);
            var idx = F.Argmax(t);
            Assert.Equal(DType.Int32, idx.DType);
            Assert.Equal(new[] { n }, idx.Shape);
            Assert.Equal(expected, idx.ToIntArray());

            // labels: half right, some wrong, some out of range (never right)
            var labels = expected.Select((e, r) => r % 3 == 0 ? e : r % 3 == 1 ? (e + 1) % c : (r % 2 == 0 ? -1 : c)).ToArray();
            int want = labels.Where((l, r) => l == expected[r]).Count();
            Assert.Equal(want, F.CountCorrect(t, Tensor.Labels(labels, d)));
            Assert.Equal(n, F.CountCorrect(t, Tensor.Labels(expected, d)));
        }
    }

    [Fact]
    public void BadInput_NamesOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Argmax(Tensor.Zeros([5])));
        Assert.Contains("argmax", e.Message); Assert.Contains("[5]", e.Message);
        Assert.Throws<ArgumentException>(() => F.Argmax(Tensor.Zeros([2, 3, 4])));
        e = Assert.Throws<ArgumentException>(() => F.CountCorrect(Tensor.Zeros([4, 3]), Tensor.Labels([0, 1])));
        Assert.Contains("count_correct", e.Message); Assert.Contains("[4, 3]", e.Message); Assert.Contains("[2]", e.Message);
        Assert.Throws<ArgumentException>(() => F.CountCorrect(Tensor.Zeros([2, 3]), Tensor.Zeros([2])));
        e = Assert.Throws<ArgumentException>(() => F.CountCorrect(Tensor.Zeros([2, 3]), Tensor.Labels([0, 1], Device.Get("ilgpu-cpu"))));
        Assert.Contains("different devices", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Sum(Tensor.Labels([1, 2])));
        Assert.Contains("sum", e.Message);
        Assert.Throws<ArgumentException>(() => F.Mean(Tensor.Labels([1, 2])));
    }
}
