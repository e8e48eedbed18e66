using System.Text.Json;
using System.Text.Json.Serialization;
using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// One measured figure. Higher is better for every unit (GFLOP/s, GB/s, img/s) but MiB. WarmupSeconds is the first call
/// (JIT compilation of the kernels, allocations, first touch); Value is the steady state: the best of several timed rounds
/// after it, Median their median. Baseline/BaselineValue: the same item measured by OpenBLAS or PyTorch in this run, in
/// rounds alternating with ours (BaselineMedian: the median of its rounds). Version and Check: for `bench --op`, the version
/// of the op (see bench/ops/) and its check against the reference ("PASS 24/24").
/// </summary>
public sealed record BenchItem(string Section, string Name, string Device, string Unit, double Value,
    double? WarmupSeconds = null, string? Baseline = null, double? BaselineValue = null,
    string? Version = null, string? Check = null, double? Median = null, double? BaselineMedian = null)
{
    /// <summary>Ours over the baseline's (best rounds of the same run), when there is a baseline.</summary>
    [JsonIgnore] public double? Ratio => BaselineValue is > 0 ? Value / BaselineValue : null;

    /// <summary>The name with its version: "conv1 b64 fwd · im2col avx2".</summary>
    [JsonIgnore] public string Label => Version is null ? Name : $"{Name} · {Version}";
}

/// <summary>Everything `scratchnet bench` measured: written as bench.json, read back by `scratchnet bench-report`.</summary>
public sealed class BenchResults
{
    /// <summary>When it ran (UTC).</summary>
    public string Date { get; set; } = "";
    /// <summary>The host name.</summary>
    public string Machine { get; set; } = "";
    /// <summary>The CPU's model name.</summary>
    public string Cpu { get; set; } = "";
    /// <summary>Logical cores.</summary>
    public int Cores { get; set; }
    /// <summary>The operating system.</summary>
    public string Os { get; set; } = "";
    /// <summary>The .NET runtime.</summary>
    public string Runtime { get; set; } = "";
    /// <summary>The command line that produced it.</summary>
    public string Command { get; set; } = "";
    /// <summary>Each device measured and its description.</summary>
    public Dictionary<string, string> Devices { get; set; } = [];
    /// <summary>Each baseline and its description (version, threads, core type).</summary>
    public Dictionary<string, string> Baselines { get; set; } = [];
    /// <summary>The figures.</summary>
    public List<BenchItem> Items { get; set; } = [];
    /// <summary>`bench --op`: the check of each version timed.</summary>
    public List<VersionCheck> Checks { get; set; } = [];
    /// <summary>What went wrong or is worth knowing (a baseline that failed, TF32 figures).</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>bench.json's format: indented camelCase, nulls left out, NaN and infinities allowed.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Writes bench.json.</summary>
    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads a bench.json (older files, without versions or checks, too).</summary>
    public static BenchResults Load(string path) =>
        JsonSerializer.Deserialize<BenchResults>(File.ReadAllText(path), Json) ?? throw new IOException($"bench-report: {path} holds no results");

    /// <summary>The cpu figure of the same item, for the GPU-vs-CPU speedup column (items without a version: the versions of a
    /// GPU and of the cpu are different code).</summary>
    public double? CpuFigure(BenchItem item) =>
        item.Device == "cpu" || item.Version is not null ? null
        : Items.FirstOrDefault(i => i.Device == "cpu" && i.Version is null && i.Section == item.Section && i.Name == item.Name)?.Value;
}

/// <summary>What to measure: devices, sizes and repetitions per mode, baselines, and the options pinned on the command line.</summary>
public sealed record BenchOptions(IReadOnlyList<string> Devices, bool Quick, bool Tiny, bool Baselines, string OutDir,
    DeviceOptions? Pinned = null, string OpenBlasCore = "SkylakeX")
{
    /// <summary>Timed rounds per figure.</summary>
    public int Rounds => Tiny ? 2 : Quick ? 3 : 5;

    /// <summary>Seconds one timed round of a kernel should last at least.</summary>
    public double KernelTarget => Tiny ? 0.005 : Quick ? 0.05 : 0.2;

    /// <summary>Rounds, target and settle time of the kernel figures.</summary>
    public Timing Timing => new(Rounds, KernelTarget, Tiny ? 0.01 : Quick ? 0.1 : 0.2);

    /// <summary>The largest work (FLOPs or bytes) the plain-loop versions are timed on: at about 1 G/s a call then takes half a
    /// second at most, and a few milliseconds with --tiny.</summary>
    public double PlainLoopsWork => Tiny ? 3e7 : 5e8;

    /// <summary>The sizes for a device.</summary>
    public BenchScale Scale(string device) => new(KernelOp.KindOf(device), Quick, Tiny);
}
