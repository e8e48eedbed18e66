using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// `scratchnet bench` without --op: per-kernel GFLOP/s and GB/s (the bench cases of bench/ops/ that have a Suite: GEMM,
/// the AlexNet and seed CNN convolutions, relu and max-pool; on ILGPU also the GEMM versions and the conv algorithms side by
/// side), end-to-end training and inference img/s, the OpenBLAS and PyTorch baselines, the CPU-vs-GPU speedups; bench.json
/// and bench.png. Every device is driven through the same IBackend methods (kernels) and the same Tensor/Module code (end to
/// end), so the figures compare devices, not code paths.
/// Timing (<see cref="Timing"/>): the first call alone (warm-up: ILGPU compiles the kernel then), then the best of several
/// rounds, each ending with Synchronize so that asynchronous GPU launches are inside the clock. A baseline is measured in
/// the same rounds, alternating with ours: OpenBLAS in-process on the same buffers, PyTorch in a process of its own that
/// answers one round per request (<see cref="TorchServer"/>).
/// </summary>
public sealed class BenchRunner(BenchOptions o, TextWriter log, OpRegistry? ops = null)
{
    private readonly BenchResults _r = NewResults("");
    private readonly OpRegistry _ops = ops ?? OpRegistry.Default;
    private readonly Dictionary<string, TorchServer?> _torch = [];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>What has been measured so far.</summary>
    public BenchResults Results => _r;

    /// <summary>Measures everything on every device of the options; <paramref name="command"/> is recorded in bench.json.</summary>
    public BenchResults Run(string command)
    {
        _r.Command = command;
        if (o.Baselines && o.Devices.Contains("cpu"))
        {
            OpenBlas.Load(o.OpenBlasCore);
            _r.Baselines["openblas"] = OpenBlas.Description;
        }
        try
        {
            foreach (var name in o.Devices)
            {
                var be = Backends.Get(name, o.Pinned);
                _r.Devices[name] = be.Description;
                log.WriteLine($"== {name}: {be.Description}");
                Kernels(name, be);
                EndToEnd(name);
            }
            if (Torch("cuda") is { } cuda) Tf32Notes(cuda);
        }
        finally
        {
            foreach (var server in _torch.Values) server?.Dispose();
        }
        return _r;
    }

