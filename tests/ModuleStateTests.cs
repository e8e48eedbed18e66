using ScratchNet.io;
using ScratchNet.Models.Training;
using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Tests;

// Module.To(device) in place (an optimizer created before the move keeps training, its state follows) and buffers
// (RegisterBuffer: they move, appear in the state dict under PyTorch's names, and are saved and loaded with the weights).
public class ModuleStateTests
{
    /// <summary>A test-only layer with buffers, shaped like BatchNorm: running_mean (persistent, updated in Forward under
    /// NoGrad), num_batches_tracked (Int32, persistent) and a non-persistent scratch buffer.</summary>
    private sealed class RunningMean : Module
    {
        public RunningMean(int features, Device? device = null)
        {
            RegisterParameter("weight", Tensor.Ones([features, features], device));
            RegisterBuffer("running_mean", Tensor.Zeros([features], device));
            RegisterBuffer("num_batches_tracked", Tensor.Labels([0], device));
            RegisterBuffer("scratch", Tensor.Zeros([2], device), persistent: false);
        }

        public Tensor Mean => GetBuffer("running_mean");

        public override Tensor Forward(Tensor x)
        {
            if (Training)
                using (Tensor.NoGrad())
                {
                    // running_mean ← 0.9·running_mean + 0.1·(column mean of x), kept in the buffer's own storage.
                    var m = F.MatMul(Tensor.Full([1, x.Shape[0]], 1f / x.Shape[0], x.Device), x).Reshape(x.Shape[1]);
                    var updated = (Mean * 0.9f + m * 0.1f).ToArray();
                    Mean.CopyFrom(updated);
                }
            return F.Linear(x, GetParameter("weight"), null);
        }
    }

    private sealed class Net : Module
    {
        public Net(Device? device = null)
        {
            Fc = RegisterModule("fc", new Linear(3, 2, generator: new Generator(1), device: device));
            Bn = RegisterModule("bn", new RunningMean(2, device));
        }

        public Linear Fc { get; }
        public RunningMean Bn { get; }
        public override Tensor Forward(Tensor x) => Bn.Forward(Fc.Forward(x));
    }

    [Fact]
    public void To_MovesInPlace_AndAnOptimizerCreatedBeforeStillTrains_WithItsStateFollowing()
    {
        var gen = new Generator(3);
        var model = new Sequential(new Linear(4, 8, generator: gen), new ReLU(), new Linear(8, 3, generator: gen));
        var parameters = model.Parameters().ToList();
        var opt = new SGD(model.Parameters(), 0.1f, momentum: 0.9f);
        var xs = TestUtil.RandomArray(new Generator(4), 5 * 4);
        int[] labels = [0, 1, 2, 1, 0];
        // The same seed draws the same weights: the reference never moves.
        var refGen = new Generator(3);
        var reference = new Sequential(new Linear(4, 8, generator: refGen), new ReLU(), new Linear(8, 3, generator: refGen));
        var refOpt = new SGD(reference.Parameters(), 0.1f, momentum: 0.9f);

        void Step(Module m, Optimizer o)
        {
            using var scope = new TensorScope();
            var d = m.Device;
            o.ZeroGrad();
            F.CrossEntropy(m.Forward(Tensor.FromArray(xs, [5, 4], d)), Tensor.Labels(labels, d)).Backward();
            o.Step();
        }

        for (int i = 0; i < 2; i++) { Step(model, opt); Step(reference, refOpt); }
        var ilgpu = Device.Get("ilgpu-cpu");
        model.To(ilgpu);
        Assert.Equal(parameters, model.Parameters());                       // the same objects, moved
        Assert.All(parameters, p => Assert.Equal(ilgpu, p.Device));
        Assert.All(parameters, p => Assert.Equal(ilgpu, p.Grad!.Device));   // gradients move with them
        var before = parameters.Select(p => p.ToArray()).ToList();
        for (int i = 0; i < 3; i++) { Step(model, opt); Step(reference, refOpt); }
        Assert.Equal(5, opt.StepCount);
        for (int i = 0; i < parameters.Count; i++)
        {
            Assert.NotEqual(before[i], parameters[i].ToArray());           // the optimizer made before To() changes the weights
            // ... exactly as an optimizer that never moved: the momentum buffers followed the parameters.
            TestUtil.AssertClose(reference.Parameters().ElementAt(i).ToArray(), parameters[i].ToArray(), 1e-5f, 1e-4f, $"parameter {i}");
        }
        Assert.All(opt.StateTensors(), s => Assert.Equal(ilgpu, s.Item2.Device));

        model.To(Device.Cpu);
        Step(model, opt);
        Assert.All(opt.StateTensors(), s => Assert.Equal(Device.Cpu, s.Item2.Device));
    }

