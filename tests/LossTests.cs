using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Softmax and softmax + cross-entropy. The definition (Reference.Softmax, SoftmaxBackward, SoftmaxCrossEntropyForward / Backward:
// kernels/loss/Loss.Reference.cs) against the math in double: softmax and −log softmax by the log-sum-exp trick, the gradient
// formula (p − onehot)·dy/N, central finite differences, a hand-computed loss at ±1000. Every version (the cpu device on each
// path, where it runs the definition's loops, and the ILGPU kernels) and F.CrossEntropy / F.Softmax, forward and backward,
// against the definition; the argument checks of F.CrossEntropy / F.Softmax.
public class LossTests
{
    // (N, C): batch 1, odd sizes, C = 2 / 10 / 1000. Small: ilgpu-cpu simulates every thread.
    public static readonly (int N, int C)[] Shapes = [(1, 2), (1, 10), (7, 10), (13, 2), (5, 37), (3, 1000), (64, 10)];

    // The math, in double: only Reference_MatchesTheMath uses it.

    /// <summary>Softmax of each row, in double, by the log-sum-exp trick.</summary>
    static double[] SoftmaxInDouble(double[] x, int n, int c)
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
    static double[] LossesInDouble(double[] x, int[] labels, int n, int c)
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

    /// <summary>Reference.SoftmaxCrossEntropyForward: (probs, per-sample losses).</summary>
    static (float[] probs, float[] losses) RefForward(float[] x, int[] labels, int n, int c)
    {
        var p = new float[n * c]; var l = new float[n];
        Reference.SoftmaxCrossEntropyForward(x, labels, p, l, n, c);
        return (p, l);
    }

    static float[] RefSoftmax(float[] x, int n, int c)
    {
        var y = new float[n * c];
        Reference.Softmax(x, y, n, c);
        return y;
    }

    /// <summary>dx0 + Reference.SoftmaxCrossEntropyBackward(probs, labels, dy).</summary>
    static float[] RefBackward(float[] probs, int[] labels, float dy, float[] dx0, int n, int c)
    {
        var dx = (float[])dx0.Clone();
        Reference.SoftmaxCrossEntropyBackward(probs, labels, dy, dx, n, c);
        return dx;
    }

    /// <summary>dx0 + Reference.SoftmaxBackward(y, dy).</summary>
    static float[] RefSoftmaxBackward(float[] y, float[] dy, float[] dx0, int n, int c)
    {
        var dx = (float[])dx0.Clone();
        Reference.SoftmaxBackward(y, dy, dx, n, c);
        return dx;
    }

    // The ±1000 logits: exp(1000) overflows float (and double); the max-subtracted form does not.
    static readonly float[] LargeLogits = [1000f, -1000f, 0f, 999f,
                                           -1000f, -1000f, -999f, -1000f,
                                           1000f, 1000f, 1000f, 1000f];
    static readonly int[] LargeLabels = [1, 2, 3];
    // Labels outside [0, c): NaN losses and gradients, never an index outside the row.
    static readonly int[] BadLabels = [2, -1, 7, 1_000_000, 6];

    /// <summary>The definition itself, independent of it: probabilities, losses and both gradients against the math in double.</summary>
    [Fact]
    public void Reference_MatchesTheMath()
    {
        var g = new Generator(11);
        foreach (var (n, c) in Shapes)
        {
            var x = TestUtil.RandomArray(g, n * c, -4f, 4f);
            var labels = RandomLabels(g, n, c);
            var xd = TestUtil.ToDouble(x);
            var (p, l) = RefForward(x, labels, n, c);
            TestUtil.AssertClose(SoftmaxInDouble(xd, n, c), p, 1e-6f, 1e-5f, $"probs {n}x{c}");
            TestUtil.AssertClose(LossesInDouble(xd, labels, n, c), l, 1e-5f, 1e-5f, $"losses {n}x{c}");
            TestUtil.AssertClose(SoftmaxInDouble(xd, n, c), RefSoftmax(x, n, c), 1e-6f, 1e-5f, $"softmax {n}x{c}");

            // backward: dx += (p − onehot)·dy/N from the double probabilities, dy read from the device in the kernels
            var start = TestUtil.RandomArray(g, n * c);
            var pd = SoftmaxInDouble(xd, n, c);
            var pf = pd.Select(v => (float)v).ToArray();
            var expected = new double[n * c];
            for (int i = 0; i < n * c; i++)
                expected[i] = start[i] + (pf[i] - (i % c == labels[i / c] ? 1 : 0)) * 2.5 / n;
            TestUtil.AssertClose(expected, RefBackward(pf, labels, 2.5f, start, n, c), 1e-6f, 1e-5f, $"dx += (p − onehot)·dy/N {n}x{c}");
        }

        // The gradients against central finite differences of the losses and of the softmax in double (h = 1e-4).
        var g2 = new Generator(12);
        foreach (var (n, c) in new[] { (1, 2), (5, 10), (3, 37), (2, 300) })
        {
            var x = TestUtil.RandomArray(g2, n * c, -3f, 3f);
            var labels = RandomLabels(g2, n, c);
            float r = 0.5f + g2.NextFloat();   // upstream gradient of the mean loss
            var (p, _) = RefForward(x, labels, n, c);
            var num = TestUtil.NumericGrad(xs => r * LossesInDouble(xs, labels, n, c).Average(), TestUtil.ToDouble(x));
            TestUtil.AssertClose(num, RefBackward(p, labels, r, new float[n * c], n, c), 1e-5f, 1e-3f, $"dlogits {n}x{c} vs finite differences");

            var rs = TestUtil.RandomArray(g2, n * c);
            var rd = TestUtil.ToDouble(rs);
            var numSoftmax = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, SoftmaxInDouble(xs, n, c)), TestUtil.ToDouble(x));
            TestUtil.AssertClose(numSoftmax, RefSoftmaxBackward(RefSoftmax(x, n, c), rs, new float[n * c], n, c), 1e-5f, 1e-3f,
                $"softmax dx {n}x{c} vs finite differences");
        }

        // ±1000: finite, ~2000 (float spacing there is 1.2e-4), and the hand-computed loss of row 0: log(1 + e^−1 + e^−1000 + e^−1000) + 2000.
        var (pl, ll) = RefForward(LargeLogits, LargeLabels, 3, 4);
        var refL = LossesInDouble(TestUtil.ToDouble(LargeLogits), LargeLabels, 3, 4);
        Assert.All(ll, v => Assert.True(float.IsFinite(v), $"loss {v} is not finite"));
        TestUtil.AssertClose(refL, ll, 1e-3f, 1e-5f, "losses at ±1000");
        Assert.Equal(2000.3133, refL[0], 1e-3);
        Assert.Equal(2000.3133, ll[0], 1e-3);
        TestUtil.AssertClose(SoftmaxInDouble(TestUtil.ToDouble(LargeLogits), 3, 4), pl, 1e-6f, 1e-5f, "probs at ±1000");

        // Labels outside [0, c): NaN losses, NaN gradient rows; the other rows as the math.
        var xb = TestUtil.RandomArray(new Generator(16), 5 * 7);
        var (pb, lb) = RefForward(xb, BadLabels, 5, 7);
        var refB = LossesInDouble(TestUtil.ToDouble(xb), BadLabels, 5, 7);
        Assert.Equal(refB[0], lb[0], 1e-5);
        Assert.Equal(refB[4], lb[4], 1e-5);
        Assert.True(float.IsNaN(lb[1]) && float.IsNaN(lb[2]) && float.IsNaN(lb[3]), $"bad labels must give NaN, got {string.Join(", ", lb)}");
        var gb = RefBackward(pb, BadLabels, 1f, new float[35], 5, 7);
        for (int i = 0; i < 35; i++)
            Assert.True(float.IsNaN(gb[i]) == (i / 7 is 1 or 2 or 3), $"gradient element {i} = {gb[i]}");
    }

    /// <summary>Every version: the kernels through IBackend and the ops F.CrossEntropy and F.Softmax (which run the loss and softmax
    /// kernels) against Reference on the same inputs; the backward kernels read dy from the device and accumulate.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Kernels_MatchReference(string version)
    {
        var d = KernelVersions.Device(version);
        var be = d.Backend;
        var g = new Generator(11);
        foreach (var (n, c) in Shapes)
        {
            var x = TestUtil.RandomArray(g, n * c, -4f, 4f);
            var labels = RandomLabels(g, n, c);
            var start = TestUtil.RandomArray(g, n * c);
            var dy = TestUtil.RandomArray(g, n * c);
            var logits = Tensor.FromArray(x, [n, c], d);
            var lab = Tensor.Labels(labels, d);

            // the kernel: probabilities and per-sample losses
            var probs = Tensor.Empty([n, c], d); var losses = Tensor.Empty([n], d);
            be.SoftmaxCrossEntropyForward(logits.Storage, lab.Storage, probs.Storage, losses.Storage, n, c);
            var (pRef, lRef) = RefForward(x, labels, n, c);
            TestUtil.AssertClose(pRef, probs.ToArray(), 1e-6f, 1e-5f, $"{version} probs {n}x{c}");
            TestUtil.AssertClose(lRef, losses.ToArray(), 1e-5f, 1e-5f, $"{version} losses {n}x{c}");

            // the ops
            var loss = F.CrossEntropy(logits, lab);
            Assert.Equal(new[] { 1 }, loss.Shape);
            double mean = lRef.Average(v => (double)v);
            Assert.Equal(mean, loss.Item(), 1e-5 * Math.Max(1, mean));
            var yRef = RefSoftmax(x, n, c);
            TestUtil.AssertClose(yRef, F.Softmax(logits).ToArray(), 1e-6f, 1e-5f, $"{version} F.Softmax {n}x{c}");

            // the backward kernels
            var dx = Tensor.FromArray(start, [n, c], d);
            be.SoftmaxCrossEntropyBackward(Tensor.FromArray(pRef, [n, c], d).Storage, lab.Storage, Tensor.FromArray([2.5f], d).Storage, dx.Storage, n, c);
            TestUtil.AssertClose(RefBackward(pRef, labels, 2.5f, start, n, c), dx.ToArray(), 1e-6f, 1e-5f, $"{version} dx += (p − onehot)·dy/N {n}x{c}");
            var sdx = Tensor.FromArray(start, [n, c], d);
            be.SoftmaxBackward(Tensor.FromArray(yRef, [n, c], d).Storage, Tensor.FromArray(dy, [n, c], d).Storage, sdx.Storage, n, c);
            TestUtil.AssertClose(RefSoftmaxBackward(yRef, dy, start, n, c), sdx.ToArray(), 1e-6f, 1e-5f, $"{version} softmax backward {n}x{c}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void LargeLogits_StayFinite(string version)
    {
        var d = KernelVersions.Device(version);
        var logits = Tensor.FromArray(LargeLogits, [3, 4], d); logits.RequiresGrad = true;
        var lab = Tensor.Labels(LargeLabels, d);
        var probs = Tensor.Empty([3, 4], d); var losses = Tensor.Empty([3], d);
        d.Backend.SoftmaxCrossEntropyForward(logits.Storage, lab.Storage, probs.Storage, losses.Storage, 3, 4);
        var l = losses.ToArray();
        Assert.All(l, v => Assert.True(float.IsFinite(v), $"loss {v} is not finite"));
        var (pRef, lRef) = RefForward(LargeLogits, LargeLabels, 3, 4);
        TestUtil.AssertClose(lRef, l, 1e-3f, 1e-5f, "losses at ±1000");  // ~2000: float spacing there is 1.2e-4
        TestUtil.AssertClose(pRef, probs.ToArray(), 1e-6f, 1e-5f, "probs at ±1000");

        var loss = F.CrossEntropy(logits, lab);
        Assert.True(float.IsFinite(loss.Item()));
        loss.Backward();
        Assert.All(logits.Grad!.ToArray(), v => Assert.True(float.IsFinite(v), $"gradient {v} is not finite"));
        Assert.All(F.Softmax(logits).ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>F.CrossEntropy's gradient against Reference's backward (which Reference_MatchesTheMath checks against finite
    /// differences of the loss in double).</summary>
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void CrossEntropyBackward_MatchesReference(string device)
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

            var (p, _) = RefForward(x, labels, n, c);
            TestUtil.AssertClose(RefBackward(p, labels, r, new float[n * c], n, c), logits.Grad!.ToArray(), 1e-5f, 1e-3f, $"dlogits {n}x{c} vs Reference");
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
        var (pa, _) = RefForward(x, a, n, c);
        var (pb, _) = RefForward(x, b, n, c);
        var expected = RefBackward(pb, b, 0.5f, RefBackward(pa, a, 1f, new float[n * c], n, c), n, c);
        TestUtil.AssertClose(expected, logits.Grad!.ToArray(), 1e-5f, 1e-3f, "accumulated dlogits");
    }

    /// <summary>F.Softmax's gradient against Reference.SoftmaxBackward (checked against finite differences in Reference_MatchesTheMath).</summary>
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void SoftmaxBackward_MatchesReference(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(15);
        foreach (var (n, c) in new[] { (1, 2), (4, 10), (3, 37), (2, 300) })
        {
            var x = TestUtil.RandomArray(g, n * c, -3f, 3f);
            var r = TestUtil.RandomArray(g, n * c);
            var t = Tensor.FromArray(x, [n, c], d); t.RequiresGrad = true;
            F.Softmax(t).Backward(Tensor.FromArray(r, [n, c], d));
            TestUtil.AssertClose(RefSoftmaxBackward(RefSoftmax(x, n, c), r, new float[n * c], n, c), t.Grad!.ToArray(), 1e-5f, 1e-3f,
                $"softmax dx {n}x{c} vs Reference");
        }
    }

    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void LabelOutOfRange_GivesNaN_NeverIndexesOutside(string version)
    {
        var d = KernelVersions.Device(version);
        int n = 5, c = 7;
        var x = TestUtil.RandomArray(new Generator(16), n * c);
        var logits = Tensor.FromArray(x, [n, c], d); logits.RequiresGrad = true;
        var lab = Tensor.Labels(BadLabels, d);
        var probs = Tensor.Empty([n, c], d); var losses = Tensor.Empty([n], d);
        d.Backend.SoftmaxCrossEntropyForward(logits.Storage, lab.Storage, probs.Storage, losses.Storage, n, c);
        var l = losses.ToArray();
        var (_, lRef) = RefForward(x, BadLabels, n, c);
        Assert.Equal(lRef[0], l[0], 1e-5);
        Assert.Equal(lRef[4], l[4], 1e-5);
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
