using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Softmax and softmax + cross-entropy kernels against a double-precision reference, their backward against
// central finite differences, and the argument checks of F.CrossEntropy / F.Softmax.
public class LossTests
{
    // (N, C): batch 1, odd sizes, C = 2 / 10 / 1000. Small: ilgpu-cpu simulates every thread.
    public static readonly (int N, int C)[] Shapes = [(1, 2), (1, 10), (7, 10), (13, 2), (5, 37), (3, 1000), (64, 10)];

    /// <summary>Softmax of each row, in double, by the log-sum-exp trick.</summary>
    static double[] RefSoftmax(double[] x, int n, int c)
    {
        var y = new double[n * c];
        for (int r = 0; r < n; r++)
        {
            double m = double.NegativeInfinity, s = 0;
            for (int j = 0; j < c; j++) m = Math.Max(m, x[r * c + j]);
            for (int j = 0; j < c; j++) s += Math.Exp(x[r * c + j] - m);
            for (int j = 0; j < c; j++) y[r * c + j] = Math.Exp(x[r * c + j] - m) / s;
        }
        return y;
    }

    /// <summary>Per-sample loss −log softmax(x)[label] in double (NaN for a label outside [0, c)).</summary>
    static double[] RefLosses(double[] x, int[] labels, int n, int c)
    {
        var l = new double[n];
        for (int r = 0; r < n; r++)
        {
            double m = double.NegativeInfinity, s = 0;
            for (int j = 0; j < c; j++) m = Math.Max(m, x[r * c + j]);
            for (int j = 0; j < c; j++) s += Math.Exp(x[r * c + j] - m);
            l[r] = labels[r] >= 0 && labels[r] < c ? Math.Log(s) - (x[r * c + labels[r]] - m) : double.NaN;
        }
        return l;
    }

