// Data-parallel training written by hand, the way a PyTorch user writes a DDP script: one process per rank, started by
// Open MPI's mpirun; each rank trains its shard of every epoch; DistributedDataParallel averages the gradients during backward.
//
//   dotnet build -c Release examples/DistributedTraining        # once: N copies of `dotnet run` would build at the same time
//   mpirun -np 2 dotnet examples/DistributedTraining/bin/Release/net10.0/DistributedTraining.dll --steps 200
//   (as root add --allow-run-as-root; more ranks than cores: --oversubscribe)
//
// Options: --model seedcnn|alexnet|bncnn, --width W (AlexNet's channel multiplier), --dropout P (AlexNet), --batch B (per rank),
// --steps K, --train-limit N, --lr, --device, --save FILE (rank 0 writes the final state dict as safetensors; a FILE with
// "{rank}" in it: every rank writes its own, e.g. to see that BatchNorm's running statistics stay local), --bucket-mb MB,
// --profile (step time, all-reduce time alone, and how much of it backward hid).
using ScratchNet;
using ScratchNet.data;
using ScratchNet.distributed;
using ScratchNet.io;
using ScratchNet.Models;
using ScratchNet.nn;
using ScratchNet.optim;

string Arg(string name, string fallback) => args.Contains(name) ? args[Array.IndexOf(args, name) + 1] : fallback;
string modelName = Arg("--model", "seedcnn");
int steps = int.Parse(Arg("--steps", "200")), batchSize = int.Parse(Arg("--batch", "32"));
int trainLimit = int.Parse(Arg("--train-limit", "0"));
float lr = float.Parse(Arg("--lr", "0.01"), System.Globalization.CultureInfo.InvariantCulture);
var device = Device.Get(Arg("--device", "cpu"));

// torch.distributed.init_process_group("mpi"): rank and world size come from mpirun.
Distributed.InitProcessGroup();
int rank = Distributed.GetRank(), world = Distributed.GetWorldSize();
var log = rank == 0 ? Console.Out : TextWriter.Null;

// The data. AlexNet-CIFAR takes [3, 32, 32]: Fashion-MNIST's 28×28 is padded and repeated to three channels.
var train = Datasets.FashionMnist(train: true);
if (trainLimit > 0) train = train.Subset(Enumerable.Range(0, trainLimit).ToArray());
Transform transform = modelName == "alexnet"
    ? new Compose(new PadTo(32, 32), new RepeatChannels(3), new Normalize(0.5f, 0.5f))
    : new Normalize(0.5f, 0.5f);
// Every rank shuffles with the same seed; DistributedSampler gives rank r the positions r, r + N, ... of each epoch's order.
var loader = new DataLoader(train, batchSize, shuffle: true, seed: 1, transform: transform, sampler: new DistributedSampler(world, rank));

// The model: the same seed everywhere, and DistributedDataParallel broadcasts rank 0's weights anyway.
var gen = new Generator(0);
Module net = modelName switch
{
    "alexnet" => new AlexNet(10, gen, device, dropout: float.Parse(Arg("--dropout", "0.5"), System.Globalization.CultureInfo.InvariantCulture),
                             width: float.Parse(Arg("--width", "1"), System.Globalization.CultureInfo.InvariantCulture)),
    // conv – BatchNorm2d – ReLU – AvgPool2d – linear: BatchNorm normalises with each rank's own batch and keeps its own
    // running statistics (as DDP with broadcast_buffers=False); only the gradients are averaged.
    "bncnn" => new Sequential(new Conv2d(1, 8, 3, padding: 1, generator: gen, device: device), new BatchNorm2d(8, device: device), new ReLU(),
                              new AvgPool2d(2), new Flatten(), new Linear(8 * 14 * 14, 10, generator: gen, device: device)),
    _ => new SeedCnn(10, gen, device),
};
// --bucket-mb: PyTorch's bucket_cap_mb (25); a cap above the model's size makes one bucket, all-reduced after backward (no overlap).
using var model = new DistributedDataParallel(net, double.Parse(Arg("--bucket-mb", "25"), System.Globalization.CultureInfo.InvariantCulture));
var optimizer = new SGD(model.Parameters(), lr, momentum: 0.9f, weightDecay: 5e-4f);
log.WriteLine($"{modelName}: {world} rank(s) × batch {batchSize}, buckets: {string.Join(", ", model.Buckets.Select(b => $"{b.Mb:F1} MB"))}");

// --profile: per step, the time backward left the all-reduces to finish (exposed), then the same buckets all-reduced alone.
bool profile = args.Contains("--profile");
var stepClock = new System.Diagnostics.Stopwatch();
var stepMs = new List<double>();
var exposedMs = new List<double>();

int step = 0;
for (int epoch = 0; step < steps; epoch++)
{
    foreach (var batch in loader.Epoch(epoch))
    {
        if (profile) { Distributed.Barrier(); stepClock.Restart(); }
        using var scope = new TensorScope();
        var (x, y) = batch.ToTensors(device);
        optimizer.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(x), y);
        loss.Backward();                       // the buckets' all-reduces run during backward; .Grad is the mean over ranks here
        optimizer.Step();
        if (profile)
        {
            stepMs.Add(stepClock.Elapsed.TotalMilliseconds);
            // The slowest rank's wait: a rank that finishes backward late finds its peers' share of the reduction done.
            var wait = new[] { model.LastExposedWait.TotalMilliseconds };
            Distributed.AllReduce(wait, ReduceOp.Max);
            exposedMs.Add(wait[0]);
        }
        // The mean loss over all ranks' images, for the log.
        var sums = new double[] { loss.Item() * batch.Size, batch.Size };
        Distributed.AllReduce(sums);
        if (++step % 50 == 0 || step == steps) log.WriteLine($"step {step}: loss {sums[0] / sums[1]:F4}");
        if (step == steps) break;
    }
}

if (profile)
{
    // The communication alone: each bucket's size all-reduced in turn, as DDP issues them, with nothing to overlap.
    var buffers = model.Buckets.Select(b => Tensor.Zeros([(int)(b.Mb * 1024 * 1024 / 4)], Device.Cpu)).ToList();
    var alone = new List<double>();
    for (int r = 0; r < 5; r++)
    {
        Distributed.Barrier();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var t in buffers) Distributed.AllReduce(t);
        alone.Add(clock.Elapsed.TotalMilliseconds);
    }
    // The first steps include the JIT; the median of the rest.
    static double Median(IEnumerable<double> v) { var s = v.Order().ToArray(); return s.Length == 0 ? double.NaN : s[s.Length / 2]; }
    double step0 = Median(stepMs.Skip(2)), exposed = Median(exposedMs.Skip(2)), comm = Median(alone);
    log.WriteLine($"profile: {net.ParameterCount:N0} parameters in {model.Buckets.Count} buckets; step {step0:F1} ms, all-reduce alone {comm:F1} ms, " +
                  $"exposed after backward (largest over ranks) {exposed:F1} ms, hidden {(world > 1 ? Math.Clamp(1 - exposed / comm, 0, 1).ToString("P0") : "n/a (1 rank)")} (medians over steps 3..{steps})");
}

if (Arg("--save", "") is { Length: > 0 } file && (rank == 0 || file.Contains("{rank}")))
    Safetensors.Save(file.Replace("{rank}", rank.ToString()), net.StateDict(), new Dictionary<string, string> { ["format"] = "pt" });
Distributed.DestroyProcessGroup();
