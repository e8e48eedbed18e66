using ScratchNet.nn;

namespace ScratchNet.Tests;

// The nn modules: names, init, modes, devices, argument checks, forward against naive references, GradCheck.
public class NnTests
{
    private sealed class TwoLayer : Module
    {
        public TwoLayer(Generator g, Device? d = null)
        {
            First = RegisterModule("first", new Linear(3, 4, generator: g, device: d));
            Act = RegisterModule("act", new Tanh());
            Second = RegisterModule("second", new Sequential(new Linear(4, 2, generator: g, device: d), new Dropout(0.25f, g)));
        }

        public Linear First { get; }
        public Tanh Act { get; }
        public Sequential Second { get; }
        public override Tensor Forward(Tensor x) => Second.Forward(Act.Forward(First.Forward(x)));
    }

    [Fact]
    public void NamedParameters_UsePyTorchModulePaths_AndTensorNames()
    {
        var m = new TwoLayer(new Generator(1));
        var names = m.NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "first.weight", "first.bias", "second.0.weight", "second.0.bias" }, names);
        foreach (var (name, p) in m.NamedParameters())
        {
            Assert.Equal(name, p.Name);
            Assert.True(p.RequiresGrad);
            Assert.True(p.IsLeaf);
        }
        Assert.Equal(3 * 4 + 4 + 4 * 2 + 2, m.ParameterCount);
        Assert.Equal(new[] { "", "first", "act", "second", "second.0", "second.1" }, m.NamedModules().Select(x => x.Name).ToArray());
        Assert.Equal(new[] { "first", "act", "second" }, m.NamedChildren().Select(c => c.Name).ToArray());
    }

    [Fact]
    public void Sequential_NamesChildrenByPosition_OrByGivenNames()
    {
        var g = new Generator(2);
        var s = new Sequential(new Conv2d(1, 2, 3, generator: g), new ReLU(), new Linear(5, 6, bias: false, generator: g));
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight" }, s.NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal(3, s.Count);
        Assert.IsType<ReLU>(s[1]);
        var named = new Sequential(("body", new Sequential(new Linear(2, 2, generator: g))), ("head", new Linear(2, 1, generator: g)));
        Assert.Equal(new[] { "body.0.weight", "body.0.bias", "head.weight", "head.bias" }, named.NamedParameters().Select(p => p.Name).ToArray());
        Assert.Contains("(0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))", s.ToString());
        Assert.Contains("(2): Linear(in_features=5, out_features=6, bias=False)", s.ToString());
    }

    [Fact]
    public void Parameters_AreCreatedOutsideTheEnclosingScope()
    {
        Linear lin;
        using (new TensorScope()) lin = new Linear(3, 2, generator: new Generator(3));
        Assert.Equal(6, lin.Weight.ToArray().Length);   // would throw ObjectDisposedException if the scope had freed it
        Assert.Equal(2, lin.Bias!.ToArray().Length);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 64, 3)]
    [InlineData(8, 16, 5)]
    [InlineData(64, 192, 5)]
    public void Conv2dInit_IsKaimingUniformWithASqrt5_BiasUniformOneOverSqrtFanIn(int cin, int cout, int k)
    {
        var conv = new Conv2d(cin, cout, k, generator: new Generator(4));
        int fanIn = cin * k * k;
        double bound = 1.0 / Math.Sqrt(fanIn);
        Assert.Equal(Math.Sqrt(2.0 / 6.0) * Math.Sqrt(3.0 / fanIn), bound, 12);   // gain·√(3/fan_in) = 1/√fan_in
        Assert.Equal((float)bound, Init.KaimingUniformBound(fanIn, Math.Sqrt(5)), 6);
        Assert.Equal(new[] { cout, cin, k, k }, conv.Weight.Shape);
        AssertUniform(conv.Weight.ToArray(), bound, "conv weight");
        AssertUniform(conv.Bias!.ToArray(), bound, "conv bias");
    }

    [Theory]
    [InlineData(2, 4)]
    [InlineData(256, 10)]
    [InlineData(4096, 64)]
    public void LinearInit_IsUniformOneOverSqrtFanIn(int fin, int fout)
    {
        var lin = new Linear(fin, fout, generator: new Generator(5));
        double bound = 1.0 / Math.Sqrt(fin);
        Assert.Equal(new[] { fout, fin }, lin.Weight.Shape);
        AssertUniform(lin.Weight.ToArray(), bound, "linear weight");
        AssertUniform(lin.Bias!.ToArray(), bound, "linear bias");
    }

    private static void AssertUniform(float[] v, double bound, string what)
    {
        Assert.All(v, x => Assert.InRange(x, -bound, bound));
        if (v.Length >= 1000)
        {
            // U(−b, b): mean 0, variance b²/3, and the extremes come close to ±b.
            double mean = v.Average(x => (double)x), var = v.Average(x => (x - mean) * (x - mean));
            Assert.InRange(mean, -0.05 * bound, 0.05 * bound);
            Assert.InRange(var, 0.9 * bound * bound / 3, 1.1 * bound * bound / 3);
            Assert.True(v.Max() > 0.99 * bound && v.Min() < -0.99 * bound, $"{what}: range [{v.Min()}, {v.Max()}] does not fill ±{bound}");
        }
    }

    [Fact]
    public void SameGenerator_SameWeights_DefaultGeneratorIsUsedWhenNoneIsGiven()
    {
        var a = new Linear(5, 3, generator: new Generator(42));
        var b = new Linear(5, 3, generator: new Generator(42));
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        Assert.Equal(a.Bias!.ToArray(), b.Bias!.ToArray());
        var c = new Linear(5, 3);
        Assert.All(c.Weight.ToArray(), x => Assert.InRange(x, -1 / Math.Sqrt(5), 1 / Math.Sqrt(5)));
    }

    [Fact]
    public void TrainEval_SetTheWholeTree_ZeroGradResetsGradients()
    {
        var m = new TwoLayer(new Generator(6));
        Assert.True(m.Training);
        m.Eval();
        Assert.All(m.NamedModules(), x => Assert.False(x.Module.Training));
        m.Train();
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.Training));

        m.Eval();
        var y = m.Forward(Tensor.FromArray([1f, 2f, 3f, -1f, 0f, 0.5f], [2, 3]));
        y.Backward(Tensor.Ones([2, 2]));
        Assert.Contains(m.Parameters(), p => p.Grad!.ToArray().Any(v => v != 0));
        m.ZeroGrad();
        Assert.All(m.Parameters(), p => Assert.All(p.Grad!.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void To_MovesEveryParameter_KeepingNamesValuesAndRequiresGrad()
    {
        var m = new TwoLayer(new Generator(7));
        var before = m.NamedParameters().Select(p => (p.Name, p.Parameter.ToArray())).ToList();
        var d = Device.Get("ilgpu-cpu");
        m.To(d);
        Assert.Equal(d, m.Device);
        var after = m.NamedParameters().ToList();
        Assert.Equal(before.Count, after.Count);
        for (int i = 0; i < after.Count; i++)
        {
            Assert.Equal(d, after[i].Parameter.Device);
            Assert.Equal(before[i].Name, after[i].Name);
            Assert.Equal(before[i].Name, after[i].Parameter.Name);
            Assert.True(after[i].Parameter.RequiresGrad);
            Assert.Equal(before[i].Item2, after[i].Parameter.ToArray());
        }
        Assert.Same(m.First.Weight, after[0].Parameter);   // the layer sees the moved tensor
        m.Eval();
        var y = m.Forward(Tensor.FromArray([1f, 2f, 3f], [1, 3], d));
        Assert.Equal(d, y.Device);
        m.To(Device.Cpu);
        Assert.Equal(Device.Cpu, m.First.Weight.Device);
    }

    [Fact]
    public void BadArguments_ThrowArgumentExceptionsNamingModuleAndValue()
    {
        void Expect(Action a, params string[] parts)
        {
            var e = Assert.Throws<ArgumentException>(a);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Expect(() => new Conv2d(0, 8, 3), "Conv2d", "in_channels", "0");
        Expect(() => new Conv2d(3, -2, 3), "Conv2d", "out_channels", "-2");
        Expect(() => new Conv2d(3, 8, 0), "Conv2d", "kernel_size", "0");
        Expect(() => new Conv2d(3, 8, 3, stride: 0), "Conv2d", "stride", "0");
        Expect(() => new Conv2d(3, 8, 3, padding: -1), "Conv2d", "padding", "-1");
        Expect(() => new Linear(0, 3), "Linear", "in_features", "0");
        Expect(() => new Linear(3, -1), "Linear", "out_features", "-1");
        Expect(() => new MaxPool2d(0), "MaxPool2d", "kernel_size", "0");
        Expect(() => new MaxPool2d(2, 0), "MaxPool2d", "stride", "0");
        Expect(() => new Dropout(1f), "Dropout", "p", "1");
        Expect(() => new Dropout(-0.1f), "Dropout", "p", "-0.1");
        Expect(() => new Dropout(float.NaN), "Dropout", "p");
        Expect(() => new AdaptiveAvgPool2d(0, 6), "AdaptiveAvgPool2d", "0");

        var g = new Generator(8);
        Expect(() => new Conv2d(3, 4, 3, generator: g).Forward(Tensor.Zeros([1, 2, 8, 8])), "Conv2d", "[1, 2, 8, 8]", "[N, 3, H, W]");
        Expect(() => new Linear(5, 2, generator: g).Forward(Tensor.Zeros([2, 4])), "Linear", "[2, 4]", "[N, 5]");
        Expect(() => new AdaptiveAvgPool2d(6, 6).Forward(Tensor.Zeros([2, 7, 7])), "AdaptiveAvgPool2d", "[N, C, H, W]", "[2, 7, 7]");
        Expect(() => new Linear(3, 2, generator: g).Forward(Tensor.Zeros([1, 3], Device.Get("ilgpu-cpu"))), "different devices");
    }

    [Fact]
    public void AdaptiveAvgPool2d_IsTheIdentityWhenTheInputHasTheOutputSize()
    {
        var x = Tensor.Rand([2, 3, 6, 6], new Generator(9));
        Assert.Same(x, new AdaptiveAvgPool2d(6, 6).Forward(x));
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Linear_MatchesNaiveReference_AndItsGradients(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(10);
        var lin = new Linear(7, 5, generator: g, device: d);
        int n = 3;
        var x = TestUtil.RandomArray(g, n * 7);
        var w = lin.Weight.ToArray(); var b = lin.Bias!.ToArray();
        var expected = new float[n * 5];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < 5; o++)
            {
                double s = b[o];
                for (int k = 0; k < 7; k++) s += (double)x[i * 7 + k] * w[o * 7 + k];
                expected[i * 5 + o] = (float)s;
            }
        var tx = Tensor.FromArray(x, [n, 7], d);
        var y = lin.Forward(tx);
        Assert.Equal(new[] { n, 5 }, y.Shape);
        TestUtil.AssertClose(expected, y.ToArray(), 1e-5f, 1e-4f, "linear forward");

        var report = GradCheck.Run(lin, tx, new GradCheckOptions { SamplesPerTensor = 6 });
        Assert.True(report.Passed, report.ToString());
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Conv2d_MatchesNaiveReference(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(11);
        var conv = new Conv2d(2, 3, 3, stride: 2, padding: 1, generator: g, device: d);
        int N = 2, C = 2, H = 7, W = 6, O = 3, K = 3, S = 2, P = 1, OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
        var x = TestUtil.RandomArray(g, N * C * H * W);
        var w = conv.Weight.ToArray(); var b = conv.Bias!.ToArray();
        var expected = new float[N * O * OH * OW];
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++)
                for (int oh = 0; oh < OH; oh++)
                    for (int ow = 0; ow < OW; ow++)
                    {
                        double s = b[o];
                        for (int c = 0; c < C; c++)
                            for (int kh = 0; kh < K; kh++)
                                for (int kw = 0; kw < K; kw++)
                                {
                                    int ih = oh * S - P + kh, iw = ow * S - P + kw;
                                    if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                        s += (double)x[((n * C + c) * H + ih) * W + iw] * w[((o * C + c) * K + kh) * K + kw];
                                }
                        expected[((n * O + o) * OH + oh) * OW + ow] = (float)s;
                    }
        var y = conv.Forward(Tensor.FromArray(x, [N, C, H, W], d));
        Assert.Equal(new[] { N, O, OH, OW }, y.Shape);
        TestUtil.AssertClose(expected, y.ToArray(), 1e-5f, 1e-4f, "conv forward");
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void ActivationsPoolFlatten_MatchTheirDefinitions(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(12);
        var x = TestUtil.RandomArray(g, 2 * 3 * 4 * 4, -3f, 3f);
        var tx = Tensor.FromArray(x, [2, 3, 4, 4], d);
        TestUtil.AssertClose(x.Select(v => Math.Max(v, 0f)).ToArray(), new ReLU().Forward(tx).ToArray(), what: "relu");
        TestUtil.AssertClose(x.Select(v => 1f / (1f + MathF.Exp(-v))).ToArray(), new Sigmoid().Forward(tx).ToArray(), 1e-6f, 1e-5f, "sigmoid");
        TestUtil.AssertClose(x.Select(MathF.Tanh).ToArray(), new Tanh().Forward(tx).ToArray(), 1e-6f, 1e-5f, "tanh");
        var flat = new Flatten().Forward(tx);
        Assert.Equal(new[] { 2, 48 }, flat.Shape);
        Assert.Equal(x, flat.ToArray());

        var pooled = new MaxPool2d(2).Forward(tx);
        Assert.Equal(new[] { 2, 3, 2, 2 }, pooled.Shape);
        var p = pooled.ToArray();
        for (int nc = 0; nc < 6; nc++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                {
                    float m = float.NegativeInfinity;
                    for (int a = 0; a < 2; a++) for (int b = 0; b < 2; b++) m = Math.Max(m, x[(nc * 4 + 2 * i + a) * 4 + 2 * j + b]);
                    Assert.Equal(m, p[(nc * 2 + i) * 2 + j]);
                }
        Assert.Equal(new[] { 2, 3, 1, 1 }, new MaxPool2d(3, 2).Forward(tx).Shape);   // (4 − 3)/2 + 1 = 1
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Dropout_StepAdvancesInTrainingOnly_SameSeedAndStepGiveTheSameMask(string device)
    {
        var d = Device.Get(device);
        var x = Tensor.Ones([4, 64], d);
        var drop = new Dropout(0.5f, new Generator(13));
        Assert.Equal(0, drop.Step);
        var y1 = drop.Forward(x).ToArray();
        Assert.Equal(1, drop.Step);
        var y2 = drop.Forward(x).ToArray();
        Assert.Equal(2, drop.Step);
        Assert.All(y1, v => Assert.True(v == 0f || Math.Abs(v - 2f) < 1e-6f, $"inverted dropout value {v}"));
        Assert.NotEqual(y1, y2);                                   // a new mask each step
        int zeros = y1.Count(v => v == 0f);
        Assert.InRange(zeros, 64, 192);                           // about half of 256

        var again = new Dropout(0.5f) { Seed = drop.Seed, Step = 0 };   // resume: same seed and step → same mask
        Assert.Equal(y1, again.Forward(x).ToArray());
        Assert.Equal(y2, again.Forward(x).ToArray());

        drop.Eval();
        Assert.Same(x, drop.Forward(x));
        Assert.Equal(2, drop.Step);
        Assert.Equal(y1, new Dropout(0.5f) { Seed = drop.Seed }.Forward(x).ToArray());
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void CrossEntropyLoss_IsTheMeanNegativeLogSoftmaxOfTheLabel(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(14);
        int n = 3, c = 5;
        var logits = TestUtil.RandomArray(g, n * c, -2f, 2f);
        int[] labels = [4, 0, 2];
        double expected = 0;
        for (int i = 0; i < n; i++)
        {
            double m = Enumerable.Range(0, c).Max(k => logits[i * c + k]);
            double lse = m + Math.Log(Enumerable.Range(0, c).Sum(k => Math.Exp(logits[i * c + k] - m)));
            expected += lse - logits[i * c + labels[i]];
        }
        expected /= n;
        var loss = new CrossEntropyLoss().Forward(Tensor.FromArray(logits, [n, c], d), Tensor.Labels(labels, d));
        Assert.Equal(expected, loss.Item(), 5);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void GradCheck_PassesOnASmallConvNetWithTrainingModeDropout(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(15);
        var net = new Sequential(new Conv2d(2, 3, 3, padding: 1, generator: g, device: d), new Tanh(), new MaxPool2d(2),
                                 new Flatten(), new Dropout(0.3f, g), new Linear(3 * 3 * 3, 4, generator: g, device: d), new Sigmoid());
        var x = Tensor.Uniform([2, 2, 6, 6], -1f, 1f, g, d);
        var dropout = (Dropout)net[4];
        long step = dropout.Step;
        var report = GradCheck.Run(net, x, new GradCheckOptions { SamplesPerTensor = 6 });
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(new[] { "input", "0.weight", "0.bias", "5.weight", "5.bias" }, report.Tensors.Select(t => t.Name).ToArray());
        Assert.All(report.Tensors, t => Assert.True(t.Checked >= 1));
        Assert.Equal(step, dropout.Step);   // GradCheck rewinds dropout: the module is left as found
    }

    /// <summary>y = x ⊙ detach(x): autograd sees only one factor, so it reports x where the true derivative is 2x.</summary>
    private sealed class WrongGradient : Module
    {
        public override Tensor Forward(Tensor x) => F.Mul(x, x.Detach());
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void GradCheck_CatchesAWrongGradient(string device)
    {
        var d = Device.Get(device);
        var x = Tensor.Uniform([3, 4], 0.5f, 1.5f, new Generator(16), d);
        var report = GradCheck.Run(new WrongGradient(), x);
        Assert.False(report.Passed);
        var input = Assert.Single(report.Tensors);
        Assert.True(input.Failed > 0);
        Assert.InRange(input.MaxRelError, 0.3, 0.7);   // analytic x vs numeric 2x: relative error 1/2
        Assert.Contains("FAIL", report.ToString());
    }

    [Fact]
    public void GradCheck_CustomLoss_AndBadOptions()
    {
        var g = new Generator(17);
        var lin = new Linear(4, 3, generator: g);
        var x = Tensor.Uniform([2, 4], -1f, 1f, g);
        var labels = Tensor.Labels([2, 0]);
        var report = GradCheck.Run(lin, x, loss: y => new CrossEntropyLoss().Forward(y, labels));
        Assert.True(report.Passed, report.ToString());
        Assert.Throws<ArgumentException>(() => GradCheck.Run(lin, x, new GradCheckOptions { SamplesPerTensor = 0 }));
        Assert.Throws<ArgumentException>(() => GradCheck.Run(lin, x, new GradCheckOptions { Eps = 0f }));
    }
}
