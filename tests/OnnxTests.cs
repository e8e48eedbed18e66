using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ScratchNet.data;
using ScratchNet.Models;
using ScratchNet.Models.Training;
using ScratchNet.nn;
using ScratchNet.onnx;
using Xunit.Abstractions;

namespace ScratchNet.Tests;

// ONNX export and import (engine/onnx/): exported models run in ONNX Runtime with ScratchNet's logits, pass Debian's
// onnx.checker, survive import → export → import, and torch.onnx exports import with PyTorch's logits.
public class OnnxTests(ITestOutputHelper output)
{
    /// <summary>The models checked: the registry's, the trainer's MLP, the examples' and one with every exportable layer.</summary>
    public static readonly string[] Names = ["alexnet", "seedcnn", "mlp", "trainer-mlp", "lenet5", "bncnn", "every-layer"];

    /// <summary><see cref="Names"/> as theory data.</summary>
    public static TheoryData<string> ModelNames => new(Names);

    /// <summary>A model by test name, with non-trivial BatchNorm statistics, in eval mode, and its input shape.</summary>
    public static (Module Model, int[] Input) Build(string name)
    {
        var gen = new Generator(5);
        (Module m, int[] input) = name switch
        {
            "alexnet" => ((Module)new AlexNet(10, gen), new[] { 3, 32, 32 }),
            "seedcnn" => (new SeedCnn(10, gen), [1, 28, 28]),
            "mlp" => (new Mlp(2, 4, 1, "tanh", gen), [2]),
            "trainer-mlp" => (Trainer.CreateModel("mlp", 10, [1, 28, 28], gen, Device.Cpu), [1, 28, 28]),
            // examples/LeNet5/Program.cs
            "lenet5" => (new Sequential(
                new Conv2d(1, 6, 5, padding: 2, generator: gen), new ReLU(), new MaxPool2d(2),
                new Conv2d(6, 16, 5, generator: gen), new ReLU(), new MaxPool2d(2),
                new Flatten(),
                new Linear(16 * 5 * 5, 120, generator: gen), new ReLU(),
                new Linear(120, 84, generator: gen), new ReLU(),
                new Linear(84, 10, generator: gen)), [1, 28, 28]),
            // examples/BatchNormCnn/Program.cs
            "bncnn" => (new Sequential(
                new Conv2d(1, 16, 3, padding: 1, generator: gen), new BatchNorm2d(16), new ReLU(), new AvgPool2d(2),
                new Conv2d(16, 32, 3, padding: 1, generator: gen), new BatchNorm2d(32), new ReLU(), new AvgPool2d(2),
                new Flatten(),
                new Linear(32 * 7 * 7, 10, generator: gen)), [1, 28, 28]),
            "every-layer" => (new Sequential(
                ("stem", new Sequential(new Conv2d(3, 8, 3, stride: 1, padding: 1, generator: gen), new BatchNorm2d(8), new LeakyReLU(0.1f),
                                        new MaxPool2d(3, 2, 1, ceilMode: true))),
                ("body", new Sequential(
                    ("a", new Sequential(new Conv2d(8, 8, 3, stride: 2, generator: gen), new GELU(), new Dropout2d(0.2f, gen))),
                    ("pool", new AvgPool2d(3, 1, 1, countIncludePad: false)),
                    ("sig", new Sigmoid()),
                    ("adapt", new AdaptiveAvgPool2d(2)),
                    ("id", new Identity()))),
                ("flatten", new Flatten()),
                ("head", new Sequential(new Linear(32, 16, generator: gen), new BatchNorm1d(16), new GELU("tanh"), new Dropout(0.5f, gen),
                                        new Linear(16, 12, bias: false, generator: gen), new Tanh(), new Linear(12, 10, generator: gen),
                                        new Softmax(1), new LogSoftmax(-1)))), [3, 16, 16]),
            _ => throw new ArgumentException(name),
        };
        if (m.NamedModules().Any(x => x.Module is BatchNorm))
        {
            m.Train();
            using (Tensor.NoGrad())
                for (int i = 0; i < 3; i++) m.Forward(Tensor.Uniform([8, .. input], -1, 2, gen));
        }
        m.Eval();
        return (m, input);
    }

    private static float[] Inputs(int batch, int[] shape, int seed) =>
        Tensor.Uniform([batch, .. shape], -1, 1, new Generator((ulong)seed)).ToArray();

