namespace ScratchNet.Kernels;

/// <summary>Which code the `cpu` device runs for its kernels (`--kernels`).</summary>
public enum KernelPath
{
    /// <summary>The fastest vector code this CPU supports: AVX-512, else AVX2, else Vector&lt;T&gt;.</summary>
    Simd,
    /// <summary>16 float lanes (AVX-512F): the SIMD kernels and the AVX-512 SGEMM micro-kernel.</summary>
    Avx512,
    /// <summary>8 float lanes (AVX2, and FMA for the SGEMM micro-kernel).</summary>
    Avx2,
    /// <summary>System.Numerics.Vector&lt;float&gt;: the portable vector code, any width, any CPU.</summary>
    Vector,
    /// <summary>The plain loops of each family's &lt;Family&gt;.Reference.cs: the definition, and the oracle every other version is checked against.</summary>
    Reference,
}

/// <summary>How a device runs a convolution (`--conv`). One name per algorithm, the same in the code, the CLI and the bench.</summary>
public enum ConvAlgorithm
{
    /// <summary>The device's choice: on the cpu, per-image when every core gets an image, else im2col; on a GPU, the faster of
    /// im2col and implicit, measured once per shape (like cudnn.benchmark); on ILGPU's CPU simulator, im2col.</summary>
    Auto,
    /// <summary>The definition's loops, one output at a time (Conv.Reference.cs on the cpu, Conv.Ilgpu.Direct.cs on ILGPU).</summary>
    Direct,
    /// <summary>im2col of a chunk of images into a col buffer, one GEMM, a swap (Conv.Im2Col.cs): every device.</summary>
    Im2Col,
    /// <summary>im2col + GEMM image by image, one image per core, in L1/L2-sized buffers (Conv.Cpu.PerImage.cs): cpu only.</summary>
    PerImage,
    /// <summary>The GEMM kernel gathers the patches itself, the whole batch in one launch (Conv.Ilgpu.Implicit.cs): ILGPU only.</summary>
    Implicit,
}

/// <summary>
/// The kernel choices of one device, fixed when the device is created (<c>Device.Get("cpu", options)</c>): which code
/// path, which convolution algorithm, which GEMM version. Two devices with different options are two devices, each
/// with its own memory pool, so a test or a benchmark compares versions side by side without touching any global
/// setting. The command line sets them with `--kernels`, `--conv` and `--gemm-version`.
/// </summary>
public sealed record DeviceOptions
{
    /// <summary>The defaults: the fastest code of each device.</summary>
    public static DeviceOptions Default { get; } = new();

    /// <summary>The cpu device running every kernel as its family's plain reference loops: the oracle.</summary>
    public static DeviceOptions ReferenceKernels { get; } = new() { Kernels = KernelPath.Reference };

    /// <summary>cpu: which code runs the kernels (the GPU devices have one version of each kernel but GEMM and conv).</summary>
    public KernelPath Kernels { get; init; } = KernelPath.Simd;

    /// <summary>How convolutions run.</summary>
    public ConvAlgorithm Conv { get; init; } = ConvAlgorithm.Auto;

    /// <summary>
    /// The GEMM version, as llm.c numbers its kernels: 0 = the device's fastest. cpu: 1 = the reference loops, 2 = the packed
    /// SGEMM (Sgemm*.cs). ILGPU: 1 … 5 (Gemm.Ilgpu.cs, Gemm.Ilgpu.Fast.cs; each adds one idea to the previous).
    /// </summary>
    public int GemmVersion { get; init; }

    /// <summary>Bound on a convolution's col buffers, in floats (16M = 64 MiB): im2col converts a chunk of images that fits, and
    /// per-image runs only when its buffers fit.</summary>
    public int MaxColElements { get; init; } = 1 << 24;

    /// <summary>ILGPU, Conv = Auto: whether to time im2col and implicit per shape. Null: on a GPU yes, on the CPU simulator no
    /// (its timings say nothing about a GPU).</summary>
    public bool? ConvAutoTune { get; init; }

    /// <summary>ILGPU GEMM v5: the number of thread groups below which a GEMM splits K to fill the device. Null: 2 waves of the device.</summary>
    public int? SplitKTargetGroups { get; init; }

    /// <summary>The highest GEMM version of each kind of device.</summary>
    public const int CpuGemmVersions = 2, IlgpuGemmVersions = 5;

    /// <summary>Checks the options against a device (ArgumentException naming the option, its value and what the device takes).</summary>
    public void Validate(string device, bool isCpu)
    {
        if (!Enum.IsDefined(Kernels)) throw new ArgumentException($"{device}: unknown --kernels value {Kernels}");
        if (!Enum.IsDefined(Conv)) throw new ArgumentException($"{device}: unknown --conv value {Conv}");
        if (!isCpu && Kernels != KernelPath.Simd)
            throw new ArgumentException($"{device}: --kernels {Name(Kernels)} is a cpu option (a GPU device has one version of each kernel; the reference is --device cpu --kernels reference)");
        if (isCpu && Conv == ConvAlgorithm.Implicit)
            throw new ArgumentException($"{device}: --conv implicit runs on ILGPU devices only; the cpu device takes auto, direct, im2col or per-image");
        if (!isCpu && Conv == ConvAlgorithm.PerImage)
            throw new ArgumentException($"{device}: --conv per-image runs on the cpu device only; ILGPU devices take auto, direct, im2col or implicit");
        int max = isCpu ? CpuGemmVersions : IlgpuGemmVersions;
        if (GemmVersion < 0 || GemmVersion > max)
            throw new ArgumentException($"{device}: --gemm-version must be in [1, {max}] (0 = the fastest), got {GemmVersion}");
        if (MaxColElements < 1) throw new ArgumentException($"{device}: MaxColElements must be positive, got {MaxColElements}");
        if (SplitKTargetGroups is < 1) throw new ArgumentException($"{device}: SplitKTargetGroups must be positive, got {SplitKTargetGroups}");
        if (Kernels != KernelPath.Simd && Kernels != KernelPath.Reference && !CpuSimd.IsSupported(Kernels))
            throw new ArgumentException($"{device}: this CPU has no {Name(Kernels)} (best available: {Name(CpuSimd.BestKernels)})");
    }

    /// <summary>The CLI spelling of a kernel path: simd, avx512, avx2, vector, reference.</summary>
    public static string Name(KernelPath k) => k.ToString().ToLowerInvariant();

    /// <summary>The CLI spelling of a conv algorithm: auto, direct, im2col, per-image, implicit.</summary>
    public static string Name(ConvAlgorithm c) => c == ConvAlgorithm.PerImage ? "per-image" : c.ToString().ToLowerInvariant();

    /// <summary>Parses a CLI spelling (null when unknown).</summary>
    public static KernelPath? ParseKernels(string s) =>
        Enum.GetValues<KernelPath>().Cast<KernelPath?>().FirstOrDefault(k => Name(k!.Value) == s.Trim().ToLowerInvariant());

    /// <summary>Parses a CLI spelling (null when unknown).</summary>
    public static ConvAlgorithm? ParseConv(string s) =>
        Enum.GetValues<ConvAlgorithm>().Cast<ConvAlgorithm?>().FirstOrDefault(c => Name(c!.Value) == s.Trim().ToLowerInvariant());

    /// <summary>"kernels simd, conv auto, gemm v5": what differs from nothing, for logs and benchmark labels.</summary>
    public override string ToString() =>
        $"kernels {Name(Kernels)}, conv {Name(Conv)}, gemm {(GemmVersion == 0 ? "fastest" : $"v{GemmVersion}")}";
}