    static int[] RandomLabels(Generator g, int n, int c) => Enumerable.Range(0, n).Select(_ => g.NextInt(c)).ToArray();

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Forward_MatchesReference(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(11);
        foreach (var (n, c) in Shapes)
        {
            var x = TestUtil.RandomArray(g, n * c, -4f, 4f);
            var labels = RandomLabels(g, n, c);
            var xd = TestUtil.ToDouble(x);
            var logits = Tensor.FromArray(x, [n, c], d);
            var lab = Tensor.Labels(labels, d);

            // the kernel: probabilities and per-sample losses
            var probs = Tensor.Empty([n, c], d); var losses = Tensor.Empty([n], d);
            d.Backend.SoftmaxCrossEntropyForward(logits.Storage, lab.Storage, probs.Storage, losses.Storage, n, c);
            var refLoss = RefLosses(xd, labels, n, c);
            TestUtil.AssertClose(RefSoftmax(xd, n, c), probs.ToArray(), 1e-6f, 1e-5f, $"probs {n}x{c}");
            TestUtil.AssertClose(refLoss, losses.ToArray(), 1e-5f, 1e-5f, $"losses {n}x{c}");

            // the ops
            var loss = F.CrossEntropy(logits, lab);
            Assert.Equal(new[] { 1 }, loss.Shape);
            Assert.Equal(refLoss.Average(), loss.Item(), 1e-5 * Math.Max(1, refLoss.Average()));
            TestUtil.AssertClose(RefSoftmax(xd, n, c), F.Softmax(logits).ToArray(), 1e-6f, 1e-5f, $"F.Softmax {n}x{c}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void LargeLogits_StayFinite(string device)
    {
        var d = Device.Get(device);
        // ±1000: exp(1000) overflows float (and double); the max-subtracted form does not.
        float[] x = [1000f, -1000f, 0f, 999f,
                     -1000f, -1000f, -999f, -1000f,
                     1000f, 1000f, 1000f, 1000f];
        int[] labels = [1, 2, 3];
        var logits = Tensor.FromArray(x, [3, 4], d); logits.RequiresGrad = true;
        var lab = Tensor.Labels(labels, d);
        var probs = Tensor.Empty([3, 4], d); var losses = Tensor.Empty([3], d);
        d.Backend.SoftmaxCrossEntropyForward(logits.Storage, lab.Storage, probs.Storage, losses.Storage, 3, 4);
        var l = losses.ToArray();
        Assert.All(l, v => Assert.True(float.IsFinite(v), $"loss {v} is not finite"));
        var refL = RefLosses(TestUtil.ToDouble(x), labels, 3, 4);
        TestUtil.AssertClose(refL, l, 1e-3f, 1e-5f, "losses at ±1000");  // ~2000: float spacing there is 1.2e-4
        Assert.Equal(2000.3133, refL[0], 1e-3);
        var p = probs.ToArray();
        TestUtil.AssertClose(RefSoftmax(TestUtil.ToDouble(x), 3, 4), p, 1e-6f, 1e-5f, "probs at ±1000");

        var loss = F.CrossEntropy(logits, lab);
        Assert.True(float.IsFinite(loss.Item()));
        loss.Backward();
        Assert.All(logits.Grad!.ToArray(), v => Assert.True(float.IsFinite(v), $"gradient {v} is not finite"));
        Assert.All(F.Softmax(logits).ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void CrossEntropyBackward_MatchesFiniteDifferences(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(12);
        foreach (var (n, c) in new[] { (1, 2), (5, 10), (3, 37), (2, 300) })
        {
            var x = TestUtil.RandomArray(g, n * c, -3f, 3f);
            var labels = RandomLabels(g, n, c);
            float r = 0.5f + g.NextFloat();   // upstream gradient of the scalar loss
            var logits = Tensor.FromArray(x, [n, c], d); logits.RequiresGrad = true;
            var loss = F.CrossEntropy(logits, Tensor.Labels(labels, d));
            loss.Backward(Tensor.FromArray([r], d));

            var num = TestUtil.NumericGrad(xs => r * RefLosses(xs, labels, n, c).Average(), TestUtil.ToDouble(x));
            TestUtil.AssertClose(num, logits.Grad!.ToArray(), 1e-5f, 1e-3f, $"dlogits {n}x{c} vs finite differences");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void CrossEntropyBackward_Accumulates(string device)
    {
        // L = CE(x, a) + 0.5·CE(x, b): x feeds two losses, so its gradient is the sum of both backward passes.
        var d = Device.Get(device);
        var g = new Generator(13);
        int n = 4, c = 6;
        var x = TestUtil.RandomArray(g, n * c, -2f, 2f);
        int[] a = RandomLabels(g, n, c), b = RandomLabels(g, n, c);
        var logits = Tensor.FromArray(x, [n, c], d); logits.RequiresGrad = true;
        var loss = F.CrossEntropy(logits, Tensor.Labels(a, d)) + F.CrossEntropy(logits, Tensor.Labels(b, d)) * 0.5f;
        loss.Backward();
        var num = TestUtil.NumericGrad(xs => RefLosses(xs, a, n, c).Average() + 0.5 * RefLosses(xs, b, n, c).Average(), TestUtil.ToDouble(x));
        TestUtil.AssertClose(num, logits.Grad!.ToArray(), 1e-5f, 1e-3f, "accumulated dlogits");
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void BackwardKernel_ReadsDyOnDevice_AndAccumulates(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(14);
        foreach (var (n, c) in Shapes)
        {
            var x = TestUtil.RandomArray(g, n * c, -3f, 3f);
            var labels = RandomLabels(g, n, c);
            var start = TestUtil.RandomArray(g, n * c);
            var p = RefSoftmax(TestUtil.ToDouble(x), n, c);
            var probs = Tensor.FromArray(p.Select(v => (float)v).ToArray(), [n, c], d);
            var dx = Tensor.FromArray(start, [n, c], d);
            d.Backend.SoftmaxCrossEntropyBackward(probs.Storage, Tensor.Labels(labels, d).Storage, Tensor.FromArray([2.5f], d).Storage, dx.Storage, n, c);
            var expected = new double[n * c];
            for (int i = 0; i < n * c; i++)
                expected[i] = start[i] + ((float)p[i] - (i % c == labels[i / c] ? 1 : 0)) * 2.5 / n;
            TestUtil.AssertClose(expected, dx.ToArray(), 1e-6f, 1e-5f, $"dx += (p − onehot)·dy/N {n}x{c}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void SoftmaxBackward_MatchesFiniteDifferences(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(15);
        foreach (var (n, c) in new[] { (1, 2), (4, 10), (3, 37), (2, 300) })
        {
            var x = TestUtil.RandomArray(g, n * c, -3f, 3f);
            var r = TestUtil.RandomArray(g, n * c);
            var t = Tensor.FromArray(x, [n, c], d); t.RequiresGrad = true;
            F.Softmax(t).Backward(Tensor.FromArray(r, [n, c], d));
            var rd = TestUtil.ToDouble(r);
            var num = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, RefSoftmax(xs, n, c)), TestUtil.ToDouble(x));
            TestUtil.AssertClose(num, t.Grad!.ToArray(), 1e-5f, 1e-3f, $"softmax dx {n}x{c} vs finite differences");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void LabelOutOfRange_GivesNaN_NeverIndexesOutside(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(16);
        int n = 5, c = 7;
        var x = TestUtil.RandomArray(g, n * c);
        int[] labels = [2, -1, 7, 1_000_000, 6];
        var logits = Tensor.FromArray(x, [n, c], d); logits.RequiresGrad = true;
        var lab = Tensor.Labels(labels, d);
        var probs = Tensor.Empty([n, c], d); var losses = Tensor.Empty([n], d);
        d.Backend.SoftmaxCrossEntropyForward(logits.Storage, lab.Storage, probs.Storage, losses.Storage, n, c);
        var l = losses.ToArray();
        var refL = RefLosses(TestUtil.ToDouble(x), labels, n, c);
        Assert.Equal(refL[0], l[0], 1e-5);
        Assert.Equal(refL[4], l[4], 1e-5);
        Assert.True(float.IsNaN(l[1]) && float.IsNaN(l[2]) && float.IsNaN(l[3]), $"bad labels must give NaN, got {string.Join(", ", l)}");

        var loss = F.CrossEntropy(logits, lab);
        Assert.True(float.IsNaN(loss.Item()));
        loss.Backward();
        var grad = logits.Grad!.ToArray();
        for (int i = 0; i < n * c; i++)
            Assert.True(float.IsNaN(grad[i]) == (i / c is 1 or 2 or 3), $"gradient element {i} = {grad[i]}");
    }

    [Fact]
    public void BadInput_NamesOpAndShapes()
    {
        var logits = Tensor.Zeros([4, 3]);
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(logits, Tensor.Labels([0, 1, 2])));
        Assert.Contains("cross_entropy", e.Message); Assert.Contains("[4, 3]", e.Message); Assert.Contains("[3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(logits, Tensor.Zeros([4])));
        Assert.Contains("Int32", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros([4, 3, 2]), Tensor.Labels([0, 1, 2, 0])));
        Assert.Contains("[4, 3, 2]", e.Message);
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros([4]), Tensor.Labels([0, 1, 2, 0])));
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(logits, Tensor.Labels([0, 1, 2, 0]).Reshape(2, 2)));
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Labels([0, 1, 2, 0]).Reshape(2, 2), Tensor.Labels([0, 1])));
        e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(logits, Tensor.Labels([0, 1, 2, 0], Device.Get("ilgpu-cpu"))));
        Assert.Contains("different devices", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Softmax(Tensor.Zeros([6])));
        Assert.Contains("softmax", e.Message); Assert.Contains("[6]", e.Message);
        Assert.Throws<ArgumentException>(() => F.Softmax(Tensor.Labels([0, 1, 2, 0]).Reshape(2, 2)));
    }
}
