namespace ScratchNet.Kernels;

/// <summary>Element type of a buffer. Images, weights and gradients are Float32;
/// class labels and max-pool argmax indices are Int32.</summary>
public enum DType { Float32, Int32 }

/// <summary>
/// A flat, contiguous block of device memory holding <see cref="Length"/> elements.
/// Buffers come from a <see cref="CachingAllocator{TBlock}"/>, so the block behind a storage
/// may be larger than <see cref="Length"/>; kernels only ever touch the first Length elements.
/// Disposing a storage returns its block to the allocator (it is not freed).
/// </summary>
public abstract class Storage : IDisposable
{
    protected Storage(int length, DType dtype)
    {
        if (length < 0) throw new ArgumentException($"Storage: length must be >= 0, got {length}");
        Length = length;
        DType = dtype;
    }

    public int Length { get; }
    public DType DType { get; }
    public abstract IBackend Backend { get; }
    public bool IsDisposed { get; private set; }
    private int _refCount = 1;

    protected abstract void Release();

    /// <summary>Another tensor (a reshape view) now shares this storage; it stays alive until both dispose it.</summary>
    public void Retain()
    {
        ThrowIfDisposed("Retain");
        Interlocked.Increment(ref _refCount);
    }

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
    ~Storage()
    {
        if (!IsDisposed) { IsDisposed = true; Release(); }
    }

    public void ThrowIfDisposed(string op)
    {
        if (IsDisposed)
            throw new ObjectDisposedException(op, $"{op}: the tensor's storage was already released (it was created inside a TensorScope that has ended). Keep it with scope.Keep(t) or Detach() it before the scope ends.");
    }
}
