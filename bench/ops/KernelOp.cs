using ScratchNet.Kernels;

namespace ScratchNet.Bench;

// One file per kernel family under bench/ops/, like one file per kernel in llm.c's dev/cuda: each says, for its family,
//   - the VERSIONS of the op on a device: named DeviceOptions variants the device accepts (the cpu's vector paths, the GEMM
//     kernel steps, the conv algorithms); `scratchnet check --op F` checks each and `scratchnet bench --op F` times each;
//   - the CHECK cases: shapes, and the tolerance of each output against the reference (the cpu device with
//     Kernels = Reference) on the same random inputs;
//   - the BENCH cases: shapes and the work of one call, FLOPs for compute-bound ops (GFLOP/s) and bytes read + written for
//     memory-bound ones (GB/s); cases with a Suite also appear in the full `scratchnet bench`.
// OpRegistry lists the families; a test builds its own registry with a fake op to prove that a wrong version fails.

/// <summary>Which kind of device a version or a bench size is for.</summary>
public enum DeviceKind
{
    /// <summary>The managed C# `cpu` device.</summary>
    Cpu,
    /// <summary>`ilgpu-cpu`: ILGPU's CPU simulator, one OS thread per GPU thread, so only small shapes.</summary>
    Simulator,
    /// <summary>cuda or opencl.</summary>
    Gpu,
}

/// <summary>
/// One version of an op on a device: a name (`im2col avx2`, `v3`), the device options that select it, and what it is.
/// <paramref name="PlainLoops"/> marks the reference loops (GEMM v1, the direct conv on the cpu): the bench times them only on
/// cases of at most <see cref="BenchOptions.PlainLoopsWork"/>.
/// </summary>
public sealed record OpVersion(string Name, DeviceOptions Options, string Description, bool PlainLoops = false)
{
    /// <summary>The version that `--kernels/--conv/--gemm-version` pin: every family runs these options.</summary>
    public static OpVersion Pinned(DeviceOptions options) => new(options.ToString(), options, "pinned by --kernels/--conv/--gemm-version");
}

/// <summary>The sizes a bench runs at: the device kind (the simulator gets tiny shapes), --quick and --tiny.</summary>
public sealed record BenchScale(DeviceKind Kind, bool Quick = false, bool Tiny = false)
{
    /// <summary>The smallest shapes: --tiny, or the simulator.</summary>
    public bool Small => Tiny || Kind == DeviceKind.Simulator;

    /// <summary>Images per batch of the conv, pool and activation cases: AlexNet's 64, 2 with --tiny, 1 on the simulator.</summary>
    public int Batch => Tiny ? 2 : Kind == DeviceKind.Simulator ? 1 : 64;
}

/// <summary>
/// One bench case: a name, the unit of its figure (GFLOP/s or GB/s), the work of one call (FLOPs, or bytes read + written) and
/// the setup that allocates its buffers on a device and returns the call. <paramref name="Suite"/>: the section of the full
/// `scratchnet bench` it also appears in (gemm, conv, memory), null if only `bench --op` runs it. <paramref name="VersionSuite"/>:
/// the full bench also times it on each of the op's <see cref="KernelOp.SuiteVersions"/> (gemm-v, conv-alg).
/// </summary>
public sealed record BenchCase(string Name, string Unit, double Work, Func<BenchArena, Prepared> Setup, string? Suite = null, bool VersionSuite = false)
{
    /// <summary>GFLOP/s: Work is floating-point operations (a multiply-add counts 2).</summary>
    public const string Flops = "GFLOP/s";

    /// <summary>GB/s: Work is bytes read + written.</summary>
    public const string Bytes = "GB/s";
}

/// <summary>A bench case ready to run: the call on the device under test, and a baseline when one measures the same thing.</summary>
public sealed record Prepared(Action Run, Baseline? Baseline = null);

/// <summary>
/// What ours is compared with, measured in the same rounds: either a call timed in-process like ours (<paramref name="Call"/>:
/// OpenBLAS on the same buffers) or one round measured elsewhere that returns its figure in the case's unit
/// (<paramref name="Round"/>: a request to the PyTorch process), null when that round failed.
/// </summary>
public sealed record Baseline(string Name, Action? Call = null, Func<double?>? Round = null);

/// <summary>One kernel family's versions, check cases and bench cases (see the files of bench/ops/).</summary>
public abstract class KernelOp
{
    /// <summary>The name `--op` takes: elementwise, gemm, conv2d, ...</summary>
    public abstract string Family { get; }

    /// <summary>The ops of the family in a few words, for --help and the listings.</summary>
    public abstract string Summary { get; }

    /// <summary>Every version of the op on <paramref name="device"/> (cpu, ilgpu-cpu, cuda, opencl), each one the device accepts.</summary>
    public abstract IReadOnlyList<OpVersion> Versions(string device);

    /// <summary>Runs the check cases on ctx.Device and ctx.Reference with the same random inputs, recording each output's error.</summary>
    public abstract void Check(CheckContext ctx);

    /// <summary>The bench cases at this scale.</summary>
    public abstract IEnumerable<BenchCase> BenchCases(BenchScale scale);

    /// <summary>The full bench's version section (gemm-v, conv-alg), or null: it times the VersionSuite cases on <see cref="SuiteVersions"/>.</summary>
    public virtual string? VersionSection => null;

    /// <summary>The versions the full bench shows side by side on a device (none by default).</summary>
    public virtual IReadOnlyList<OpVersion> SuiteVersions(string device) => [];

    /// <summary>The kind of a device name.</summary>
    public static DeviceKind KindOf(string device) => device switch
    {
        "cpu" => DeviceKind.Cpu,
        "ilgpu-cpu" => DeviceKind.Simulator,
        _ => DeviceKind.Gpu,
    };

    /// <summary>One version per vector path of this CPU (avx512, avx2, vector: those it has, fastest first), for families whose cpu
    /// code is the generic vector code of &lt;Family&gt;.Cpu.Simd.cs.</summary>
    protected static IReadOnlyList<OpVersion> VectorVersions(string file) =>
        [.. CpuSimd.VectorPaths.Select(p => new OpVersion(DeviceOptions.Name(p), new DeviceOptions { Kernels = p }, $"{file} on {DeviceOptions.Name(p)}"))];

    /// <summary>The one version of a GPU device for a family with one kernel per op.</summary>
    protected static IReadOnlyList<OpVersion> IlgpuVersion(string file) => [new OpVersion("ilgpu", DeviceOptions.Default, $"the ILGPU kernels of {file}")];
}