    private static float[] Forward(Module m, float[] x, int batch, int[] shape)
    {
        using (Tensor.NoGrad()) return m.Forward(Tensor.FromArray(x, [batch, .. shape])).ToArray();
    }

    private static float[] RunOrt(string path, float[] x, int batch, int[] shape)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var input = new DenseTensor<float>(x, [batch, .. shape]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), input)]);
        return results.First().AsEnumerable<float>().ToArray();
    }

    private static float MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
    }

    private static string TempDir(string what)
    {
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-tests", $"onnx-{what}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Export_RunsInOnnxRuntime_WithTheSameLogits(string name)
    {
        var (model, shape) = Build(name);
        string path = Path.Combine(TempDir("ort"), name + ".onnx");
        Onnx.Export(model, shape, path);
        foreach (int batch in new[] { 1, 7 })
        {
            var x = Inputs(batch, shape, batch);
            float diff = MaxDiff(Forward(model, x, batch, shape), RunOrt(path, x, batch, shape));
            output.WriteLine($"{name} batch {batch}: max |ScratchNet − ONNX Runtime| = {diff:E2}");
            Assert.True(diff <= 1e-4f, $"{name} batch {batch}: max logit difference {diff}");
        }
    }

    [Fact]
    public void ExportedFiles_PassTheOnnxChecker()
    {
        string dir = TempDir("checker");
        var files = new List<string>();
        foreach (string name in Names)
        {
            var (model, shape) = Build(name);
            files.Add(Path.Combine(dir, name + ".onnx"));
            Onnx.Export(model, shape, files[^1], new OnnxExportOptions { Metadata = new Dictionary<string, string> { ["scratchnet.normalize.mean"] = "[0.5]" } });
        }
        var (code, text) = Python(["check", .. files]);
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Equal(files.Count, text.Split('\n').Count(l => l.StartsWith("ok ")));
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void ImportExportImport_GivesTheSameLogits(string name)
    {
        var (model, shape) = Build(name);
        string dir = TempDir("roundtrip");
        string first = Path.Combine(dir, "a.onnx"), second = Path.Combine(dir, "b.onnx");
        Onnx.Export(model, shape, first);
        var a = Onnx.Import(first);
        Assert.Equal(shape, a.InputShape);
        // Parameter and buffer names survive (num_batches_tracked, which ONNX does not carry, aside).
        Assert.Equal(model.StateDict().Where(p => !p.Name.EndsWith("num_batches_tracked")).Select(p => p.Name),
                     a.Model.StateDict().Where(p => !p.Name.EndsWith("num_batches_tracked")).Select(p => p.Name));
        Onnx.Export(a.Model, a.InputShape, second);
        var b = Onnx.Import(second);
        var x = Inputs(7, shape, 3);
        float[] y0 = Forward(model, x, 7, shape), y1 = Forward(a.Model, x, 7, shape), y2 = Forward(b.Model, x, 7, shape);
        Assert.Equal(y1, y2);
        Assert.True(MaxDiff(y0, y1) <= 1e-6f, $"{name}: import changed the logits by {MaxDiff(y0, y1)}");
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));   // names, attributes and weights all survive
    }

    [Fact]
    public void TorchOnnxExports_ImportWithPyTorchsLogits()
    {
        string dir = TempDir("torch");
        var (code, text) = Python(["torch-export", dir]);
        Assert.True(code == 0, text);
        foreach (var (name, shape) in new[] { ("torch_alexnet", new[] { 3, 32, 32 }), ("torch_bncnn", new[] { 1, 28, 28 }), ("torch_layers", new[] { 3, 20, 20 }) })
        {
            var m = Onnx.Import(Path.Combine(dir, name + ".onnx"));
            Assert.Equal("pytorch", m.Producer);
            output.WriteLine($"{name}: {m.Model}");
            foreach (int batch in new[] { 1, 7 })
            {
                float[] x = Raw(Path.Combine(dir, $"{name}.x{batch}.f32")), y = Raw(Path.Combine(dir, $"{name}.y{batch}.f32"));
                float diff = MaxDiff(y, Forward(m.Model, x, batch, shape));
                output.WriteLine($"{name} batch {batch}: max |ScratchNet − PyTorch| = {diff:E2}");
                Assert.True(diff <= 1e-4f, $"{name} batch {batch}: max logit difference {diff}");
            }
        }
        // The lecture's AlexNet comes back under the names of ScratchNet's AlexNet, so its checkpoint loads.
        var alex = Onnx.Import(Path.Combine(dir, "torch_alexnet.onnx"));
        var reference = new AlexNet(10);
        Assert.Equal(reference.StateDict().Select(p => (p.Name, string.Join(",", p.Tensor.Shape))),
                     alex.Model.StateDict().Select(p => (p.Name, string.Join(",", p.Tensor.Shape))));
    }

    private static float[] Raw(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var f = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, f, 0, bytes.Length);
        return f;
    }

    private sealed class Custom : Module
    {
        public override Tensor Forward(Tensor x) => x * 2f;
    }

    [Fact]
    public void Export_OfAnUnknownModule_NamesItAndItsPath()
    {
        var model = new Sequential(("features", new Sequential(new Linear(4, 4), new Custom())), ("head", new Linear(4, 2)));
        var e = Assert.Throws<ArgumentException>(() => Onnx.ToOnnx(model, [4]));
        Assert.Contains("'features.1' (Custom)", e.Message);
    }

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = ScratchNet.Cli.CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Cli_ExportThenImport_GivesARunThatEvalAndResumeUse()
    {
        string dir = TempDir("cli"), run = Path.Combine(dir, "run"), back = Path.Combine(dir, "back"), file = Path.Combine(dir, "seed.onnx");
        var options = new TrainOptions { Model = "seedcnn", OutDir = run, Device = "cpu" };
        var model = new SeedCnn(10, new Generator(9));
        var classes = Enumerable.Range(0, 10).Select(i => "class" + i).ToList();
        Directory.CreateDirectory(run);
        Checkpoint.Save(run, options, model, new ScratchNet.optim.SGD(model.Parameters(), 0.01f), 1, 0, 5, [], classes);

        var (code, text, err) = Cli("export", run, "--onnx", file);
        Assert.True(code == 0, err);
        Assert.Contains("mean 0.5 and std 0.5", text);
        var meta = Onnx.Import(file).Metadata;
        Assert.Equal("[0.5]", meta["scratchnet.normalize.mean"]);
        Assert.Equal("seedcnn", meta["scratchnet.model"]);

        (code, text, err) = Cli("import", file, "--out", back);
        Assert.True(code == 0, err);
        Assert.Contains("as seedcnn", text);
        var loaded = Checkpoint.LoadModel(back, Device.Cpu);
        Assert.Equal(classes, loaded.Classes);
        Assert.Equal(model.StateDict().Select(p => p.Tensor.ToArray()), loaded.Model.StateDict().Select(p => p.Tensor.ToArray()));

        (code, text, err) = Cli("eval", back, "--device", "cpu");
        Assert.True(code == 0, err);
        (code, text, err) = Cli("train", "seedcnn", "--resume", "--out", back, "--epochs", "1", "--max-steps", "2", "--device", "cpu");
        Assert.True(code == 0, err + text);

        // Any other image model: the graph is kept as the run's architecture (model kind "onnx"); eval, predict, resume and
        // export work on it, and what it learns is in model.safetensors.
        string other = Path.Combine(dir, "bncnn.onnx"), otherRun = Path.Combine(dir, "other"), again = Path.Combine(dir, "again.onnx");
        var (bn, bnShape) = Build("bncnn");
        Onnx.Export(bn, bnShape, other);
        (code, text, err) = Cli("import", other, "--out", otherRun);
        Assert.True(code == 0, err);
        Assert.Contains("as onnx", text);
        (code, _, err) = Cli("eval", otherRun, "--device", "cpu");
        Assert.True(code == 0, err);
        var x = Inputs(7, bnShape, 4);
        Assert.Equal(Forward(bn, x, 7, bnShape), Forward(Checkpoint.LoadModel(otherRun, Device.Cpu).Model, x, 7, bnShape));
        (code, text, err) = Cli("train", "--resume", "--out", otherRun, "--epochs", "1", "--max-steps", "2", "--device", "cpu");
        Assert.True(code == 0, err + text);
        var tuned = Checkpoint.LoadModel(otherRun, Device.Cpu).Model;
        Assert.NotEqual(Forward(bn, x, 7, bnShape), Forward(tuned, x, 7, bnShape));   // two SGD steps moved the weights
        (code, _, err) = Cli("export", otherRun, "--onnx", again);
        Assert.True(code == 0, err);
        Assert.Equal(Forward(tuned, x, 7, bnShape), Forward(Onnx.Import(again).Model, x, 7, bnShape));

        // A model whose input is not an image: one line naming the file and saying what to do.
        string mlp = Path.Combine(dir, "xor.onnx");
        Onnx.Export(Build("mlp").Model, [2], mlp);
        (code, _, err) = Cli("import", mlp, "--out", Path.Combine(dir, "xor"));
        Assert.Equal(1, code);
        Assert.Contains(mlp, err);
        Assert.Contains("Onnx.Import", err);

        // Inputs normalised otherwise than runs do: refused, not silently fed the wrong inputs.
        string norm = Path.Combine(dir, "norm.onnx");
        Onnx.Export(Build("seedcnn").Model, [1, 28, 28], norm, new OnnxExportOptions { Metadata = new Dictionary<string, string> { ["scratchnet.normalize.mean"] = "[0.1307]" } });
        (code, _, err) = Cli("import", norm, "--out", Path.Combine(dir, "norm"));
        Assert.Equal(1, code);
        Assert.Contains("normalised with mean [0.1307]", err);
    }

    // ---------------------------------------------------------------- bad graphs, each refused naming the file and the node

    private static OnnxModel SeedModel() => Onnx.ToOnnx(Build("seedcnn").Model, [1, 28, 28]);

    private static string Refused(OnnxModel m, string what)
    {
        string path = Path.Combine(TempDir("bad"), what + ".onnx");
        File.WriteAllBytes(path, m.ToBytes());
        var e = Assert.Throws<DataFormatException>(() => Onnx.Import(path));
        Assert.Contains(path, e.Message);
        return e.Message;
    }

    [Fact]
    public void BadGraphs_AreRefused_NamingTheNodeAndTheOp()
    {
        var m = SeedModel();
        m.Graph.Nodes[1].OpType = "Selu";
        Assert.Contains("node '/1/Relu' (Selu): operator Selu is not supported", Refused(m, "op"));

        m = SeedModel();   // a cycle: the first conv takes the last node's output
        m.Graph.Nodes[0].Inputs[0] = m.Graph.Nodes[^1].Outputs[0];
        Assert.Contains("cycle", Refused(m, "cycle"));

        m = SeedModel();
        m.Graph.Initializers.RemoveAll(t => t.Name == "3.weight");
        Assert.Contains("node '/3/Conv' (Conv): input '3.weight' is no initializer", Refused(m, "missing"));

        m = SeedModel();
        m.Graph.Inputs[0].Shape = [null, 1, 1L << 40, 28];
        Assert.Contains("exceeds", Refused(m, "huge"));

        m = SeedModel();
        m.Graph.Nodes[0].Attributes["strides"] = OnnxAttribute.Float("strides", 2f);
        Assert.Contains("node '/0/Conv' (Conv): attribute 'strides' has type 1, expected 7", Refused(m, "type"));

        m = SeedModel();   // a branch: the second conv reads the first conv's output, skipping the ReLU and pool
        m.Graph.Nodes[3].Inputs[0] = m.Graph.Nodes[0].Outputs[0];
        Assert.Contains("node '/1/Relu' (Relu): its input '/0/Conv_output_0' also feeds '/3/Conv' (Conv); ScratchNet imports chains of layers (no branches)", Refused(m, "branch"));

        m = SeedModel();
        m.Graph.Initializers.First(t => t.Name == "0.weight").Floats = null;
        m.Graph.Initializers.First(t => t.Name == "0.weight").Longs = new long[200];
        m.Graph.Initializers.First(t => t.Name == "0.weight").DataType = OnnxTensor.INT64;
        Assert.Contains("node '/0/Conv' (Conv): weight '0.weight' is not a float32 tensor", Refused(m, "dtype"));

        string path = Path.Combine(TempDir("trunc"), "t.onnx");
        File.WriteAllBytes(path, SeedModel().ToBytes()[..5000]);
        var e = Assert.Throws<DataFormatException>(() => Onnx.Import(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    // ---------------------------------------------------------------- Python (Debian's python3-onnx, python3-torch)

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "ScratchNet.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("repository root (ScratchNet.sln) not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Output) Python(string[] args)
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(RepoRoot(), "bench", "baselines", "onnx_tools.py"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + stderr.Result + (p.ExitCode != 0 ? "\n(needs Debian's python3-onnx and python3-torch: apt-get install python3-onnx python3-torch)" : ""));
    }
}
