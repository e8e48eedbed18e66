using System.Diagnostics;
using System.Globalization;
using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Bench;

/// <summary>
/// The plain PyTorch-style loop (no TensorScope: the engine releases each step's intermediates itself, see
/// <see cref="TensorMemory"/>) against the scoped loop, on a LeNet-5 (conv 6 → pool → conv 16 → pool → 120 → 84 → 10, 28×28
/// input) trained with SGD: img/s in alternating rounds, the allocator's peak bytes in use and the GC heap's peak over the
/// same steps. The targets of issue 14: time ≤ 1.2× and peak memory ≤ 2× the scoped loop's.
/// </summary>
public static class MemoryBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One side's figures: best and median img/s over the rounds, peak device bytes in use, peak GC heap bytes.</summary>
    public sealed record Side(double Best, double Median, long PeakDeviceBytes, long PeakGcBytes);

    /// <summary>A LeNet-5 for 28×28 grey images, 10 classes.</summary>
    public static Module LeNet(Generator gen, Device device) => new Sequential(
        new Conv2d(1, 6, 5, padding: 2, generator: gen, device: device), new ReLU(), new MaxPool2d(2),
        new Conv2d(6, 16, 5, generator: gen, device: device), new ReLU(), new MaxPool2d(2), new Flatten(),
        new Linear(400, 120, generator: gen, device: device), new ReLU(),
        new Linear(120, 84, generator: gen, device: device), new ReLU(),
        new Linear(84, 10, generator: gen, device: device));

    /// <summary>Measures both loops on <paramref name="device"/>: <paramref name="rounds"/> alternating rounds of
    /// <paramref name="steps"/> steps at batch <paramref name="batch"/>. Returns (plain, scoped).</summary>
    public static (Side Plain, Side Scoped) Measure(Device device, int batch, int steps, int rounds)
    {
        var gen = new Generator(0);
        var model = LeNet(gen, device);
        var opt = new SGD(model.Parameters(), 0.01f, momentum: 0.9f, weightDecay: 5e-4f);
        var x = Tensor.Randn([batch, 1, 28, 28], gen, device);
        var rng = new Random(0);
        var y = Tensor.Labels(Enumerable.Range(0, batch).Select(_ => rng.Next(10)).ToArray(), device);

        var peaks = new Dictionary<bool, (long Device, long Gc)> { [true] = (0, 0), [false] = (0, 0) };
        double Round(bool scoped)
        {
            // Start each side from the same state: the other side's leftovers back in the pool, the peak restarted.
            GC.Collect(); GC.WaitForPendingFinalizers(); TensorMemory.Collect(full: true);
            device.Backend.ResetPeakMemory();
            long gcPeak = 0;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++)
            {
                if (scoped)
                {
                    using var scope = new TensorScope();
                    Step(model, opt, x, y);
                }
                else Step(model, opt, x, y);
                gcPeak = Math.Max(gcPeak, GC.GetTotalMemory(false));
            }
            device.Synchronize();
            double imgs = steps * (double)batch / sw.Elapsed.TotalSeconds;
            var p = peaks[scoped];
            peaks[scoped] = (Math.Max(p.Device, device.Memory.PeakBytesInUse), Math.Max(p.Gc, gcPeak));
            return imgs;
        }

        for (int i = 0; i < Math.Min(steps, 20); i++) Step(model, opt, x, y);   // warm-up: JIT, pools
        var (plain, scopedRounds) = Timing.Alternate(rounds, () => Round(false), () => Round(true));
        return (new Side(plain.Max(), Timing.Median(plain), peaks[false].Device, peaks[false].Gc),
                new Side(scopedRounds.Max(), Timing.Median(scopedRounds), peaks[true].Device, peaks[true].Gc));
    }

    private static void Step(Module model, Optimizer opt, Tensor x, Tensor y)
    {
        opt.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        opt.Step();
    }

    /// <summary>The bench's items for one device, each with the scoped loop as its baseline: img/s of the loop without scope
    /// (section "train"), its peak device MiB and peak GC heap MiB (section "peak": lower is better). Nothing on the ILGPU
    /// simulator (too slow to time a loop).</summary>
    public static IEnumerable<BenchItem> Items(Device device, BenchOptions o, TextWriter log)
    {
        if (device.Name == "ilgpu-cpu") yield break;
        int batch = 64, steps = o.Tiny ? 5 : o.Quick ? 100 : 300;
        var (plain, scoped) = Measure(device, batch, steps, o.Tiny ? 1 : o.Quick ? 3 : 5);
        log.WriteLine(string.Create(Inv, $"  memory: lenet b{batch} without scope {plain.Best:F0} img/s, {plain.PeakDeviceBytes / 1048576.0:F1} MiB device peak, {plain.PeakGcBytes / 1048576.0:F1} MiB GC heap; scoped {scoped.Best:F0} img/s, {scoped.PeakDeviceBytes / 1048576.0:F1} MiB, {scoped.PeakGcBytes / 1048576.0:F1} MiB"));
        const string baseline = "scoped loop";
        string name = $"lenet b{batch} no scope";
        yield return new BenchItem("train", name, device.Name, "img/s", plain.Best, null, baseline, scoped.Best, Median: plain.Median, BaselineMedian: scoped.Median);
        yield return new BenchItem("peak", name + " device", device.Name, "MiB", plain.PeakDeviceBytes / 1048576.0, null, baseline, scoped.PeakDeviceBytes / 1048576.0);
        yield return new BenchItem("peak", name + " GC heap", device.Name, "MiB", plain.PeakGcBytes / 1048576.0, null, baseline, scoped.PeakGcBytes / 1048576.0);
    }
}
