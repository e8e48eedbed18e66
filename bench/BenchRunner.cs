using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using ScratchNet.Kernels;
using ScratchNet.Models;
using ScratchNet.optim;

namespace ScratchNet.Bench;

/// <summary>
/// One measured figure. Higher is better for every unit (GFLOP/s, GB/s, img/s). WarmupSeconds is the first call
/// (JIT compilation of the kernels, allocations, first touch); Value is the steady state: the best of several
/// timed repetitions after it. Baseline/BaselineValue: the same item measured by OpenBLAS or PyTorch in this run.
/// </summary>
public sealed record BenchItem(string Section, string Name, string Device, string Unit, double Value,
    double? WarmupSeconds = null, string? Baseline = null, double? BaselineValue = null)
{
    [JsonIgnore] public double? Ratio => BaselineValue is > 0 ? Value / BaselineValue : null;
}

/// <summary>Everything `scratchnet bench` measured: written as bench.json, read back by `scratchnet bench-report`.</summary>
public sealed class BenchResults
{
    public string Date { get; set; } = "";
    public string Machine { get; set; } = "";
    public string Cpu { get; set; } = "";
    public int Cores { get; set; }
    public string Os { get; set; } = "";
    public string Runtime { get; set; } = "";
    public string Command { get; set; } = "";
    public Dictionary<string, string> Devices { get; set; } = [];
    public Dictionary<string, string> Baselines { get; set; } = [];
    public List<BenchItem> Items { get; set; } = [];
    public List<string> Notes { get; set; } = [];

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static BenchResults Load(string path) =>
        JsonSerializer.Deserialize<BenchResults>(File.ReadAllText(path), Json) ?? throw new IOException($"bench-report: {path} holds no results");

    /// <summary>The cpu figure of the same item, for the GPU-vs-CPU speedup column.</summary>
    public double? CpuFigure(BenchItem item) =>
        item.Device == "cpu" ? null : Items.FirstOrDefault(i => i.Device == "cpu" && i.Section == item.Section && i.Name == item.Name)?.Value;
}

/// <summary>What to measure: sizes and repetitions per mode.</summary>
public sealed record BenchOptions(IReadOnlyList<string> Devices, bool Quick, bool Tiny, bool Baselines, string OutDir)
{
    public int Rounds => Tiny ? 2 : Quick ? 3 : 5;
    /// <summary>Seconds one timed repetition of a kernel should last at least.</summary>
    public double KernelTarget => Tiny ? 0.005 : Quick ? 0.05 : 0.2;
}

/// <summary>
/// `scratchnet bench`: per-kernel GFLOP/s and GB/s, end-to-end img/s, the OpenBLAS and PyTorch baselines, the
/// CPU-vs-GPU speedups; bench.json and bench.png. Every device is driven through the same IBackend methods
/// (kernels) and the same Tensor/Module code (end to end), so the figures compare devices, not code paths.
/// Timing: the first call is timed alone (warm-up: ILGPU compiles the kernel then), then the best of several
/// repetitions, each ending with Synchronize so that asynchronous GPU launches are inside the clock.
/// </summary>
public sealed class BenchRunner(BenchOptions o, TextWriter log)
{
    private readonly BenchResults _r = new();
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public BenchResults Results => _r;

    /// <summary>The AlexNet-CIFAR convolutions (models/AlexNet.cs) on 32×32 inputs: name, C, H (= W), O, k, padding.</summary>
    public static readonly (string Name, int C, int H, int O, int K, int Pad)[] AlexNetConvs =
    [
        ("conv1", 3, 32, 64, 3, 1), ("conv2", 64, 16, 192, 5, 2), ("conv3", 192, 8, 384, 3, 1),
        ("conv4", 384, 8, 256, 3, 1), ("conv5", 256, 8, 256, 3, 1),
    ];

    /// <summary>The seed CNN's two convolutions (models/SeedCnn.cs): few channels, where overheads dominate.</summary>
    public static readonly (string Name, int C, int H, int O, int K, int Pad)[] SeedCnnConvs =
        [("seed conv1", 1, 28, 8, 5, 0), ("seed conv2", 8, 12, 16, 5, 0)];

