using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Reductions. The definition (Reference.Sum, Reference.ArgmaxRows / CountCorrect: kernels/reduce/Reduce.Reference.cs) against
// the math: the exact sum in double, the first maximum by its definition, hand-computed rows. Every version (each cpu vector
// path, the cpu default, the ILGPU kernel) and F.Sum / F.Mean / F.Argmax / F.CountCorrect against the definition; the
// backward of Sum and Mean against finite differences of Reference.Sum.
public class ReduceTests
{
    // around one group (256), several groups, and more elements than the grid has threads
    static readonly int[] SumSizes = [1, 2, 7, 255, 256, 257, 1000, 4099, 70_001];

    static readonly (int N, int C)[] ArgmaxShapes = [(1, 2), (1, 10), (7, 10), (33, 3), (3, 1000), (300, 5)];

    /// <summary>Few distinct values so rows have ties (the first maximum must win), and a NaN that beats everything.</summary>
    static float[] ArgmaxInput(Generator g, int n, int c)
    {
        var x = Enumerable.Range(0, n * c).Select(_ => (float)g.NextInt(4)).ToArray();
        if (n > 2) { x[2 * c + c - 1] = float.NaN; x[2 * c + 0] = 5f; }
        return x;
    }

    /// <summary>The definition itself, independent of it: Reference.Sum against the exact sum in double (float additions in
    /// a tree: error ≲ log2(n)·ε·Σ|x|); ArgmaxRows against "the first NaN if the row has one, else the first index of the
    /// row's maximum" and hand-computed rows; CountCorrect against counting those.</summary>
    [Fact]
    public void Reference_MatchesTheMath()
    {
        var g = new Generator(21);
        foreach (int n in SumSizes.Append(1_000_003))
        {
            var x = TestUtil.RandomArray(g, n, -1f, 3f);
            double exact = x.Sum(v => (double)v), magnitude = x.Sum(v => Math.Abs((double)v));
            float s = Reference.Sum(x, n);
            Assert.True(Math.Abs(s - exact) <= 1e-6 * magnitude + 1e-6, $"sum n={n}: {s}, expected {exact}");
        }
        Assert.True(float.IsNaN(Reference.Sum([1f, float.NaN, 2f], 3)));

        var g2 = new Generator(23);
        foreach (var (n, c) in ArgmaxShapes)
        {
            var x = ArgmaxInput(g2, n, c);
            var expected = Enumerable.Range(0, n).Select(r =>
            {
                var row = x.Skip(r * c).Take(c).ToArray();
                int nan = Array.FindIndex(row, float.IsNaN);
                return nan >= 0 ? nan : Array.IndexOf(row, row.Max());
            }).ToArray();
            var idx = new int[n];
            Reference.ArgmaxRows(x, idx, n, c);
            Assert.Equal(expected, idx);
            var labels = expected.Select((e, r) => r % 2 == 0 ? e : (e + 1) % c).ToArray();
            Assert.Equal((n + 1) / 2, Reference.CountCorrect(x, labels, n, c));   // c ≥ 2: the odd rows are wrong
        }
        // rows [1 3 3], [−∞ −∞ −∞], [2 NaN NaN], [NaN 7 1], [−1 −0 0]: first maximum, first NaN, −0 and 0 tie
        float[] h = [1, 3, 3, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 2, float.NaN, float.NaN, float.NaN, 7, 1, -1, -0f, 0];
        var hi = new int[5];
        Reference.ArgmaxRows(h, hi, 5, 3);
        Assert.Equal(new[] { 1, 0, 1, 0, 1 }, hi);
        Assert.Equal(3, Reference.CountCorrect(h, [1, 0, 2, 0, 2], 5, 3));
        Assert.Equal(0, Reference.CountCorrect(h, [-1, 3, 1_000_000, int.MinValue, 5], 5, 3));
    }

    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Sum_MatchesReference_AndIsDeterministic(string version)
    {
        var d = KernelVersions.Device(version);
        var g = new Generator(21);
        foreach (int n in SumSizes)
        {
            var x = TestUtil.RandomArray(g, n, -1f, 3f);
            double expected = Reference.Sum(x, n), magnitude = x.Sum(v => Math.Abs((double)v));
            var t = Tensor.FromArray(x, d);
            float s = F.Sum(t).Item();
            // float additions in a tree: error ≲ log2(n)·ε·Σ|x|
            Assert.True(Math.Abs(s - expected) <= 1e-6 * magnitude + 1e-6, $"{version} sum n={n}: {s}, expected {expected}");
            Assert.Equal(BitConverter.SingleToInt32Bits(s), BitConverter.SingleToInt32Bits(F.Sum(t).Item()));
            Assert.True(Math.Abs(F.Mean(t).Item() - expected / n) <= (1e-6 * magnitude + 1e-6) / n, $"{version} mean n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void SumMeanBackward_MatchFiniteDifferences(string device)
    {
        // Central differences of r·Reference.Sum (linear in each input: exact slopes up to the float rounding of the sum).
        var d = Device.Get(device);
        var g = new Generator(22);
        foreach (var shape in new[] { new[] { 1 }, new[] { 3, 5 }, new[] { 2, 3, 7 } })
        {
            int n = Tensor.NumelOf(shape);
            var x = TestUtil.RandomArray(g, n);
            float r = 0.5f + g.NextFloat();

            var t = Tensor.FromArray(x, shape, d); t.RequiresGrad = true;
            F.Sum(t).Backward(Tensor.FromArray([r], d));
            TestUtil.AssertClose(TestUtil.NumericGrad(v => r * (double)Reference.Sum(v, n), x), t.Grad!.ToArray(), 1e-5f, 1e-4f, "d sum");

            var u = Tensor.FromArray(x, shape, d); u.RequiresGrad = true;
            // u feeds two reductions: the gradients add up
            (F.Mean(u) + F.Sum(u) * 2f).Backward(Tensor.FromArray([r], d));
            TestUtil.AssertClose(TestUtil.NumericGrad(v => r * ((double)Reference.Sum(v, n) / n + 2.0 * Reference.Sum(v, n)), x), u.Grad!.ToArray(),
                1e-5f, 1e-4f, "d (mean + 2 sum)");
        }
    }

    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void ArgmaxAndCountCorrect_MatchReference(string version)
    {
        var d = KernelVersions.Device(version);
        var g = new Generator(23);
        foreach (var (n, c) in ArgmaxShapes)
        {
            var x = ArgmaxInput(g, n, c);
            var expected = new int[n];
            Reference.ArgmaxRows(x, expected, n, c);
            var t = Tensor.FromArray(x, [n, c], d);
            var idx = F.Argmax(t);
            Assert.Equal(DType.Int32, idx.DType);
            Assert.Equal(new[] { n }, idx.Shape);
            Assert.Equal(expected, idx.ToIntArray());

            // labels: half right, some wrong, some out of range (never right)
            var labels = expected.Select((e, r) => r % 3 == 0 ? e : r % 3 == 1 ? (e + 1) % c : (r % 2 == 0 ? -1 : c)).ToArray();
            Assert.Equal(Reference.CountCorrect(x, labels, n, c), F.CountCorrect(t, Tensor.Labels(labels, d)));
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
