namespace ScratchNet.Kernels;

/// <summary>
/// A size-bucketed caching allocator, the same idea as PyTorch's CUDA caching allocator in miniature.
///
/// A request for n elements is rounded up to a bucket size (four buckets per power of two, so at most
/// 25% of a block is wasted) and served from that bucket's free list when it has a block; only on a miss
/// does it call the underlying allocator (cuMemAlloc on CUDA, `new float[]` on the CPU). Returned blocks go
/// back on their free list and are never freed until <see cref="EmptyCache"/>. In a training loop every
/// step asks for the same sizes, so after the first step the allocator serves everything from the cache:
/// <see cref="Allocations"/> stops growing and device memory stays flat.
/// </summary>
public sealed class CachingAllocator<TBlock> : IDisposable where TBlock : class
{
    private readonly Func<DType, long, TBlock> _allocate;
    private readonly Action<TBlock> _free;
    private readonly Dictionary<(DType, long), Stack<TBlock>> _freeLists = new();
    // Every block ever allocated, in use or cached. Holding them here keeps a block reachable while the
    // Storage that rents it is being finalized: otherwise both die together, the block's own finalizer
    // (ILGPU's MemoryBuffer has one) frees the device memory, and the pool would hand out a dead buffer.
    private readonly HashSet<TBlock> _owned = new(ReferenceEqualityComparer.Instance);
    private readonly object _lock = new();

    /// <summary>An allocator over <paramref name="allocate"/> (called with a dtype and a bucket size in elements, on a miss) and
    /// <paramref name="free"/> (called for each cached block by <see cref="EmptyCache"/>).</summary>
    public CachingAllocator(Func<DType, long, TBlock> allocate, Action<TBlock> free)
    {
        _allocate = allocate;
        _free = free;
    }

    /// <summary>Number of times the underlying allocator was called (cache misses).</summary>
    public long Allocations { get; private set; }
    /// <summary>Number of requests served from the cache.</summary>
    public long CacheHits { get; private set; }
    /// <summary>Elements currently handed out.</summary>
    public long ElementsInUse { get; private set; }
    /// <summary>Elements held by the allocator in total (in use + cached).</summary>
    public long ElementsReserved { get; private set; }
    /// <summary>Highest ElementsInUse since creation or the last <see cref="ResetPeak"/>.</summary>
    public long PeakElementsInUse { get; private set; }

    /// <summary>Rounds n up to its bucket: 4 sizes per octave (1, 1.25, 1.5, 1.75 × 2^k), minimum 64.</summary>
    public static long BucketSize(long n)
    {
        if (n <= 64) return 64;
        int log2 = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(n - 1));
        long step = Math.Max(1L, (1L << log2) / 4);
        return (n + step - 1) / step * step;
    }

    /// <summary>A block of at least <paramref name="n"/> elements: one of the bucket's cached blocks, else a new one.
    /// <paramref name="capacity"/> receives the bucket size, which <see cref="Return"/> needs back.</summary>
    public TBlock Rent(DType dtype, long n, out long capacity)
    {
        capacity = BucketSize(n);
        lock (_lock)
        {
            ElementsInUse += capacity;
            PeakElementsInUse = Math.Max(PeakElementsInUse, ElementsInUse);
            if (_freeLists.TryGetValue((dtype, capacity), out var stack) && stack.Count > 0)
            {
                CacheHits++;
                return stack.Pop();
            }
            Allocations++;
            ElementsReserved += capacity;
        }
        var block = _allocate(dtype, capacity);
        lock (_lock) _owned.Add(block);
        return block;
    }

    /// <summary>Puts a rented block back on the free list of its (dtype, capacity) bucket; it is not freed.</summary>
    public void Return(TBlock block, DType dtype, long capacity)
    {
        lock (_lock)
        {
            ElementsInUse -= capacity;
            if (!_freeLists.TryGetValue((dtype, capacity), out var stack))
                _freeLists[(dtype, capacity)] = stack = new Stack<TBlock>();
            stack.Push(block);
        }
    }

    /// <summary>Starts a new peak measurement from what is in use now.</summary>
    public void ResetPeak() { lock (_lock) PeakElementsInUse = ElementsInUse; }

    /// <summary>Frees every cached block that is not in use.</summary>
    public void EmptyCache()
    {
        lock (_lock)
        {
            foreach (var ((_, cap), stack) in _freeLists)
                while (stack.Count > 0)
                {
                    var block = stack.Pop();
                    _owned.Remove(block);
                    _free(block);
                    ElementsReserved -= cap;
                }
        }
    }

    /// <summary>Frees the cached blocks (<see cref="EmptyCache"/>); blocks still rented are left to their storages.</summary>
    public void Dispose() => EmptyCache();
}