    public BenchResults Run(string command)
    {
        _r.Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv);
        _r.Machine = Environment.MachineName;
        _r.Cpu = CpuName();
        _r.Cores = Environment.ProcessorCount;
        _r.Os = RuntimeInformation.OSDescription;
        _r.Runtime = RuntimeInformation.FrameworkDescription;
        _r.Command = command;
        if (o.Baselines && o.Devices.Contains("cpu"))
        {
            OpenBlas.Load();
            _r.Baselines["openblas"] = OpenBlas.Description;
        }
        foreach (var name in o.Devices)
        {
            var be = Backends.Get(name);
            _r.Devices[name] = be.Description;
            log.WriteLine($"== {name}: {be.Description}");
            Kernels(be);
            EndToEnd(name);
        }
        if (o.Baselines && !o.Tiny)
        {
            try { TorchBaselines(); }
            catch (Exception e) when (e is IOException or JsonException or FormatException or InvalidOperationException)
            {
                _r.Notes.Add($"PyTorch baselines failed: {e.Message}");   // our figures are still written
            }
        }
        return _r;
    }

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

    private BenchItem Add(BenchItem item)
    {
        _r.Items.Add(item);
        string baseline = item.BaselineValue is double b ? $"  {item.Baseline} {BenchReport.F1(b)} (ratio {item.Ratio!.Value.ToString("F2", Inv)})" : "";
        log.WriteLine($"  {item.Section,-6} {item.Name,-26} {BenchReport.F1(item.Value),9} {item.Unit,-7} warm-up {(item.WarmupSeconds ?? 0).ToString("F3", Inv)} s{baseline}");
        return item;
    }

    /// <summary>Times <paramref name="f"/>: the first call alone (warm-up), then best seconds per call over rounds.</summary>
    private (double Warm, double Best) Time(Action f, Action sync, double? target = null)
    {
        var sw = Stopwatch.StartNew();
        f(); sync();
        double warm = sw.Elapsed.TotalSeconds;
        sw.Restart();
        f(); sync();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int reps = (int)Math.Clamp((target ?? o.KernelTarget) / once, 1, 1000);
        double best = double.MaxValue;
        for (int r = 0; r < o.Rounds; r++)
        {
            sw.Restart();
            for (int i = 0; i < reps; i++) f();
            sync();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
        }
        return (warm, best);
    }

    private static Storage RandomStorage(IBackend be, int n, Random rng)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = rng.NextSingle() * 2 - 1;
        var s = be.Allocate(n, DType.Float32);
        be.Upload(data, s);
        return s;
    }

    // ---------------------------------------------------------------- kernels

    private void Kernels(IBackend be)
    {
        bool sim = be.Name == "ilgpu-cpu";
        bool gpu = be.Name is "cuda" or "opencl";
        var rng = new Random(1);
        int[] sizes = o.Tiny || sim ? [64, 128] : gpu ? [256, 512, 1024, 2048, 4096] : [256, 512, 1024, 2048];
        foreach (int n in sizes)
        {
            using var a = RandomStorage(be, n * n, rng); using var b = RandomStorage(be, n * n, rng); using var c = be.Allocate(n * n, DType.Float32);
            var g = new GemmArgs(false, false, n, n, n);
            double flops = 2.0 * n * n * n;
            var (warm, best) = Time(() => be.Gemm(g, a, b, c), be.Synchronize);
            double? blas = null;
            if (be.Name == "cpu" && OpenBlas.Available)
            {
                var ha = new float[n * n]; var hb = new float[n * n]; var hc = new float[n * n];
                be.Download(a, ha); be.Download(b, hb);
                blas = flops / Time(() => OpenBlas.Sgemm(false, false, n, n, n, ha, hb, hc), () => { }).Best / 1e9;
            }
            Add(new BenchItem("gemm", $"sgemm {n}", be.Name, "GFLOP/s", flops / best / 1e9, warm, blas is null ? null : "OpenBLAS", blas));
        }

        // The ILGPU GEMM kernel versions side by side (Gemm.Ilgpu.cs, Gemm.Ilgpu.Fast.cs): what each step adds.
        if (be is IlgpuBackend il)
        {
            foreach (int n in o.Tiny || sim ? new[] { 128 } : new[] { 1024, 4096 })
            {
                using var a = RandomStorage(be, n * n, rng); using var b = RandomStorage(be, n * n, rng); using var c = be.Allocate(n * n, DType.Float32);
                var g = new GemmArgs(false, false, n, n, n);
                for (int v = 1; v <= IlgpuBackend.GemmVersionNames.Length; v++)
                {
                    int version = v;
                    var (warm, best) = Time(() => il.Gemm(g, a, b, c, version), be.Synchronize);
                    Add(new BenchItem("gemm-v", $"sgemm {n} v{v}", be.Name, "GFLOP/s", 2.0 * n * n * n / best / 1e9, warm));
                }
            }
        }

        // Conv layers of AlexNet-CIFAR and of the seed CNN at batch 64 (the simulator: conv1 at batch 1 only), through
        // the entry points autograd calls (IBackend.Conv2dForward ...: on the cpu, image-parallel).
        int batch = o.Tiny ? 2 : sim ? 1 : 64;
        foreach (var (name, ch, h, oc, k, pad) in sim ? AlexNetConvs[..1] : [.. AlexNetConvs, .. SeedCnnConvs])
        {
            var geo = new ConvGeometry(batch, ch, h, h, oc, k, k, 1, 1, pad, pad);
            double flops = 2.0 * batch * oc * ch * k * k * geo.OH * geo.OW;
            using var x = RandomStorage(be, geo.N * geo.InputImage, rng); using var w = RandomStorage(be, oc * ch * k * k, rng);
            using var bias = RandomStorage(be, oc, rng); using var y = be.Allocate(geo.N * geo.OutputImage, DType.Float32);
            using var dy = RandomStorage(be, geo.N * geo.OutputImage, rng); using var dx = RandomStorage(be, geo.N * geo.InputImage, rng);
            using var dw = RandomStorage(be, oc * ch * k * k, rng);
            string shape = $"{name} b{batch}";
            var f = Time(() => be.Conv2dForward(geo, x, w, bias, y), be.Synchronize);
            Add(new BenchItem("conv", shape + " fwd", be.Name, "GFLOP/s", flops / f.Best / 1e9, f.Warm));
            var d = Time(() => be.Conv2dBackwardData(geo, w, dy, dx), be.Synchronize);
            Add(new BenchItem("conv", shape + " bwd-data", be.Name, "GFLOP/s", flops / d.Best / 1e9, d.Warm));
            var wt = Time(() => be.Conv2dBackwardWeights(geo, x, dy, dw), be.Synchronize);
            Add(new BenchItem("conv", shape + " bwd-weights", be.Name, "GFLOP/s", flops / wt.Best / 1e9, wt.Warm));

            // ILGPU: both conv algorithms side by side (the lines above are Auto's pick, as in training), each on a device
            // of its own options sharing the accelerator.
            if (be is not IlgpuBackend ic) continue;
            {
                foreach (var algorithm in new[] { ConvAlgorithm.Im2Col, ConvAlgorithm.Implicit })
                {
                    string label = DeviceOptions.Name(algorithm);
                    var alt = Backends.Get(ic.Name, ic.Options with { Conv = algorithm });
                    var fa = Time(() => alt.Conv2dForward(geo, x, w, bias, y), be.Synchronize);
                    Add(new BenchItem("conv-alg", $"{shape} fwd {label}", be.Name, "GFLOP/s", flops / fa.Best / 1e9, fa.Warm));
                    var da = Time(() => alt.Conv2dBackwardData(geo, w, dy, dx), be.Synchronize);
                    Add(new BenchItem("conv-alg", $"{shape} bwd-data {label}", be.Name, "GFLOP/s", flops / da.Best / 1e9, da.Warm));
                    var wa = Time(() => alt.Conv2dBackwardWeights(geo, x, dy, dw), be.Synchronize);
                    Add(new BenchItem("conv-alg", $"{shape} bwd-weights {label}", be.Name, "GFLOP/s", flops / wa.Best / 1e9, wa.Warm));
                }
            }
        }

        // Memory-bound kernels on conv1's output [batch, 64, 32, 32]: bytes moved / time.
        {
            int pb = o.Tiny ? 2 : sim ? 1 : 64;
            var pg = new PoolGeometry(pb, 64, 32, 32, 2, 2, 2, 2, 0, 0);
            int n = pg.InputSize;
            using var x = RandomStorage(be, n, rng); using var y = be.Allocate(n, DType.Float32);
            using var dy = RandomStorage(be, n, rng); using var dx = RandomStorage(be, n, rng);
            using var py = be.Allocate(pg.OutputSize, DType.Float32); using var idx = be.Allocate(pg.OutputSize, DType.Int32);
            using var pdy = RandomStorage(be, pg.OutputSize, rng);
            string shape = $"[{pb},64,32,32]";
            var rf = Time(() => be.ActivationForward(ActivationKind.Relu, x, y, n), be.Synchronize);
            Add(new BenchItem("memory", $"relu fwd {shape}", be.Name, "GB/s", 8.0 * n / rf.Best / 1e9, rf.Warm));        // read x, write y
            var rb = Time(() => be.ActivationBackward(ActivationKind.Relu, x, y, dy, dx, n), be.Synchronize);
            Add(new BenchItem("memory", $"relu bwd {shape}", be.Name, "GB/s", 16.0 * n / rb.Best / 1e9, rb.Warm));       // read x, dy, dx; write dx
            var mf = Time(() => be.MaxPool2dForward(pg, x, py, idx), be.Synchronize);
            Add(new BenchItem("memory", $"maxpool fwd {shape}", be.Name, "GB/s", (4.0 * n + 8.0 * pg.OutputSize) / mf.Best / 1e9, mf.Warm)); // x; y + argmax
            var mb = Time(() => be.MaxPool2dBackward(pg, pdy, idx, dx), be.Synchronize);
            Add(new BenchItem("memory", $"maxpool bwd {shape}", be.Name, "GB/s", (8.0 * pg.OutputSize + 8.0 * n) / mb.Best / 1e9, mb.Warm)); // dy + argmax; dx read + write
        }
    }

    // ---------------------------------------------------------------- end to end

    private void EndToEnd(string deviceName)
    {
        var dev = Device.Get(deviceName);
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
        foreach (var (model, batch, steps) in runs)
        {
            var (trainWarm, train, infer, peak) = Images(dev, model, batch, steps);
            Add(new BenchItem("train", $"{model} b{batch}", deviceName, "img/s", train, trainWarm));
            Add(new BenchItem("infer", $"{model} b{batch}", deviceName, "img/s", infer));
            if (!cpu && !sim) Add(new BenchItem("peak", $"{model} b{batch} train", deviceName, "MiB", peak / 1048576.0));
        }
    }

    /// <summary>
    /// A model with seeded weights, the lecture's SGD (lr 0.01, momentum 0.9, weight decay 5e-4) and one seeded
    /// random batch with random labels: what the bench and `scratchnet profile` time a training step on.
    /// </summary>
    public static (ScratchNet.nn.Module Model, SGD Optimizer, Tensor X, Tensor Labels) TrainingSetup(string modelName, int batch, Device dev)
    {
        var info = ModelRegistry.Get(modelName);
        var gen = new Generator(0);
        var model = info.Create(generator: gen, device: dev);
        var opt = new SGD(model.Parameters(), 0.01f, momentum: 0.9f, weightDecay: 5e-4f);
        var x = Tensor.Randn([batch, .. info.InputShape], gen, dev);
        var rng = new Random(0);
        var labels = Tensor.Labels(Enumerable.Range(0, batch).Select(_ => rng.Next(info.DefaultClasses)).ToArray(), dev);
        return (model, opt, x, labels);
    }

    /// <summary>
    /// Training img/s (forward + backward + SGD lr 0.01, momentum 0.9, weight decay 5e-4), inference img/s, and the
    /// peak device memory in use while training (bytes handed out by the caching allocator: parameters, gradients,
    /// momentum, activations and workspaces; like PyTorch's max_memory_allocated it excludes the driver context).
    /// </summary>
    private (double Warm, double Train, double Infer, long PeakBytes) Images(Device dev, string modelName, int batch, int steps)
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();   // storages of earlier runs go back to the pool
        dev.Backend.ResetPeakMemory();
        long baseBytes = dev.Backend.Memory.BytesInUse;
        var (model, opt, x, labels) = TrainingSetup(modelName, batch, dev);
        void Step()
        {
            using var scope = new TensorScope();
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x), labels);
            loss.Backward();
            opt.Step();
        }
        int rounds = o.Tiny ? 1 : o.Quick ? 2 : 3;
        var sw = Stopwatch.StartNew();
        Step(); dev.Synchronize();
        double warm = sw.Elapsed.TotalSeconds;
        double train = 0;
        for (int r = 0; r < rounds; r++)
        {
            sw.Restart();
            for (int i = 0; i < steps; i++) Step();
            dev.Synchronize();
            train = Math.Max(train, steps * batch / sw.Elapsed.TotalSeconds);
        }
        long peak = dev.Backend.Memory.PeakBytesInUse - baseBytes;
        model.Eval();
        double infer = 0;
        using (Tensor.NoGrad())
        {
            void Forward() { using var scope = new TensorScope(); model.Forward(x); }
            Forward(); dev.Synchronize();
            for (int r = 0; r < rounds; r++)
            {
                sw.Restart();
                for (int i = 0; i < steps; i++) Forward();
                dev.Synchronize();
                infer = Math.Max(infer, steps * batch / sw.Elapsed.TotalSeconds);
            }
        }
        return (warm, train, infer, peak);
    }

    // ---------------------------------------------------------------- PyTorch baselines

    /// <summary>bench/baselines next to the binary (publish.sh copies it there) or in a parent folder of the working directory.</summary>
    public static string? BaselinesDir()
    {
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "baselines") };
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "bench", "baselines"));
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "bench", "baselines"));
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "torch_models.py")));
    }

    private static string? _python;

    /// <summary>
    /// The first of $SCRATCHNET_PYTHON, /usr/bin/python3 and python3 (on the PATH: a venv or conda on a GPU server)
    /// in which `import torch` works; /usr/bin/python3 when none does (the script's error then goes into the notes).
    /// </summary>
    private static string Python()
    {
        if (_python is not null) return _python;
        var candidates = new[] { Environment.GetEnvironmentVariable("SCRATCHNET_PYTHON"), "/usr/bin/python3", "python3" }
            .Where(c => !string.IsNullOrWhiteSpace(c)).Select(c => c!).Distinct();
        foreach (var c in candidates)
        {
            try
            {
                var psi = new ProcessStartInfo(c, ["-c", "import torch"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                using var p = Process.Start(psi)!;
                p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd();
                if (p.WaitForExit(120_000) && p.ExitCode == 0) return _python = c;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return _python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    }

    /// <summary>Runs a baseline script; its last stdout line is one JSON object. Null (and a note) when it fails.</summary>
    private Dictionary<string, JsonElement>? RunPython(string script, Dictionary<string, string> env, int timeoutSeconds)
    {
        string? dir = BaselinesDir();
        if (dir is null) { _r.Notes.Add($"{script}: bench/baselines not found next to the binary or above the working directory"); return null; }
        var psi = new ProcessStartInfo(Python(), Path.Combine(dir, script)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        log.WriteLine($"  running {psi.FileName} {script} ({string.Join(", ", env.Select(e => e.Key + "=" + e.Value))})");
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutSeconds * 1000))
            {
                p.Kill(entireProcessTree: true);
                _r.Notes.Add($"{script}: killed after {timeoutSeconds} s");
                return null;
            }
            string last = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            if (p.ExitCode != 0 || !last.StartsWith('{'))
            {
                string err = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit code {p.ExitCode}";
                _r.Notes.Add($"{script} with {psi.FileName}: {err.Trim()}");
                return null;
            }
            return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(last);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _r.Notes.Add($"{script}: {psi.FileName} could not be started: {e.Message}");
            return null;
        }
    }

    private static double? Num(Dictionary<string, JsonElement> d, string key) =>
        d.TryGetValue(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>Attaches a baseline figure to our item (same section, name and device).</summary>
    private void Attach(string device, string section, string name, string baseline, double? value)
    {
        if (value is null) return;
        int i = _r.Items.FindIndex(t => t.Device == device && t.Section == section && t.Name == name);
        if (i < 0) return;
        _r.Items[i] = _r.Items[i] with { Baseline = baseline, BaselineValue = value };
        var t = _r.Items[i];
        log.WriteLine($"  {section,-6} {name,-26} ours {BenchReport.F1(t.Value)} {t.Unit}, {baseline} {BenchReport.F1(value.Value)}: ratio {t.Ratio!.Value.ToString("F2", Inv)}");
    }

    private void TorchBaselines()
    {
        if (o.Devices.Contains("cpu"))
        {
            log.WriteLine("== PyTorch CPU baseline (bench/baselines/torch_cpu_train.py)");
            var batches = _r.Items.Where(i => i.Device == "cpu" && i.Section == "train").Select(i => int.Parse(i.Name[(i.Name.LastIndexOf('b') + 1)..], Inv)).Distinct().ToList();
            foreach (int b in batches)
            {
                var env = new Dictionary<string, string>
                {
                    ["BATCH"] = b.ToString(Inv), ["THREADS"] = Environment.ProcessorCount.ToString(Inv),
                    ["ALEX_STEPS"] = o.Quick ? "3" : b >= 256 ? "2" : "6", ["SEED_STEPS"] = o.Quick ? "30" : "200",
                };
                var d = RunPython("torch_cpu_train.py", env, 900);
                if (d is null) break;
                string label = $"PyTorch {(d.TryGetValue("torch", out var v) ? v.ToString() : "")} CPU";
                _r.Baselines["torch-cpu"] = $"{label}, {Num(d, "threads")} threads, OPENBLAS_CORETYPE=SkylakeX";
                foreach (var m in new[] { "seedcnn", "alexnet" })
                {
                    Attach("cpu", "train", $"{m} b{b}", label, Num(d, m + "_train_img_s"));
                    Attach("cpu", "infer", $"{m} b{b}", label, Num(d, m + "_infer_img_s"));
                }
            }
        }
        if (o.Devices.Contains("cuda"))
        {
            log.WriteLine("== PyTorch CUDA baseline (bench/baselines/torch_gpu.py, FP32 with TF32 off)");
            var d = RunPython("torch_gpu.py", new(), 1200);
            if (d is null) return;
            string label = $"PyTorch {(d.TryGetValue("torch", out var v) ? v.ToString() : "")} CUDA fp32";
            _r.Baselines["torch-cuda"] = $"{label} on {(d.TryGetValue("device", out var dn) ? dn.ToString() : "?")} (TF32 figures in the notes)";
            foreach (int n in new[] { 256, 512, 1024, 2048, 4096 })
                Attach("cuda", "gemm", $"sgemm {n}", label, Num(d, $"sgemm_{n}_fp32_gflops"));
            foreach (var m in new[] { "seedcnn", "alexnet" })
                foreach (int b in new[] { 64, 256 })
                {
                    Attach("cuda", "train", $"{m} b{b}", label, Num(d, $"{m}_train_b{b}_fp32_img_s"));
                    Attach("cuda", "infer", $"{m} b{b}", label, Num(d, $"{m}_infer_b{b}_fp32_img_s"));
                }
            Attach("cuda", "train", "alexnet224 b64", label, Num(d, "alexnet224_train_b64_fp32_img_s"));
            foreach (var m in new[] { "seedcnn", "alexnet" })
                foreach (int b in new[] { 64, 256 })
                    Attach("cuda", "peak", $"{m} b{b} train", label, Num(d, $"{m}_train_b{b}_fp32_peak_mib"));
            foreach (var (k, val) in d.Where(e => e.Key.Contains("tf32")))
                _r.Notes.Add($"torch cuda {k} = {val}");
        }
    }
}