    [Fact]
    public void Buffers_HaveTheirPaths_MoveWithTo_AndOnlyPersistentOnesAreInTheStateDict()
    {
        var net = new Net();
        Assert.Equal(["bn.running_mean", "bn.num_batches_tracked", "bn.scratch"], net.NamedBuffers().Select(b => b.Name));
        Assert.Equal(["bn.running_mean", "bn.num_batches_tracked", "bn.scratch"], net.Buffers().Select(b => b.Name));
        // PyTorch's state_dict order: each module's parameters, then its persistent buffers, then its children.
        Assert.Equal(["fc.weight", "fc.bias", "bn.weight", "bn.running_mean", "bn.num_batches_tracked"], net.StateDict().Select(s => s.Name));
        Assert.All(net.Buffers(), b => Assert.False(b.RequiresGrad));
        Assert.DoesNotContain(net.Buffers(), b => net.Parameters().Contains(b));

        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        net.Forward(x);
        var mean = net.Bn.Mean.ToArray();
        Assert.NotEqual([0f, 0f], mean);

        var ilgpu = Device.Get("ilgpu-cpu");
        var buffer = net.Bn.Mean;
        net.To(ilgpu);
        Assert.Same(buffer, net.Bn.Mean);
        Assert.All(net.Buffers(), b => Assert.Equal(ilgpu, b.Device));
        Assert.Equal(mean, net.Bn.Mean.ToArray());
        net.Forward(x.To(ilgpu));                                             // the layer updates its buffer on the new device
        Assert.Equal(ilgpu, net.Device);

        var bad = Assert.Throws<ArgumentException>(() => new BadBuffer());
        Assert.Contains("already used", bad.Message);
    }

    private sealed class BadBuffer : Module
    {
        public BadBuffer()
        {
            RegisterParameter("w", Tensor.Ones([1]));
            RegisterBuffer("w", Tensor.Ones([1]));
        }
        public override Tensor Forward(Tensor x) => x;
    }

    [Fact]
    public void Buffers_AreSavedAndLoadedWithTheWeights_IncludingPyTorchsInt64Counters()
    {
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-tests", "buffers-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var net = new Net();
        net.Forward(Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]));
        var saved = net.StateDict().ToDictionary(s => s.Name, s => s.Tensor.DType == Kernels.DType.Float32 ? s.Tensor.ToArray() : s.Tensor.ToIntArray().Select(v => (float)v).ToArray());

        string path = Path.Combine(dir, "model.safetensors");
        Safetensors.Save(path, net.StateDict());
        var file = Safetensors.Load(path);
        Assert.Equal(net.StateDict().Select(s => s.Name).Order(), file.Tensors.Keys.Order());
        Assert.Equal("I32", file["bn.num_batches_tracked"].DType);

        var fresh = new Net(Device.Get("ilgpu-cpu"));
        Safetensors.LoadInto(path, fresh.StateDict());
        foreach (var (name, t) in fresh.StateDict())
            Assert.Equal(saved[name], t.DType == Kernels.DType.Float32 ? t.ToArray() : t.ToIntArray().Select(v => (float)v).ToArray());

        // A file as PyTorch writes it: num_batches_tracked is int64.
        var torchLike = new Dictionary<string, SafeTensor>
        {
            ["fc.weight"] = SafeTensor.FromFloats(new float[6], 2, 3), ["fc.bias"] = SafeTensor.FromFloats([1f, 2f], 2),
            ["bn.weight"] = SafeTensor.FromFloats([3f, 4f, 5f, 6f], 2, 2), ["bn.running_mean"] = SafeTensor.FromFloats([0.5f, -0.5f], 2),
            ["bn.num_batches_tracked"] = SafeTensor.FromLongs([7L], 1),
        };
        string torchPath = Path.Combine(dir, "torch.safetensors");
        Safetensors.Save(torchPath, torchLike);
        Safetensors.LoadInto(torchPath, fresh.StateDict());
        Assert.Equal([0.5f, -0.5f], fresh.Bn.Mean.ToArray());
        Assert.Equal([7], fresh.NamedBuffers().Single(b => b.Name == "bn.num_batches_tracked").Buffer.ToIntArray());

        // The training checkpoint saves and restores buffers too.
        var options = new TrainOptions { Model = "mlp", OutDir = dir, Epochs = 1 };
        var opt = new SGD(net.Parameters(), 0.1f, momentum: 0.9f);
        Checkpoint.Save(dir, options, net, opt, 1, 0, 1, [], ["a", "b"]);
        var restored = new Net();
        Checkpoint.Load(dir, restored, new SGD(restored.Parameters(), 0.1f, momentum: 0.9f), options, out _);
        Assert.Equal(saved["bn.running_mean"], restored.Bn.Mean.ToArray());
        Directory.Delete(dir, recursive: true);
    }
}
