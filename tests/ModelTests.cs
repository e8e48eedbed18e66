using System.Diagnostics;
using ScratchNet.Models;
using ScratchNet.nn;
using Xunit.Abstractions;

namespace ScratchNet.Tests;

// The lecture's models: parameter counts and names, output shapes, summaries, the registry, and one
// forward/backward of each model on cpu and on ilgpu-cpu agreeing.
public class ModelTests(ITestOutputHelper log)
{
    [Fact]
    public void SeedCnn_Has5994Parameters_WithSequentialNames()
    {
        var m = new SeedCnn(10, new Generator(1));
        Assert.Equal(5994, m.ParameterCount);
        var names = m.NamedParameters().Select(p => (p.Name, Check.Fmt(p.Parameter.Shape))).ToArray();
        Assert.Equal(new[]
        {
            ("0.weight", "[8, 1, 5, 5]"), ("0.bias", "[8]"),
            ("3.weight", "[16, 8, 5, 5]"), ("3.bias", "[16]"),
            ("7.weight", "[10, 256]"), ("7.bias", "[10]"),
        }, names);
        Assert.Equal(256 * 3 + 3, new SeedCnn(3, new Generator(1)).NamedParameters().Where(p => p.Name.StartsWith("7.")).Sum(p => p.Parameter.Numel));
    }

    [Fact]
    public void AlexNet_Has36051786Parameters_WithTorchNames()
    {
        var m = new AlexNet(10, new Generator(2));
        Assert.Equal(36_051_786, m.ParameterCount);
        var expected = new[]
        {
            ("features.0.weight", "[64, 3, 3, 3]"), ("features.0.bias", "[64]"),
            ("features.3.weight", "[192, 64, 5, 5]"), ("features.3.bias", "[192]"),
            ("features.6.weight", "[384, 192, 3, 3]"), ("features.6.bias", "[384]"),
            ("features.8.weight", "[256, 384, 3, 3]"), ("features.8.bias", "[256]"),
            ("features.10.weight", "[256, 256, 3, 3]"), ("features.10.bias", "[256]"),
            ("classifier.1.weight", "[4096, 4096]"), ("classifier.1.bias", "[4096]"),
            ("classifier.4.weight", "[4096, 4096]"), ("classifier.4.bias", "[4096]"),
            ("classifier.6.weight", "[10, 4096]"), ("classifier.6.bias", "[10]"),
        };
        Assert.Equal(expected, m.NamedParameters().Select(p => (p.Name, Check.Fmt(p.Parameter.Shape))).ToArray());
        Assert.IsType<Dropout>(m.Classifier[0]);
        Assert.IsType<Dropout>(m.Classifier[3]);
        Assert.Equal(13, m.Features.Count);
        Assert.Equal(7, m.Classifier.Count);
        Assert.NotEqual(((Dropout)m.Classifier[0]).Seed, ((Dropout)m.Classifier[3]).Seed);
    }

    [Fact]
    public void AlexNet224_Has61100840Parameters_LikeTorchvision()
    {
        var m = new AlexNet224(1000, new Generator(3));
        Assert.Equal(61_100_840, m.ParameterCount);
        var shapes = m.NamedParameters().ToDictionary(p => p.Name, p => Check.Fmt(p.Parameter.Shape));
        Assert.Equal("[64, 3, 11, 11]", shapes["features.0.weight"]);
        Assert.Equal("[192, 64, 5, 5]", shapes["features.3.weight"]);
        Assert.Equal("[4096, 9216]", shapes["classifier.1.weight"]);
        Assert.Equal("[1000, 4096]", shapes["classifier.6.weight"]);
        Assert.Equal(16, shapes.Count);
        Assert.Equal(new[] { "features", "avgpool", "flatten", "classifier" }, m.NamedChildren().Select(c => c.Name).ToArray());
        var pool = Assert.IsType<MaxPool2d>(m.Features[2]);
        Assert.Equal((3, 2), (pool.KernelSize, pool.Stride));
        var conv = Assert.IsType<Conv2d>(m.Features[0]);
        Assert.Equal((11, 4, 2), (conv.KernelSize, conv.Stride, conv.Padding));
    }

