using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

/// <summary>A block of device memory; exactly one of F or I is set.</summary>
internal sealed class IlgpuBlock
{
    public MemoryBuffer1D<float, Stride1D.Dense>? F;
    public MemoryBuffer1D<int, Stride1D.Dense>? I;
}

/// <summary>A storage of an ILGPU device: a device buffer rented from the backend's caching allocator. Public for raw
/// access (Tensor.AsArrayView) and one's own kernels; the engine's ops never touch it directly.</summary>
public sealed class IlgpuStorage : Storage
{
    private readonly IlgpuBackend _backend;
    private readonly IlgpuBlock _block;
    private readonly long _capacity;

    internal IlgpuStorage(IlgpuBackend backend, int length, DType dtype) : base(length, dtype)
    {
        _backend = backend;
        _block = backend.Allocator.Rent(dtype, length, out _capacity);
    }

    /// <inheritdoc />
    public override IBackend Backend => _backend;
    /// <summary>A view of exactly Length floats (of one when Length is 0: ILGPU has no empty views).</summary>
    public ArrayView<float> F => (_block.F ?? throw new InvalidOperationException("storage holds Int32, not Float32")).View.SubView(0, Math.Max(1, Length));
    /// <summary>A view of exactly Length Int32 values (of one when Length is 0).</summary>
    public ArrayView<int> I => (_block.I ?? throw new InvalidOperationException("storage holds Float32, not Int32")).View.SubView(0, Math.Max(1, Length));

    /// <inheritdoc />
    protected override void Release() => _backend.Allocator.Return(_block, DType, _capacity);
}

/// <summary>
/// The ILGPU devices (cuda, opencl, ilgpu-cpu). The same C# kernels compile to PTX, OpenCL C or run
/// on ILGPU's CPU simulator. Each op family adds its kernels and launchers in kernels/&lt;family&gt;/*.Ilgpu.cs;
/// every kernel is loaded once per accelerator and the delegate cached in a field.
/// </summary>
public sealed partial class IlgpuBackend : IBackend
{
    internal readonly CachingAllocator<IlgpuBlock> Allocator;

    /// <summary>A backend on <paramref name="accelerator"/> (which it does not own: several backends with different options may
    /// share one) with these kernel choices, validated.</summary>
    public IlgpuBackend(string name, Accelerator accelerator, DeviceOptions? options = null)
    {
        Name = name;
        Accelerator = accelerator;
        Options = options ?? DeviceOptions.Default;
        Options.Validate(name, isCpu: false);
        Allocator = new CachingAllocator<IlgpuBlock>(
            (dtype, n) => dtype == DType.Float32
                ? new IlgpuBlock { F = accelerator.Allocate1D<float>(n) }
                : new IlgpuBlock { I = accelerator.Allocate1D<int>(n) },
            b => { b.F?.Dispose(); b.I?.Dispose(); });
        // Grid-stride launches: enough groups to fill the device, never one group per element.
        // ILGPU's CPU simulator runs every simulated thread on an OS thread, so there a few groups is best.
        GroupSize = Math.Min(256, accelerator.MaxNumThreadsPerGroup);
        MaxGroups = accelerator.AcceleratorType == AcceleratorType.CPU
            ? Math.Max(1, Environment.ProcessorCount)
            : Math.Max(1, accelerator.NumMultiprocessors * 8);
    }

    /// <inheritdoc />
    public string Name { get; }
    /// <summary>The ILGPU accelerator the kernels run on. It belongs to <see cref="Backends"/> and is shared by every backend of the
    /// same device, so disposing this backend does not dispose it.</summary>
    public Accelerator Accelerator { get; }
    /// <summary>The kernel choices of this device.</summary>
    public DeviceOptions Options { get; }
    /// <inheritdoc />
    public string Description => $"{Accelerator.Name} ({Accelerator.AcceleratorType}, {Accelerator.MemorySize / (1 << 20)} MiB){(Options == DeviceOptions.Default ? "" : $", {Options}")}";
    /// <summary>Threads per group of the grid-stride launches: 256, or the accelerator's maximum when that is lower.</summary>
    public int GroupSize { get; }
    /// <summary>Most groups a grid-stride launch uses: 8 per multiprocessor on a GPU, enough to fill it; one per core on ILGPU's CPU
    /// simulator, where every simulated thread is an OS thread.</summary>
    public int MaxGroups { get; }

    /// <inheritdoc />
    public Storage Allocate(int length, DType dtype) => new IlgpuStorage(this, length, dtype);

    internal static ArrayView<float> F(Storage s) => ((IlgpuStorage)s).F;
    internal static ArrayView<int> I(Storage s) => ((IlgpuStorage)s).I;

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> src, Storage dst)
    {
        if (src.Length == 0) return;
        F(dst).SubView(0, src.Length).CopyFromCPU(Accelerator.DefaultStream, src);
    }
    /// <inheritdoc />
    public void Upload(ReadOnlySpan<int> src, Storage dst)
    {
        if (src.Length == 0) return;
        I(dst).SubView(0, src.Length).CopyFromCPU(Accelerator.DefaultStream, src);
    }
    /// <inheritdoc />
    public void Download(Storage src, Span<float> dst)
    {
        if (dst.Length == 0) return;
        Accelerator.DefaultStream.Synchronize();
        F(src).SubView(0, dst.Length).CopyToCPU(Accelerator.DefaultStream, dst);
    }
    /// <inheritdoc />
    public void Download(Storage src, Span<int> dst)
    {
        if (dst.Length == 0) return;
        Accelerator.DefaultStream.Synchronize();
        I(src).SubView(0, dst.Length).CopyToCPU(Accelerator.DefaultStream, dst);
    }
    /// <inheritdoc />
    public void Synchronize() => Accelerator.Synchronize();

    /// <inheritdoc />
    public void ResetPeakMemory() => Allocator.ResetPeak();
    /// <inheritdoc />
    public MemoryStats Memory => new(Allocator.Allocations, Allocator.CacheHits,
        Allocator.ElementsInUse * 4, Allocator.ElementsReserved * 4, Allocator.PeakElementsInUse * 4);
    /// <inheritdoc />
    public void EmptyCache() => Allocator.EmptyCache();

    /// <summary>Launch shape for a grid-stride loop over n items.</summary>
    internal KernelConfig Grid1D(long n)
    {
        long groups = Math.Clamp((n + GroupSize - 1) / GroupSize, 1, MaxGroups);
        return new KernelConfig((int)groups, GroupSize);
    }

    /// <summary>Frees this backend's memory pool (the accelerator belongs to <see cref="Backends"/>, shared by the process).</summary>
    public void Dispose()
    {
        Accelerator.Synchronize();
        Allocator.Dispose();
    }
}
