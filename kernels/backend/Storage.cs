namespace ScratchNet.Kernels;

/// <summary>Element type of a buffer. Images, weights and gradients are Float32;
/// class labels and max-pool argmax indices are Int32.</summary>
public enum DType
{
    /// <summary>32-bit IEEE 754 float.</summary>
    Float32,
    /// <summary>32-bit signed integer.</summary>
    Int32,
}

/// <summary>
/// A flat, contiguous block of device memory holding <see cref="Length"/> elements.
/// Buffers come from a <see cref="CachingAllocator{TBlock}"/>, so the block behind a storage
/// may be larger than <see cref="Length"/>; kernels only ever touch the first Length elements.
/// Disposing a storage returns its block to the allocator (it is not freed).
/// </summary>
public abstract class Storage : IDisposable
{
    /// <summary>Records the element count and type of a new storage; a negative <paramref name="length"/> is an ArgumentException.
    /// The reference count starts at 1.</summary>
    protected Storage(int length, DType dtype)
    {
        if (length < 0) throw new ArgumentException($"Storage: length must be >= 0, got {length}");
        Length = length;
        DType = dtype;
    }

    /// <summary>Elements the tensor may use, 4 bytes each for both dtypes. The block behind it may be longer (bucket rounding).</summary>
    public int Length { get; }
    /// <summary>Element type: Float32 for values and gradients, Int32 for labels and argmax indices.</summary>
    public DType DType { get; }
    /// <summary>The device whose memory holds the elements; only that device's kernels may be given this storage.</summary>
    public abstract IBackend Backend { get; }
    /// <summary>True once the last reference was dropped and the block went back to the allocator: the storage must not be used
    /// again (<see cref="ThrowIfDisposed"/>).</summary>
    public bool IsDisposed { get; private set; }
    private int _refCount = 1;

    /// <summary>Returns the block to the backend's allocator. Called exactly once: by the last <see cref="Dispose"/>, or by the
    /// finalizer for a storage that was never disposed (so it must not call into the driver).</summary>
    protected abstract void Release();

    /// <summary>Another tensor (a reshape view) now shares this storage; it stays alive until both dispose it.</summary>
    public void Retain()
    {
        ThrowIfDisposed("Retain");
        Interlocked.Increment(ref _refCount);
    }

    /// <summary>Drops one reference (<see cref="Retain"/> adds them); the last one returns the block to the allocator. Calls after
    /// that do nothing.</summary>
    public void Dispose()
    {
        if (IsDisposed || Interlocked.Decrement(ref _refCount) > 0) return;
        IsDisposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    // A storage that was never disposed (a tensor created outside any TensorScope and dropped)
    // still gives its block back to the pool; the pool is thread-safe, so this is safe from the
    // finalizer thread and never calls into the driver.
    /// <summary>Gives the block of a storage that was never disposed (a tensor made outside any TensorScope and dropped) back to
    /// the pool. The pool is thread-safe, so this is safe on the finalizer thread, and it never calls into the driver.</summary>
    ~Storage()
    {
        if (!IsDisposed) { IsDisposed = true; Release(); }
    }

    /// <summary>Throws ObjectDisposedException, naming <paramref name="op"/>, when the storage was already released (its tensor
    /// came from a TensorScope that has ended); the message gives the fix: scope.Keep(t) or Detach() before the scope ends.</summary>
    public void ThrowIfDisposed(string op)
    {
        if (IsDisposed)
            throw new ObjectDisposedException(op, $"{op}: the tensor's storage was already released (it was created inside a TensorScope that has ended). Keep it with scope.Keep(t) or Detach() it before the scope ends.");
    }
}
