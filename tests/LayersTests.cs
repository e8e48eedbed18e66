using ScratchNet.Kernels;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// The layers and losses of issue 14 beyond pooling and batch normalisation (AvgPoolTests, NormTests): Dropout2d (whole channels,
// kernels/dropout's stream), the activation modules (LeakyReLU, GELU, Softmax, LogSoftmax, Identity), and the losses (MSELoss,
// NLLLoss with its kernels, BCEWithLogitsLoss) against the math in double, their gradients against central finite differences
// in double, on every device; the NLL kernels of every version against their Reference; bad input. PyTorch's own values:
// LayersTorchTests.
public class LayersTests
{
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Dropout2d_DropsWholeChannels_WithDropoutsStream(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(51);
        int n = 3, c = 5, h = 4, w = 3;
        var x = TestUtil.RandomArray(gen, n * c * h * w, 0.5f, 2f);   // never 0: a dropped channel is exactly 0
        var r = TestUtil.RandomArray(gen, x.Length);
        const float p = 0.4f;
        const ulong seed = 9;
        var key = DropoutRng.Key(seed, 2);
        var tx = Tensor.FromArray(x, [n, c, h, w], d); tx.RequiresGrad = true;
        var y = F.Dropout2d(tx, p, true, seed, 2);
        y.Backward(Tensor.FromArray(r, y.Shape, d));
        var (ys, gs) = (y.ToArray(), tx.Grad!.ToArray());
        int dropped = 0;
        for (int e = 0; e < x.Length; e++)
        {
            int channel = e / (h * w);   // n·C + c
            float m = DropoutRng.MaskValue(key, channel, p, DropoutRng.Scale(p));
            Assert.Equal(x[e] * m, ys[e]);
            Assert.Equal(r[e] * m, gs[e]);
            if (m == 0f && e % (h * w) == 0) dropped++;
        }
        Assert.InRange(dropped, 1, n * c - 1);   // this seed drops some channels and keeps others

        // The module: a new mask at every training step, the identity in evaluation; Seed and Step reproduce a mask.
        var module = new Dropout2d(p, new Generator(3));
        var x2 = Tensor.FromArray(x, [n, c, h, w], d);
        var first = module.Forward(x2).ToArray();
        Assert.Equal(1, module.Step);
        Assert.NotEqual(first, module.Forward(x2).ToArray());
        Assert.Equal(first, F.Dropout2d(x2, p, true, module.Seed, 0).ToArray());
        module.Eval();
        Assert.Same(x2, module.Forward(x2));
        Assert.Equal("Dropout2d(p=0.4)", module.ToString());
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void ActivationModules_AreTheirOps(string device)
    {
        var d = Device.Get(device);
        var x = Tensor.FromArray(TestUtil.RandomArray(new Generator(52), 2 * 3 * 4, -3f, 3f), [2, 3, 4], d);
        Assert.Equal(F.LeakyRelu(x, 0.2f).ToArray(), new LeakyReLU(0.2f).Forward(x).ToArray());
        Assert.Equal(F.LeakyRelu(x, 0.01f).ToArray(), new LeakyReLU().Forward(x).ToArray());
        Assert.Equal(F.Gelu(x).ToArray(), new GELU().Forward(x).ToArray());
        Assert.Equal(F.Gelu(x, "tanh").ToArray(), new GELU("tanh").Forward(x).ToArray());
        Assert.Equal(F.Softmax(x, 1).ToArray(), new Softmax(1).Forward(x).ToArray());
        Assert.Equal(F.LogSoftmax(x, -1).ToArray(), new LogSoftmax(-1).Forward(x).ToArray());
        Assert.Same(x, new Identity().Forward(x));
        Assert.Equal("LeakyReLU(negative_slope=0.01)", new LeakyReLU().ToString());
        Assert.Equal("GELU(approximate='tanh')", new GELU("tanh").ToString());
        Assert.Equal("Softmax(dim=1)", new Softmax(1).ToString());
        Assert.Equal("LogSoftmax(dim=-1)", new LogSoftmax(-1).ToString());
        Assert.Equal("Identity()", new Identity().ToString());
    }

    // ---------------------------------------------------------------- losses: the math in double

    static double[] MseMath(double[] x, double[] t) => x.Select((v, i) => (v - t[i]) * (v - t[i])).ToArray();

    static double[] NllMath(double[] x, int[] labels, int c, int ignore) =>
        labels.Select((l, r) => l == ignore ? 0 : -x[r * c + l]).ToArray();

    /// <summary>−[t·log σ(x) + (1 − t)·log(1 − σ(x))]·(pw for the positive part), in double, straight from the definition.</summary>
    static double[] BceMath(double[] x, double[] t, double[]? pw, int classes) =>
        x.Select((v, i) =>
        {
            double logSig = -Math.Log(1 + Math.Exp(-v)), logOneMinus = -Math.Log(1 + Math.Exp(v));
            return -((pw?[i % classes] ?? 1) * t[i] * logSig + (1 - t[i]) * logOneMinus);
        }).ToArray();

    static double Reduce(double[] l, string reduction, double divisor = -1) =>
        reduction == "sum" ? l.Sum() : l.Sum() / (divisor < 0 ? l.Length : divisor);

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Losses_MatchTheMath_AndFiniteDifferences(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(53);
        int n = 6, c = 4;
        var x = TestUtil.RandomArray(gen, n * c, -3f, 3f);
        var t = TestUtil.RandomArray(gen, n * c, 0f, 1f);
        var pw = TestUtil.RandomArray(gen, c, 0.5f, 3f);
        var (xd, td, pwd) = (TestUtil.ToDouble(x), TestUtil.ToDouble(t), TestUtil.ToDouble(pw));
        int[] labels = [0, 3, -100, 1, 2, 3];
        foreach (var reduction in new[] { "mean", "sum", "none" })
        {
            var r = TestUtil.RandomArray(gen, reduction == "none" ? n * c : 1);
            var rd = TestUtil.ToDouble(r);
            double Scalar(double[] l) => reduction == "none" ? TestUtil.Dot(rd, l) : rd[0] * Reduce(l, reduction);

            // MSE: both inputs get gradients.
            var (tx, tt) = (Tensor.FromArray(x, [n, c], d), Tensor.FromArray(t, [n, c], d));
            tx.RequiresGrad = tt.RequiresGrad = true;
            var mse = new MSELoss(reduction).Forward(tx, tt);
            Assert.Equal(reduction == "none" ? new[] { n, c } : new[] { 1 }, mse.Shape);
            mse.Backward(Tensor.FromArray(r, mse.Shape, d));
            var mseMath = MseMath(xd, td);
            TestUtil.AssertClose(reduction == "none" ? mseMath.Select(v => (float)v).ToArray() : [(float)Reduce(mseMath, reduction)], mse.ToArray(), 1e-5f, 1e-5f, $"{device} mse {reduction}");
            TestUtil.AssertClose(TestUtil.NumericGrad(xs => Scalar(MseMath(xs, td)), xd), tx.Grad!.ToArray(), 1e-4f, 1e-4f, $"{device} mse {reduction} dx");
            TestUtil.AssertClose(TestUtil.NumericGrad(ts => Scalar(MseMath(xd, ts)), td), tt.Grad!.ToArray(), 1e-4f, 1e-4f, $"{device} mse {reduction} dt");

            // NLL with an ignored row: the mean divides by the 5 rows counted.
            var rn = reduction == "none" ? TestUtil.ToDouble(TestUtil.RandomArray(gen, n)) : rd;
            var lx = Tensor.FromArray(x, [n, c], d); lx.RequiresGrad = true;
            var nll = new NLLLoss(reduction: reduction).Forward(lx, Tensor.Labels(labels, d));
            nll.Backward(Tensor.FromArray(rn.Select(v => (float)v).ToArray(), nll.Shape, d));
            double NllScalar(double[] xs) { var l = NllMath(xs, labels, c, -100); return reduction == "none" ? TestUtil.Dot(rn, l) : rn[0] * Reduce(l, reduction, 5); }
            var nllMath = NllMath(xd, labels, c, -100);
            TestUtil.AssertClose(reduction == "none" ? nllMath.Select(v => (float)v).ToArray() : [(float)Reduce(nllMath, reduction, 5)], nll.ToArray(), 1e-6f, 1e-6f, $"{device} nll {reduction}");
            TestUtil.AssertClose(TestUtil.NumericGrad(NllScalar, xd), lx.Grad!.ToArray(), 1e-5f, 1e-4f, $"{device} nll {reduction} dx");

            // BCE with logits, with pos_weight [C] broadcast over [N, C]: input, target and pos_weight get gradients.
            foreach (bool weighted in new[] { false, true })
            {
                var bx = Tensor.FromArray(x, [n, c], d); bx.RequiresGrad = true;
                var bt = Tensor.FromArray(t, [n, c], d); bt.RequiresGrad = true;
                var bw = Tensor.FromArray(pw, [c], d); bw.RequiresGrad = true;
                var bce = F.BinaryCrossEntropyWithLogits(bx, bt, weighted ? bw : null, reduction);
                bce.Backward(Tensor.FromArray(r, bce.Shape, d));
                var pwOrNull = weighted ? pwd : null;
                var bceMath = BceMath(xd, td, pwOrNull, c);
                string what = $"{device} bce {reduction} pos_weight={weighted}";
                TestUtil.AssertClose(reduction == "none" ? bceMath.Select(v => (float)v).ToArray() : [(float)Reduce(bceMath, reduction)], bce.ToArray(), 1e-5f, 1e-5f, what);
                TestUtil.AssertClose(TestUtil.NumericGrad(xs => Scalar(BceMath(xs, td, pwOrNull, c)), xd), bx.Grad!.ToArray(), 1e-4f, 1e-4f, $"{what} dx");
                TestUtil.AssertClose(TestUtil.NumericGrad(ts => Scalar(BceMath(xd, ts, pwOrNull, c)), td), bt.Grad!.ToArray(), 1e-4f, 1e-4f, $"{what} dt");
                if (weighted)
                    TestUtil.AssertClose(TestUtil.NumericGrad(ws => Scalar(BceMath(xd, td, ws, c)), pwd), bw.Grad!.ToArray(), 1e-4f, 1e-4f, $"{what} dpos_weight");
            }
        }

        // Stable at extreme logits: no overflow, the limits of the loss and its gradient.
        var big = Tensor.FromArray([-1000f, 1000f, -1000f, 1000f, 0f], d); big.RequiresGrad = true;
        var lossBig = F.BinaryCrossEntropyWithLogits(big, Tensor.FromArray([0f, 1f, 1f, 0f, 1f], d), reduction: "none");
        TestUtil.AssertClose([0f, 0f, 1000f, 1000f, MathF.Log(2f)], lossBig.ToArray(), 1e-6f, 1e-6f, "bce extremes");
        lossBig.Backward(Tensor.Ones([5], d));
        TestUtil.AssertClose([0f, 0f, -1f, 1f, -0.5f], big.Grad!.ToArray(), 1e-6f, 1e-6f, "bce extremes grad");

        // NLL: every row ignored gives NaN for 'mean' (0/0, as torch), 0 for 'sum'; LogSoftmax + NLLLoss = CrossEntropyLoss.
        var all = Tensor.Labels([7, 7], d);
        Assert.True(float.IsNaN(F.NllLoss(Tensor.Zeros([2, 3], d), all, ignoreIndex: 7).Item()));
        Assert.Equal(0f, F.NllLoss(Tensor.Zeros([2, 3], d), all, ignoreIndex: 7, reduction: "sum").Item());
        var logits = Tensor.FromArray(x, [n, c], d);
        var valid = Tensor.Labels([0, 3, 2, 1, 2, 3], d);
        Assert.Equal(new CrossEntropyLoss().Forward(logits, valid).Item(), new NLLLoss().Forward(F.LogSoftmax(logits, 1), valid).Item(), 5);
    }

    /// <summary>The NLL kernels of every version against their Reference, bit for bit (a selection and a negation), ignored rows
    /// and a bad label included.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void NllKernels_MatchReference(string version)
    {
        var be = KernelVersions.Backend(version);
        var gen = new Generator(54);
        int n = 7, c = 5;
        var x = TestUtil.RandomArray(gen, n * c);
        var dy = TestUtil.RandomArray(gen, n);
        var dx0 = TestUtil.RandomArray(gen, n * c);
        int[] labels = [0, 4, 2, 2, 9, -1, 3];   // 2 is ignored, 9 is out of range, −1 is out of range
        var (l, w, dx) = (new float[n], new float[n], (float[])dx0.Clone());
        Reference.NllLossForward(x, labels, l, w, n, c, 2);
        Reference.NllLossBackward(labels, dy, dx, n, c, 2);
        Assert.Equal([-x[0], -x[9], 0f, 0f, float.NaN, float.NaN, -x[33]], l);
        Assert.Equal([1f, 1f, 0f, 0f, 1f, 1f, 1f], w);
        using Storage sx = be.Allocate(n * c, DType.Float32), sl = be.Allocate(n, DType.Float32), sw = be.Allocate(n, DType.Float32),
            sdy = be.Allocate(n, DType.Float32), sdx = be.Allocate(n * c, DType.Float32), sy = be.Allocate(n, DType.Int32);
        be.Upload(x, sx); be.Upload(dy, sdy); be.Upload(dx0, sdx); be.Upload(labels, sy);
        be.NllLossForward(sx, sy, sl, sw, n, c, 2);
        be.NllLossBackward(sy, sdy, sdx, n, c, 2);
        var (gl, gw, gdx) = (new float[n], new float[n], new float[n * c]);
        be.Download(sl, gl); be.Download(sw, gw); be.Download(sdx, gdx);
        Assert.Equal(l, gl);
        Assert.Equal(w, gw);
        Assert.Equal(dx, gdx);
    }

    [Fact]
    public void BadInput_NamesOpOrModuleAndShapes()
    {
        void Throws<TE>(Action f, params string[] parts) where TE : Exception
        {
            var e = Assert.Throws<TE>(f);
            foreach (var part in parts) Assert.Contains(part, e.Message);
        }
        var x = Tensor.Zeros([4, 3]);
        Throws<ArgumentException>(() => F.MseLoss(x, Tensor.Zeros([4, 2])), "mse_loss", "[4, 3]", "[4, 2]");
        Throws<ArgumentException>(() => F.MseLoss(x, x, "avg"), "mse_loss", "reduction", "'avg'");
        Throws<ArgumentException>(() => new MSELoss("avg"), "MSELoss", "'avg'");
        Throws<ArgumentException>(() => F.NllLoss(x, Tensor.Labels([0, 1, 2])), "nll_loss", "[4]", "[3]");
        Throws<ArgumentException>(() => F.NllLoss(x, Tensor.Zeros([4])), "nll_loss", "Int32");
        Throws<ArgumentException>(() => F.NllLoss(Tensor.Zeros([4]), Tensor.Labels([0, 1, 2, 3])), "nll_loss", "[4]");
        Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(x, Tensor.Zeros([3, 4])), "binary_cross_entropy_with_logits", "[3, 4]", "[4, 3]");
        Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(x, x, Tensor.Ones([2])), "binary_cross_entropy_with_logits", "pos_weight", "[2]");
        Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(x, x, Tensor.Ones([2, 4, 3])), "binary_cross_entropy_with_logits", "pos_weight", "[2, 4, 3]");
        Throws<ArgumentException>(() => F.Dropout2d(x, 0.5f, true, 1, 0), "dropout2d", "[N, C, H, W]", "[4, 3]");
        Throws<ArgumentException>(() => F.Dropout2d(Tensor.Zeros([1, 2, 3, 3]), 1f, true, 1, 0), "dropout2d", "p");
        Throws<ArgumentException>(() => new Dropout2d(-0.5f), "Dropout2d", "-0.5");
        Throws<ArgumentException>(() => new GELU("erf"), "GELU", "'erf'");
        Throws<ArgumentException>(() => new LeakyReLU(float.PositiveInfinity), "LeakyReLU", "negative_slope");
        Throws<ArgumentException>(() => new Softmax(2).Forward(x), "softmax", "[4, 3]");
        Throws<InvalidOperationException>(() => new MSELoss().Forward(x), "MSELoss", "Forward(input, target)", "[4, 3]");
        Throws<ArgumentException>(() => F.MseLoss(x, Tensor.Zeros([4, 3], Device.Get("ilgpu-cpu"))), "mse_loss", "different devices");
    }

    [Fact]
    public void BceWithLogitsLoss_KeepsPosWeightAsABuffer()
    {
        var loss = new BCEWithLogitsLoss(Tensor.FromArray([1f, 2f, 3f]), reduction: "sum");
        Assert.Equal(["pos_weight"], loss.StateDict().Select(s => s.Name));
        Assert.Equal("BCEWithLogitsLoss(reduction='sum')", loss.ToString());
        var ilgpu = Device.Get("ilgpu-cpu");
        loss.To(ilgpu);
        Assert.Equal(ilgpu, loss.PosWeight!.Device);
        var x = Tensor.FromArray([0.5f, -1f, 2f, 0f, 1f, -2f], [2, 3], ilgpu);
        var t = Tensor.FromArray([1f, 0f, 1f, 0f, 1f, 1f], [2, 3], ilgpu);
        Assert.Equal(F.BinaryCrossEntropyWithLogits(x, t, Tensor.FromArray([1f, 2f, 3f], ilgpu), "sum").Item(), loss.Forward(x, t).Item());
    }
}
