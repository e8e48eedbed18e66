// Your own op with your own backward, like torch.autograd.Function: Swish, y = x·σ(x), written once with a
// hand-derived gradient, checked against finite differences, then used in a network and trained.
// Run: dotnet run -c Release --project examples/CustomOp [-- --steps N --device cpu]
using ScratchNet;
using ScratchNet.autograd;
using ScratchNet.data;
using ScratchNet.nn;
using ScratchNet.optim;

int steps = args.Contains("--steps") ? int.Parse(args[Array.IndexOf(args, "--steps") + 1]) : 300;
var device = Device.Get(args.Contains("--device") ? args[Array.IndexOf(args, "--device") + 1] : "cpu");

// 1. The gradient against central finite differences, on every input coordinate.
var x = Tensor.FromArray([-3f, -1f, -0.2f, 0f, 0.3f, 1f, 2.5f, 4f], [2, 4], device);
x.RequiresGrad = true;
var report = GradCheck.Run(new Swish(), [x]);
Console.WriteLine($"gradcheck of Swish: {(report.Passed ? "PASSED" : "FAILED")}");
if (!report.Passed) return 1;

// 2. The op in a model: an MLP with Swish between its layers, trained on Fashion-MNIST.
var gen = new Generator(0);
var model = new Sequential(new Flatten(),
    new Linear(784, 128, generator: gen, device: device), new SwishLayer(),
    new Linear(128, 10, generator: gen, device: device));
var opt = new SGD(model.Parameters(), lr: 0.1f, momentum: 0.9f);
var train = new DataLoader(Datasets.FashionMnist(train: true), 64, shuffle: true, seed: 1, transform: new Normalize(0.5f, 0.5f));
int step = 0;
for (int epoch = 0; step < steps; epoch++)
    foreach (var batch in train.Epoch(epoch))
    {
        using var scope = new TensorScope();
        var (images, labels) = batch.ToTensors(device);
        opt.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(images), labels);
        loss.Backward();
        opt.Step();
        if (++step % 100 == 0 || step == steps) Console.WriteLine($"step {step}: loss {loss.Item():F4}");
        if (step == steps) break;
    }
return 0;

/// <summary>Swish (SiLU), y = x·σ(x), with dy/dx = σ(x)·(1 + x·(1 − σ(x))): the forward saves x and σ(x) for it.</summary>
sealed class Swish : Function
{
    protected override Tensor Forward(FunctionContext ctx, Tensor[] inputs)
    {
        var x = inputs[0];
        var s = F.Sigmoid(x);
        ctx.SaveForBackward(x, s);
        return x * s;
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput)
    {
        var (x, s) = (ctx.SavedTensors[0], ctx.SavedTensors[1]);
        return [gradOutput * s * (1f + x * (1f - s))];   // one gradient per input
    }
}

/// <summary>The op as a layer.</summary>
sealed class SwishLayer : Module
{
    public override Tensor Forward(Tensor x) => new Swish().Apply(x);
}
