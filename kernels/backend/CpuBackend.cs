namespace ScratchNet.Kernels;

/// <summary>A block of managed memory; exactly one of F or I is set.</summary>
internal sealed class CpuBlock
{
    public float[]? F;
    public int[]? I;
}

/// <summary>A storage of the cpu device: a managed array rented from the device's caching allocator. Public for raw
/// access (Tensor.AsSpan) and one's own kernels; the engine's ops never touch it directly.</summary>
public sealed class CpuStorage : Storage
{
    private readonly CpuBackend _backend;
    private readonly CpuBlock _block;
    private readonly long _capacity;

    internal CpuStorage(CpuBackend backend, int length, DType dtype) : base(length, dtype)
    {
        _backend = backend;
        _block = backend.Allocator.Rent(dtype, length, out _capacity);
    }

    /// <inheritdoc />
    public override IBackend Backend => _backend;
    /// <summary>The float elements (the pooled array may be longer than Length: use the first Length).</summary>
    public float[] F => _block.F ?? throw new InvalidOperationException("storage holds Int32, not Float32");
    /// <summary>The Int32 elements (the pooled array may be longer than Length: use the first Length).</summary>
    public int[] I => _block.I ?? throw new InvalidOperationException("storage holds Float32, not Int32");
    /// <summary>Exactly the Length float elements.</summary>
    public Span<float> FSpan => F.AsSpan(0, Length);
    /// <summary>Exactly the Length Int32 elements.</summary>
    public Span<int> ISpan => I.AsSpan(0, Length);

    /// <inheritdoc />
    protected override void Release() => _backend.Allocator.Return(_block, DType, _capacity);
}

/// <summary>
/// The `cpu` device: managed C#. Each op family adds its methods in kernels/&lt;family&gt;/*.Cpu.cs, which run either
/// the family's plain loops (&lt;Family&gt;.Reference.cs, with <see cref="KernelPath.Reference"/>) or its vector code
/// (&lt;Family&gt;.Cpu.Simd.cs, on the vector path of <see cref="Path"/>); <see cref="Options"/> says which, fixed at creation.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    internal readonly CachingAllocator<CpuBlock> Allocator = new(
        (dtype, n) => dtype == DType.Float32 ? new CpuBlock { F = new float[n] } : new CpuBlock { I = new int[n] },
        _ => { });

    /// <summary>A cpu device with these kernel choices (validated: ArgumentException for a path this CPU lacks or an option that is not the cpu's).</summary>
    public CpuBackend(DeviceOptions? options = null)
    {
        Options = options ?? DeviceOptions.Default;
        Options.Validate("cpu", isCpu: true);
        IsReference = Options.Kernels == KernelPath.Reference;
        Path = IsReference ? KernelPath.Reference : CpuSimd.Resolve(Options.Kernels);
        ReferenceGemm = IsReference || Options.GemmVersion == 1;
    }

    /// <summary>The kernel choices of this device.</summary>
    public DeviceOptions Options { get; }

    /// <summary>The concrete code path: Avx512, Avx2 or Vector for the SIMD kernels, or Reference for the plain loops.</summary>
    public KernelPath Path { get; }

    /// <summary>Every kernel runs its family's reference loops.</summary>
    public bool IsReference { get; }

    /// <summary>GEMM runs Reference.Gemm's loops (--kernels reference or --gemm-version 1) instead of the packed SGEMM.</summary>
    public bool ReferenceGemm { get; }

    /// <inheritdoc />
    public string Name => "cpu";
    /// <inheritdoc />
    public string Description => $"managed C#, {Environment.ProcessorCount} threads{(Options == DeviceOptions.Default ? "" : $", {Options}")}";

    /// <inheritdoc />
    public Storage Allocate(int length, DType dtype) => new CpuStorage(this, length, dtype);

    /// <summary>Float view of a storage of this backend.</summary>
    internal static float[] F(Storage s) => ((CpuStorage)s).F;
    internal static int[] I(Storage s) => ((CpuStorage)s).I;

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> src, Storage dst) => src.CopyTo(((CpuStorage)dst).FSpan);
    /// <inheritdoc />
    public void Upload(ReadOnlySpan<int> src, Storage dst) => src.CopyTo(((CpuStorage)dst).ISpan);
    /// <inheritdoc />
    public void Download(Storage src, Span<float> dst) => ((CpuStorage)src).FSpan[..dst.Length].CopyTo(dst);
    /// <inheritdoc />
    public void Download(Storage src, Span<int> dst) => ((CpuStorage)src).ISpan[..dst.Length].CopyTo(dst);
    /// <inheritdoc />
    public void Synchronize() { }

    /// <inheritdoc />
    public void ResetPeakMemory() => Allocator.ResetPeak();
    /// <inheritdoc />
    public MemoryStats Memory => new(Allocator.Allocations, Allocator.CacheHits,
        Allocator.ElementsInUse * 4, Allocator.ElementsReserved * 4, Allocator.PeakElementsInUse * 4);
    /// <inheritdoc />
    public void EmptyCache() => Allocator.EmptyCache();
    /// <summary>Nothing to release: the blocks are managed arrays, collected by the GC once unreachable.</summary>
    public void Dispose() { }

    /// <summary>
    /// Runs body(i) for i in [0, n), in parallel when the work (n × costPerItem) is large enough
    /// to pay for the thread hand-off. Small ops run inline.
    /// </summary>
    internal static void For(int n, Action<int> body, long costPerItem = 1)
    {
        if (n <= 1 || (long)n * costPerItem < 32_768) { for (int i = 0; i < n; i++) body(i); return; }
        Parallel.For(0, n, body);
    }

    /// <summary>Parallel over contiguous chunks [start, end) of [0, n): for element-wise loops.</summary>
    internal static void ForChunks(int n, Action<int, int> body)
    {
        const int chunk = 16_384;
        if (n <= chunk) { body(0, n); return; }
        int chunks = (n + chunk - 1) / chunk;
        Parallel.For(0, chunks, c => body(c * chunk, Math.Min(n, (c + 1) * chunk)));
    }
}