    [Fact]
    public void Mlp_HasLinearActivationLinearSigmoid()
    {
        var m = new Mlp(2, 4, 1, "sigmoid", new Generator(4));
        Assert.Equal(2 * 4 + 4 + 4 + 1, m.ParameterCount);
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, m.NamedParameters().Select(p => p.Name).ToArray());
        Assert.IsType<Sigmoid>(m[1]);
        Assert.IsType<Tanh>(new Mlp(2, 2, 1, "tanh", new Generator(4))[1]);
        Assert.Throws<ArgumentException>(() => new Mlp(2, 4, 1, "relu6"));
    }

    [Fact]
    public void Models_RejectBadArguments()
    {
        Assert.Contains("classes", Assert.Throws<ArgumentException>(() => new SeedCnn(0)).Message);
        Assert.Contains("classes", Assert.Throws<ArgumentException>(() => new AlexNet(-1)).Message);
        Assert.Contains("classes", Assert.Throws<ArgumentException>(() => new AlexNet224(0)).Message);
        Assert.Contains("dropout", Assert.Throws<ArgumentException>(() => new AlexNet(10, dropout: 1f)).Message);
        Assert.Contains("Unknown model 'lenet'", Assert.Throws<ArgumentException>(() => ModelRegistry.Get("lenet")).Message);
        var e = Assert.Throws<ArgumentException>(() => new SeedCnn(10, new Generator(5)).Forward(Tensor.Zeros([1, 1, 32, 32])));
        Assert.Contains("[N, 1, 28, 28]", e.Message);
        Assert.Contains("[1, 1, 32, 32]", e.Message);
        Assert.Contains("[N, 3, 32, 32]", Assert.Throws<ArgumentException>(() => new AlexNet(10, new Generator(5)).Forward(Tensor.Zeros([1, 3, 28, 28]))).Message);
    }

    [Fact]
    public void AlexNet224_TakesOtherSizes_AsTorchvisionDoes()
    {
        // 64×64 → conv 15 → pool 7 → conv 7 → pool 3 → convs 3 → pool 1: AdaptiveAvgPool2d((6, 6)) repeats the 1×1 features to
        // 6×6 (each output window is the one input), as torchvision's model does, so the classifier gets its 9,216 features.
        var m = new AlexNet224(10, new Generator(6), width: 0.125f);
        m.Eval();
        using var scope = new TensorScope();
        var x = Tensor.Uniform([1, 3, 64, 64], -1, 1, new Generator(7));
        var features = ((Sequential)m[0]).Forward(x);
        Assert.Equal(new[] { 1, 32, 1, 1 }, features.Shape);
        var pooled = m[1].Forward(features);
        Assert.Equal(new[] { 1, 32, 6, 6 }, pooled.Shape);
        var f = features.ToArray();
        var p = pooled.ToArray();
        for (int c = 0; c < 32; c++) Assert.All(p[(c * 36)..((c + 1) * 36)], v => Assert.Equal(f[c], v));
        var logits = m.Forward(x);
        Assert.Equal(new[] { 1, 10 }, logits.Shape);
        Assert.All(logits.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Registry_BuildsEveryModelByName()
    {
        Assert.Equal(new[] { "seedcnn", "alexnet", "alexnet224", "mlp" }, ModelRegistry.Names.ToArray());
        Assert.IsType<SeedCnn>(ModelRegistry.Create("SeedCNN", generator: new Generator(7)));
        Assert.Equal(256 * 4 + 4, ModelRegistry.Create("seedcnn", 4, new Generator(7)).NamedParameters().Where(p => p.Name.StartsWith("7.")).Sum(p => p.Parameter.Numel));
        Assert.Equal(new[] { 3, 224, 224 }, ModelRegistry.Get("alexnet224").InputShape);
        Assert.Equal(1000, ModelRegistry.Get("alexnet224").DefaultClasses);
        Assert.IsType<Mlp>(ModelRegistry.Create("mlp", generator: new Generator(7)));
    }

    [Fact]
    public void SeedCnnSummary_ReproducesTheLectureTable()
    {
        var s = Summary.Of("seedcnn");
        var rows = s.Rows.Where(r => r.Layer.Split('(')[0] is not "ReLU").Select(r => (r.Layer.Split('(')[0], r.Output, r.Weights, r.Biases)).ToArray();
        Assert.Equal(new[]
        {
            ("Conv2d", "24×24×8", 200L, 8L),
            ("MaxPool2d", "12×12×8", 0L, 0L),
            ("Conv2d", "8×8×16", 3200L, 16L),
            ("MaxPool2d", "4×4×16", 0L, 0L),
            ("Flatten", "256", 0L, 0L),
            ("Linear", "10", 2560L, 10L),
        }, rows);
        Assert.Equal(5994, s.Total);
        Assert.Equal(5960, s.TotalWeights);
        Assert.Equal(34, s.TotalBiases);
        var text = s.ToString();
        Assert.Contains("24×24×8", text);
        Assert.Contains("total parameters: 5,994", text);
    }

    [Fact]
    public void AlexNetSummary_Totals36051786_AndLeavesTheModelInTrainingMode()
    {
        var m = new AlexNet(10, new Generator(8));
        long step = ((Dropout)m.Classifier[0]).Step;
        var s = Summary.Of(m, [3, 32, 32], "alexnet");
        Assert.Equal(36_051_786, s.Total);
        Assert.Equal("4×4×256", s.Rows.Single(r => r.Name == "features.12").Output);
        Assert.Equal("4096", s.Rows.Single(r => r.Name == "flatten").Output);
        Assert.Equal("10", s.Rows[^1].Output);
        Assert.Equal(21, s.Rows.Count);
        Assert.True(m.Training);
        Assert.Equal(step, ((Dropout)m.Classifier[0]).Step);
    }

    [Fact]
    public void OutputShapes_OfEveryModel()
    {
        using var scope = new TensorScope();
        using var noGrad = Tensor.NoGrad();
        var g = new Generator(9);
        Assert.Equal(new[] { 2, 10 }, new SeedCnn(10, g).Forward(Tensor.Zeros([2, 1, 28, 28])).Shape);
        Assert.Equal(new[] { 2, 7 }, new AlexNet(7, g).Forward(Tensor.Zeros([2, 3, 32, 32])).Shape);
        Assert.Equal(new[] { 3, 1 }, new Mlp(2, 4, 1, "tanh", g).Forward(Tensor.Zeros([3, 2])).Shape);
        var sw = Stopwatch.StartNew();
        var a224 = new AlexNet224(1000, g);
        a224.Eval();
        Assert.Equal(new[] { 1, 1000 }, a224.Forward(Tensor.Zeros([1, 3, 224, 224])).Shape);
        log.WriteLine($"AlexNet224 init + forward on cpu: {sw.ElapsedMilliseconds} ms");
    }

    public static IEnumerable<object[]> ModelsForDeviceAgreement() =>
        [["mlp", 2, 1f], ["seedcnn", 2, 1f], ["alexnet", 1, 0.0625f]];

    /// <summary>
    /// The same weights and input on cpu and ilgpu-cpu: logits, the input gradient and every parameter gradient
    /// agree. Training mode, so the dropout masks (a function of seed, step and index) must agree too.
    /// AlexNet runs at width 1/16 (4, 12, 24, 16, 16 channels, 256 hidden units: the same layers, kernel sizes,
    /// strides, paddings and pools) because the full-width AlexNet takes about 15 minutes for one forward/backward at
    /// batch 1 on the ILGPU simulator (measured: the two 4096×4096 layers alone take 2 × 5 minutes there, width 1/8
    /// still takes 20 s). AlexNet224 is not run on the simulator: its 11×11 stride-4 first convolution over a
    /// 224×224 image takes about 20 s there even at width 1/32 (measured), so the whole model would be most of a
    /// minute. The full-width models are checked on cpu by AlexNet_FullWidth_GradCheckOnCpu,
    /// AlexNet224_FullWidth_ForwardBackwardOnCpu and OutputShapes_OfEveryModel.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelsForDeviceAgreement))]
    public void ForwardBackward_AgreesOnCpuAndIlgpuCpu(string name, int batch, float width)
    {
        var info = ModelRegistry.Get(name);
        var sw = Stopwatch.StartNew();
        var results = new List<(float[] Y, float[] Dx, Dictionary<string, float[]> Grads)>();
        foreach (var device in new[] { "cpu", "ilgpu-cpu" })
        {
            var d = Device.Get(device);
            var g = new Generator(10);
            Module model = name switch
            {
                "alexnet" => new AlexNet(10, g, d, width: width),
                "alexnet224" => new AlexNet224(10, g, d, width: width),
                _ => info.Create(null, g, d),
            };
            var x = Tensor.Uniform([batch, .. info.InputShape], -1f, 1f, g, d).Unscoped();
            x.RequiresGrad = true;
            using var scope = new TensorScope();
            var y = model.Forward(x);
            var r = Tensor.Uniform(y.Shape, -1f, 1f, new Generator(11), d);
            y.Backward(r);
            results.Add((y.ToArray(), x.Grad!.ToArray(), model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToArray())));
            log.WriteLine($"{name} (width {width}) batch {batch} forward+backward on {device}: {sw.ElapsedMilliseconds} ms");
            sw.Restart();
        }
        var (cpu, gpu) = (results[0], results[1]);
        float Scale(float[] a) => Math.Max(a.Max(Math.Abs), 1e-12f);
        // Sums of thousands of float products in a different order: compare relative to each tensor's scale.
        TestUtil.AssertClose(cpu.Y, gpu.Y, 1e-4f * Scale(cpu.Y), 1e-3f, $"{name} output");
        TestUtil.AssertClose(cpu.Dx, gpu.Dx, 1e-4f * Scale(cpu.Dx), 1e-3f, $"{name} input gradient");
        Assert.Equal(cpu.Grads.Keys, gpu.Grads.Keys);
        foreach (var (p, grad) in cpu.Grads)
            TestUtil.AssertClose(grad, gpu.Grads[p], 1e-4f * Scale(grad), 1e-3f, $"{name} {p} gradient");
    }

    [Fact]
    public void NarrowAlexNets_ScaleEveryWidth()
    {
        var a = new AlexNet(10, new Generator(14), width: 0.125f);
        Assert.Equal(new[] { 8, 24, 48, 32, 32 }, a.Features.Children().OfType<Conv2d>().Select(c => c.OutChannels).ToArray());
        Assert.Equal(new[] { (512, 512), (512, 512), (512, 10) }, a.Classifier.Children().OfType<Linear>().Select(l => (l.InFeatures, l.OutFeatures)).ToArray());
        var b = new AlexNet224(10, new Generator(14), width: 0.125f);
        Assert.Equal(32 * 6 * 6, b.Classifier.Children().OfType<Linear>().First().InFeatures);
        Assert.Equal(1f, new AlexNet(10, new Generator(14)).Width);
        Assert.Contains("width", Assert.Throws<ArgumentException>(() => new AlexNet(10, width: 0f)).Message);
        Assert.Contains("width", Assert.Throws<ArgumentException>(() => new AlexNet224(10, width: float.NaN)).Message);
    }

    [Fact]
    public void AlexNet_FullWidth_GradCheckOnCpu()
    {
        // The full 36M-parameter model in training mode (dropout on): the coordinate with the largest gradient of the
        // input, the first and last convolutions and the three linear layers against finite differences (each
        // coordinate costs two forwards of the whole model, about 0.5 s here).
        var g = new Generator(15);
        var m = new AlexNet(10, g);
        var sw = Stopwatch.StartNew();
        string[] checkedTensors = ["input", "features.0.weight", "features.10.bias", "classifier.1.weight", "classifier.4.bias", "classifier.6.weight"];
        var report = GradCheck.Run(m, Tensor.Uniform([1, 3, 32, 32], -1f, 1f, g),
                                   new GradCheckOptions { SamplesPerTensor = 1, Include = checkedTensors.Contains });
        log.WriteLine($"{sw.ElapsedMilliseconds} ms\n{report}");
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(checkedTensors, report.Tensors.Select(t => t.Name).ToArray());
    }

    [Fact]
    public void AlexNet224_FullWidth_ForwardBackwardOnCpu()
    {
        // One training step's worth of autograd through torchvision's AlexNet at 224×224: every parameter gets a
        // finite gradient of its own shape, and the input gradient is not all zeros.
        var g = new Generator(16);
        var m = new AlexNet224(1000, g);
        var x = Tensor.Uniform([1, 3, 224, 224], -1f, 1f, g).Unscoped();
        x.RequiresGrad = true;
        var sw = Stopwatch.StartNew();
        using var scope = new TensorScope();
        var loss = new CrossEntropyLoss().Forward(m.Forward(x), Tensor.Labels([3]));
        loss.Backward();
        log.WriteLine($"AlexNet224 forward + backward on cpu: {sw.ElapsedMilliseconds} ms, loss {loss.Item()}");
        Assert.InRange(loss.Item(), Math.Log(1000) - 0.5, Math.Log(1000) + 0.5);   // small logits at init: ≈ ln 1000
        foreach (var (name, p) in m.NamedParameters())
        {
            Assert.NotNull(p.Grad);
            Assert.Equal(p.Shape, p.Grad!.Shape);
            Assert.All(p.Grad.ToArray(), v => Assert.True(float.IsFinite(v), name));
        }
        Assert.Contains(x.Grad!.ToArray(), v => v != 0f);
    }

    [Fact]
    public void SeedCnn_GradCheckPasses()
    {
        var g = new Generator(12);
        var m = new SeedCnn(10, g);
        var report = GradCheck.Run(m, Tensor.Uniform([2, 1, 28, 28], -1f, 1f, g), new GradCheckOptions { SamplesPerTensor = 6 });
        Assert.True(report.Passed, report.ToString());
        log.WriteLine(report.ToString());
    }

    [Fact]
    public void SeedCnn_LearnsOneBatch_LossDecreases()
    {
        // A sanity check of the whole training path: a few SGD steps on one fixed batch lower the cross-entropy.
        var g = new Generator(13);
        var m = new SeedCnn(10, g);
        var x = Tensor.Uniform([8, 1, 28, 28], 0f, 1f, g).Unscoped();
        var labels = Tensor.Labels([0, 1, 2, 3, 4, 5, 6, 7]).Unscoped();
        var opt = new ScratchNet.optim.SGD(m.Parameters(), 0.1f);
        var lossFn = new CrossEntropyLoss();
        var losses = new List<float>();
        for (int step = 0; step < 20; step++)
        {
            using var scope = new TensorScope();
            opt.ZeroGrad();
            var loss = lossFn.Forward(m.Forward(x), labels);
            loss.Backward();
            opt.Step();
            losses.Add(loss.Item());
        }
        log.WriteLine(string.Join(" ", losses));
        for (int i = 1; i < losses.Count; i++) Assert.True(losses[i] < losses[i - 1], $"step {i}: loss rose from {losses[i - 1]} to {losses[i]}");
        Assert.True(losses[^1] < 0.85f * losses[0], $"loss went from {losses[0]} to {losses[^1]}");
    }
}
