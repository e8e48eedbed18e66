// LeNet-5 (LeCun et al. 1998) on Fashion-MNIST, written from scratch with a hand-written training loop, the way a
// PyTorch user would write it. Run: dotnet run -c Release --project examples/LeNet5 [-- --steps N --device cpu]
using ScratchNet;
using ScratchNet.data;
using ScratchNet.nn;
using ScratchNet.optim;

int steps = args.Contains("--steps") ? int.Parse(args[Array.IndexOf(args, "--steps") + 1]) : 600;
var device = Device.Get(args.Contains("--device") ? args[Array.IndexOf(args, "--device") + 1] : "cpu");

// The data: Fashion-MNIST's embedded subset ships with the package ([N, 1, 28, 28] floats in [0, 1]).
var train = Datasets.FashionMnist(train: true);
var test = Datasets.FashionMnist(train: false);
var normalize = new Normalize(0.5f, 0.5f);
var trainLoader = new DataLoader(train, batchSize: 64, shuffle: true, seed: 1, transform: normalize);
var testLoader = new DataLoader(test, batchSize: 256, transform: normalize);

// The network: two convolutions with pooling, three fully connected layers (28×28 → 28 → 14 → 10 → 5).
var gen = new Generator(0);
var model = new Sequential(
    new Conv2d(1, 6, 5, padding: 2, generator: gen, device: device), new ReLU(), new MaxPool2d(2),
    new Conv2d(6, 16, 5, generator: gen, device: device), new ReLU(), new MaxPool2d(2),
    new Flatten(),
    new Linear(16 * 5 * 5, 120, generator: gen, device: device), new ReLU(),
    new Linear(120, 84, generator: gen, device: device), new ReLU(),
    new Linear(84, 10, generator: gen, device: device));
var optimizer = new SGD(model.Parameters(), lr: 0.05f, momentum: 0.9f);

// The loop: zero_grad, forward, loss, backward, step. A TensorScope gives each step's intermediates back to the
// device's memory pool when the step ends (see docs/LIBRARY.md, "Memory").
int step = 0;
for (int epoch = 0; step < steps; epoch++)
{
    foreach (var batch in trainLoader.Epoch(epoch))
    {
        using var scope = new TensorScope();
        var (x, y) = batch.ToTensors(device);
        optimizer.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        optimizer.Step();
        if (++step % 100 == 0 || step == steps) Console.WriteLine($"step {step}: loss {loss.Item():F4}");
        if (step == steps) break;
    }
}

// Evaluation: no graph, dropout and friends in eval mode.
model.Eval();
long correct = 0;
using (Tensor.NoGrad())
    foreach (var batch in testLoader.Epoch(0))
    {
        using var scope = new TensorScope();
        var (x, y) = batch.ToTensors(device);
        correct += F.CountCorrect(model.Forward(x), y);
    }
Console.WriteLine($"test accuracy {(double)correct / test.Count:P2} after {steps} steps on {device}");
