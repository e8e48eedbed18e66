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

    /// <summary>A storage of <paramref name="length"/> elements of <paramref name="dtype"/> from the device's caching allocator
    /// (the block is rounded up to its size bucket). Its contents are unspecified, since a cached block keeps what it last held:
    /// write it before reading it.</summary>
    Storage Allocate(int length, DType dtype);
    /// <summary>Copies the host floats <paramref name="src"/> into the first src.Length elements of the Float32 storage
    /// <paramref name="dst"/> (host to device; a plain copy on the cpu).</summary>
    void Upload(ReadOnlySpan<float> src, Storage dst);
    /// <summary>Copies the host ints <paramref name="src"/> into the first src.Length elements of the Int32 storage
    /// <paramref name="dst"/> (labels, argmax indices).</summary>
    void Upload(ReadOnlySpan<int> src, Storage dst);
    /// <summary>Waits for the kernels already launched, then copies the first dst.Length elements of the Float32 storage
    /// <paramref name="src"/> into the host span <paramref name="dst"/>.</summary>
    void Download(Storage src, Span<float> dst);
    /// <summary>Waits for the kernels already launched, then copies the first dst.Length elements of the Int32 storage
    /// <paramref name="src"/> into the host span <paramref name="dst"/>.</summary>
    void Download(Storage src, Span<int> dst);
    /// <summary>Blocks until every kernel launched on this device has finished. A no-op on the cpu, whose kernels return when done.</summary>
    void Synchronize();

    /// <summary>Allocator statistics: underlying allocations (cache misses) and bytes in use.</summary>
    MemoryStats Memory { get; }
    /// <summary>Restarts PeakBytesInUse from the bytes in use now.</summary>
    void ResetPeakMemory();
    /// <summary>Frees the cached blocks that no storage holds, so BytesReserved falls to BytesInUse; live storages stay valid.
    /// The next allocation of a freed size is a cache miss again.</summary>
    void EmptyCache();
}

/// <summary>A device's allocator statistics (<see cref="IBackend.Memory"/>). Sizes are in bytes of bucket-rounded blocks,
/// 4 bytes per element for both dtypes; counts run from the backend's creation.</summary>
/// <param name="Allocations">Calls to the underlying allocator (cache misses): steady once a training loop repeats its sizes.</param>
/// <param name="CacheHits">Requests served from a cached block.</param>
/// <param name="BytesInUse">Bytes of the blocks held by live storages now.</param>
/// <param name="BytesReserved">Bytes the allocator holds: in use plus cached (until <see cref="IBackend.EmptyCache"/>).</param>
/// <param name="PeakBytesInUse">Highest BytesInUse since creation or the last <see cref="IBackend.ResetPeakMemory"/>.</param>
public readonly record struct MemoryStats(long Allocations, long CacheHits, long BytesInUse, long BytesReserved, long PeakBytesInUse);
