// A PyTorch user's port: a small CNN with batch normalisation and average pooling on Fashion-MNIST, written as one would in
// PyTorch, with PyTorch's default initialisation and a fixed recipe (SGD lr 0.05, momentum 0.9, batch 64, 2 epochs, inputs
// normalised with mean 0.5 and std 0.5, no augmentation). bench/baselines/torch_bn_port.py is the same network and recipe in
// PyTorch, reading the same files; bench/results/cpu-2core/batchnorm-port.md has both accuracies.
// Run: dotnet run -c Release --project examples/BatchNormCnn [-- --epochs 2 --steps N --seed 0 --device cpu]
using System.Diagnostics;
using ScratchNet;
using ScratchNet.data;
using ScratchNet.nn;
using ScratchNet.optim;

string Arg(string name, string fallback) => args.Contains(name) ? args[Array.IndexOf(args, name) + 1] : fallback;
int epochs = int.Parse(Arg("--epochs", "2"));
int maxSteps = int.Parse(Arg("--steps", "0"));   // 0: the whole recipe
ulong seed = ulong.Parse(Arg("--seed", "0"));
var device = Device.Get(Arg("--device", "cpu"));

// The embedded Fashion-MNIST subset: 12,000 training and 2,000 test images, [N, 1, 28, 28] in [0, 1].
var train = Datasets.FashionMnist(train: true, DataSource.Subset);
var test = Datasets.FashionMnist(train: false, DataSource.Subset);
var normalize = new Normalize(0.5f, 0.5f);
var trainLoader = new DataLoader(train, batchSize: 64, shuffle: true, seed: seed, transform: normalize);
var testLoader = new DataLoader(test, batchSize: 256, transform: normalize);

// conv-bn-relu-avgpool twice (28 → 14 → 7), then one linear layer: PyTorch's
//   nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
//                 nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
//                 nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
var gen = new Generator(seed);
var model = new Sequential(
    new Conv2d(1, 16, 3, padding: 1, generator: gen, device: device), new BatchNorm2d(16, device: device), new ReLU(), new AvgPool2d(2),
    new Conv2d(16, 32, 3, padding: 1, generator: gen, device: device), new BatchNorm2d(32, device: device), new ReLU(), new AvgPool2d(2),
    new Flatten(),
    new Linear(32 * 7 * 7, 10, generator: gen, device: device));
var optimizer = new SGD(model.Parameters(), lr: 0.05f, momentum: 0.9f);
var criterion = new CrossEntropyLoss();
Console.WriteLine(model);

int step = 0;
var clock = Stopwatch.StartNew();
for (int epoch = 0; epoch < epochs && (maxSteps == 0 || step < maxSteps); epoch++)
{
    model.Train();
    foreach (var batch in trainLoader.Epoch(epoch))
    {
        using var scope = new TensorScope();
        var (x, y) = batch.ToTensors(device);
        optimizer.ZeroGrad();
        var loss = criterion.Forward(model.Forward(x), y);
        loss.Backward();
        optimizer.Step();
        if (++step % 50 == 0 || step == maxSteps) Console.WriteLine($"epoch {epoch + 1} step {step}: loss {loss.Item():F4}");
        if (step == maxSteps) break;
    }
}
double trainSeconds = clock.Elapsed.TotalSeconds;

// Evaluation mode: BatchNorm normalises with its running statistics.
model.Eval();
long correct = 0;
using (Tensor.NoGrad())
    foreach (var batch in testLoader.Epoch(0))
    {
        using var scope = new TensorScope();
        var (x, y) = batch.ToTensors(device);
        correct += F.CountCorrect(model.Forward(x), y);
    }
Console.WriteLine($"test accuracy {100.0 * correct / test.Count:F2}% ({correct}/{test.Count}) after {step} steps on {device}, training {trainSeconds:F1} s");