    /// <summary>Results with the machine's description filled in.</summary>
    public static BenchResults NewResults(string command) => new()
    {
        Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv),
        Machine = Environment.MachineName,
        Cpu = CpuName(),
        Cores = Environment.ProcessorCount,
        Os = RuntimeInformation.OSDescription,
        Runtime = RuntimeInformation.FrameworkDescription,
        Command = command,
    };

    private static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The PyTorch process of a device (cpu or cuda), started on first use; null without baselines or when it fails.</summary>
    private TorchServer? Torch(string device)
    {
        if (!o.Baselines || o.Tiny || device is not ("cpu" or "cuda") || !o.Devices.Contains(device)) return null;
        if (!_torch.TryGetValue(device, out var server))
        {
            server = _torch[device] = TorchServer.Start(device, _r.Notes, log);
            if (server is not null) _r.Baselines[device == "cuda" ? "torch-cuda" : "torch-cpu"] = server.Description;
        }
        return server;
    }

    private BenchItem Add(BenchItem item)
    {
        _r.Items.Add(item);
        string baseline = item.BaselineValue is double b ? $"  {item.Baseline} {BenchReport.F1(b)} (ratio {item.Ratio!.Value.ToString("F2", Inv)})" : "";
        log.WriteLine($"  {item.Section,-8} {item.Name,-28} {BenchReport.F1(item.Value),9} {item.Unit,-7} warm-up {(item.WarmupSeconds ?? 0).ToString("F3", Inv)} s{baseline}");
        return item;
    }

    // ---------------------------------------------------------------- kernels

    private void Kernels(string name, IBackend be)
    {
        var scale = o.Scale(name);
        var sources = new BaselineSources(OpenBlas: o.Baselines && name == "cpu", Torch: name == "cuda" ? () => Torch("cuda") : null);
        foreach (var op in _ops.Ops)
        {
            var cases = op.BenchCases(scale).ToList();
            foreach (var c in cases.Where(c => c.Suite is not null))
            {
                var (m, baseline) = OpBench.Measure(c, be, sources, o.Timing);
                Add(new BenchItem(c.Suite!, c.Name, name, c.Unit, m.Best, m.WarmSeconds, m.TheirBest is null ? null : baseline, m.TheirBest,
                    Median: m.Median, BaselineMedian: m.TheirMedian));
            }
            // The op's versions side by side (the lines above are the device's default, as in training), each a device of its
            // own options sharing the accelerator. Not when the command line pinned one version.
            if (o.Pinned is not null || op.VersionSection is not { } section) continue;
            foreach (var version in op.SuiteVersions(name))
            {
                var vb = Backends.Get(name, version.Options);
                foreach (var c in cases.Where(c => c.VersionSuite))
                {
                    var (m, _) = OpBench.Measure(c, vb, BaselineSources.None, o.Timing);
                    Add(new BenchItem(section, $"{c.Name} {version.Name}", name, c.Unit, m.Best, m.WarmSeconds, Median: m.Median));
                }
                vb.EmptyCache();
            }
        }
    }

    // ---------------------------------------------------------------- end to end

    private void EndToEnd(string deviceName)
    {
        var dev = Device.Get(deviceName, o.Pinned);
        bool sim = deviceName == "ilgpu-cpu";
        bool cpu = deviceName == "cpu";
        var runs = new List<(string Model, int Batch, int Steps)>();
        if (o.Tiny) runs.Add(("seedcnn", 8, 2));
        else if (sim) runs.Add(("seedcnn", 8, 1));   // the simulator: about 1 img/s
        else if (o.Quick)
        {
            runs.Add(("seedcnn", 64, cpu ? 20 : 50));
            runs.Add(("alexnet", 64, cpu ? 3 : 20));
            if (!cpu) { runs.Add(("seedcnn", 256, 20)); runs.Add(("alexnet", 256, 10)); runs.Add(("alexnet224", 64, 5)); }
        }
        else
        {
            runs.Add(("seedcnn", 64, cpu ? 200 : 100));   // ~1.5 ms steps on a 2-core CPU: 200 steps per round, or noise dominates
            runs.Add(("seedcnn", 256, 50));
            runs.Add(("alexnet", 64, cpu ? 6 : 30));
            runs.Add(("alexnet", 256, cpu ? 2 : 15));
            runs.Add(("alexnet224", 64, cpu ? 2 : 10));
        }
        var torch = Torch(deviceName);
        foreach (var (model, batch, steps) in runs)
        {
            var t = torch is not null && torch.Has(model) ? torch : null;
            var e = Images(dev, model, batch, steps, t, settle: cpu);
            string? label = t?.Label;
            Add(new BenchItem("train", $"{model} b{batch}", deviceName, "img/s", e.Train.Best, e.Train.WarmSeconds,
                e.Train.TheirBest is null ? null : label, e.Train.TheirBest, Median: e.Train.Median, BaselineMedian: e.Train.TheirMedian));
            Add(new BenchItem("infer", $"{model} b{batch}", deviceName, "img/s", e.Infer.Best, null,
                e.Infer.TheirBest is null ? null : label, e.Infer.TheirBest, Median: e.Infer.Median, BaselineMedian: e.Infer.TheirMedian));
            if (e.Ort is { } ort)
                Add(new BenchItem("infer-ort", $"{model} b{batch}", deviceName, "img/s", ort.Best, null, OrtBaseline.Label, ort.TheirBest,
                    Median: ort.Median, BaselineMedian: ort.TheirMedian));
            if (!cpu && !sim)
                Add(new BenchItem("peak", $"{model} b{batch} train", deviceName, "MiB", e.PeakBytes / 1048576.0, null,
                    e.TheirPeakMib is null ? null : label, e.TheirPeakMib));
        }
        foreach (var item in MemoryBench.Items(dev, o, log)) Add(item);
    }

    /// <summary>Training and inference rounds of one model, ours alternating with PyTorch's; our peak device memory while training.</summary>
    private sealed record EndToEndFigures(Measured Train, Measured Infer, long PeakBytes, double? TheirPeakMib, Measured? Ort = null);

    /// <summary>
    /// Training img/s (forward + backward + SGD lr 0.01, momentum 0.9, weight decay 5e-4) and inference img/s, each in rounds of
    /// <paramref name="steps"/> steps alternating with PyTorch's rounds of the same steps when <paramref name="torch"/> is given;
    /// and the peak device memory in use while training (bytes handed out by the caching allocator: parameters, gradients,
    /// momentum, activations and workspaces; like PyTorch's max_memory_allocated it excludes the driver context).
    /// </summary>
    private EndToEndFigures Images(Device dev, string modelName, int batch, int steps, TorchServer? torch, bool settle)
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();   // storages of earlier runs go back to the pool
        dev.Backend.ResetPeakMemory();
        long baseBytes = dev.Backend.Memory.BytesInUse;
        var (model, opt, x, labels) = TrainingSetup.Create(modelName, batch, dev);
        void Step()
        {
            using var scope = new TensorScope();
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x), labels);
            loss.Backward();
            opt.Step();
        }
        void Forward() { using var scope = new TensorScope(); model.Forward(x); }
        double Round(Action f)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) f();
            dev.Synchronize();
            return steps * batch / sw.Elapsed.TotalSeconds;
        }
        int rounds = o.Tiny ? 1 : o.Quick ? 2 : 3;
        double pause = settle ? o.Timing.Settle : 0;

        var warm = Stopwatch.StartNew();
        Step(); dev.Synchronize();
        double warmSeconds = warm.Elapsed.TotalSeconds;
        double? theirPeak = null;
        Func<double?>? theirTrain = torch is null ? null : () =>
        {
            var (v, peak) = torch.Train(modelName, batch, steps);
            if (peak is > 0) theirPeak = Math.Max(theirPeak ?? 0, peak.Value);
            return v;
        };
        var (ot, tt) = Timing.Alternate(rounds, () => Round(Step), theirTrain, pause);
        LogRounds($"train {modelName} b{batch}", ot, tt, torch);
        long peakBytes = dev.Backend.Memory.PeakBytesInUse - baseBytes;

        model.Eval();
        List<double> oi, ti;
        using (Tensor.NoGrad())
        {
            Forward(); dev.Synchronize();
            (oi, ti) = Timing.Alternate(rounds, () => Round(Forward), torch is null ? null : () => torch.Infer(modelName, batch, steps), pause);
        }
        LogRounds($"infer {modelName} b{batch}", oi, ti, torch);
        Measured? ort = null;
        if (o.Baselines && !o.Tiny && dev.Name == "cpu" && OrtBaseline.Create(model, x, _r.Notes, modelName) is { } session)
        {
            using (session)
            using (Tensor.NoGrad())
            {
                session.Round(batch, 1);
                var (oo, ro) = Timing.Alternate(rounds, () => Round(Forward), () => session.Round(batch, steps), pause);
                log.WriteLine($"  infer {modelName} b{batch}, img/s by round (ours | {OrtBaseline.Label}): " +
                              string.Join(", ", oo.Select((v, i) => $"{BenchReport.F1(v)} | {(i < ro.Count ? BenchReport.F1(ro[i]) : "-")}")));
                ort = new Measured(0, oo, ro);
                _r.Baselines["onnxruntime-cpu"] = OrtBaseline.Label;
            }
        }
        return new EndToEndFigures(new Measured(warmSeconds, ot, tt), new Measured(0, oi, ti), peakBytes, theirPeak, ort);
    }

    private void LogRounds(string what, List<double> ours, List<double> theirs, TorchServer? torch)
    {
        if (theirs.Count == 0) return;
        log.WriteLine($"  {what}, img/s by round (ours | {torch!.Label}): " +
                      string.Join(", ", ours.Select((v, i) => $"{BenchReport.F1(v)} | {(i < theirs.Count ? BenchReport.F1(theirs[i]) : "-")}")));
    }

    /// <summary>The TF32 figures of PyTorch on cuda, once each, as notes (ours has no tensor-core path to compare with them).</summary>
    private void Tf32Notes(TorchServer cuda)
    {
        foreach (int n in new[] { 256, 512, 1024, 2048, 4096 })
            if (cuda.Sgemm(n, tf32: true) is double g) _r.Notes.Add($"torch cuda sgemm_{n}_tf32_gflops = {g.ToString("F1", Inv)}");
        foreach (var m in new[] { "seedcnn", "alexnet" })
            foreach (int b in new[] { 64, 256 })
                if (cuda.Train(m, b, 50, tf32: true).ImgPerSecond is double v) _r.Notes.Add($"torch cuda {m}_train_b{b}_tf32_img_s = {v.ToString("F1", Inv)}");
    }
}
