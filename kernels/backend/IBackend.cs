namespace ScratchNet.Kernels;

/// <summary>
/// The one op API that every device implements. It is a partial interface: each op family in
/// kernels/&lt;family&gt;/ declares its own methods next to its CPU and ILGPU implementations, so
/// the signature, the plain C# version and the GPU kernel of an op sit in one folder.
///
/// Conventions for every method:
/// - Buffers are flat row-major storages; sizes are passed explicitly.
/// - Methods whose name ends in "Backward" (and Axpy/MulAcc/Col2Im) ACCUMULATE into their output
///   (dx += ...), the autograd convention that lets one tensor feed several ops.
/// - Launches may be asynchronous on a GPU; <see cref="Synchronize"/> or a read-back waits.
/// </summary>
public partial interface IBackend : IDisposable
{
    /// <summary>Device name as the user types it: cpu, ilgpu-cpu, cuda, opencl.</summary>
    string Name { get; }
    /// <summary>A longer description (accelerator name, memory).</summary>
    string Description { get; }

    Storage Allocate(int length, DType dtype);
    void Upload(ReadOnlySpan<float> src, Storage dst);
    void Upload(ReadOnlySpan<int> src, Storage dst);
    void Download(Storage src, Span<float> dst);
    void Download(Storage src, Span<int> dst);
    void Synchronize();

    /// <summary>Allocator statistics: underlying allocations (cache misses) and bytes in use.</summary>
    MemoryStats Memory { get; }
    /// <summary>Restarts PeakBytesInUse from the bytes in use now.</summary>
    void ResetPeakMemory();
    void EmptyCache();
}

public readonly record struct MemoryStats(long Allocations, long CacheHits, long BytesInUse, long BytesReserved, long PeakBytesInUse);
