using System.Runtime.InteropServices;

namespace ScratchNet;

/// <summary>
/// Memory release for tensors that live outside any <see cref="TensorScope"/>: the plain PyTorch-style loop
/// <code>
/// for (...) { opt.ZeroGrad(); var loss = lossFn(model.Forward(x), y); loss.Backward(); opt.Step(); }
/// </code>
/// PyTorch frees a step's intermediates by reference counting the moment the last reference goes. C# has no
/// reference counts, and a tensor's managed object is small while its device buffer is large, so the garbage
/// collector sees no reason to run: left to finalizers, the intermediates of hundreds of steps pile up in the
/// caching allocator (measured: 3 GiB instead of 10 MiB for a LeNet at batch 64).
///
/// The rule, in three parts:
/// <list type="number">
/// <item>Backward() (without retainGraph) releases what no user can reach, deterministically, as it goes: the gradient of
/// every non-leaf tensor once its node has pushed it to its inputs (as PyTorch, a non-leaf keeps no .Grad unless
/// <see cref="Tensor.RetainGrad"/> was called), and the graph itself (each node's closure and its links to its inputs), so the
/// activations and op-internal buffers it held (max-pool indices, dropout masks, softmax probabilities, a
/// <see cref="autograd.Function"/>'s saved tensors) are no longer reachable through the loss.</item>
/// <item>Every tensor created outside a scope is tracked through a weak handle. At the end of such a Backward(), once
/// at least <see cref="BackwardThresholdBytes"/> of unscoped tensors were created since the last check, the engine runs a
/// young-generation collection (a gen-1 GC: ~30 µs in a training loop, the heap being small) and at once returns to the
/// device's caching allocator the buffer of every tracked tensor that is no longer reachable. A tensor the user still
/// holds (the logits, the loss, the batch) is reachable and stays valid; it is released at the first check after it is dropped.</item>
/// <item>The same check runs while tensors are created, when more than <see cref="CreationThresholdBytes"/> (or twice what the
/// last Backward() released, if more) was created since the last one: loops that never call Backward() (inference
/// without a scope) stay bounded too.</item>
/// </list>
/// A TensorScope is still the cheapest and most exact tool (no collection at all); its tensors are not tracked.
/// A raw view of a tensor's buffer (Storage, <see cref="Tensor.AsArrayView"/>, <see cref="Tensor.AsSpan"/>) does not keep
/// the tensor alive: keep the tensor referenced (or GC.KeepAlive it) while the view is in use.
/// Checks run on the thread that created the tensors; each thread tracks its own.
/// </summary>
public static class TensorMemory
{
    /// <summary>Whether tensors created outside a scope are tracked and released once unreachable (default true). When false
    /// they are left to the garbage collector's finalizers, as before.</summary>
    public static bool AutoRelease { get; set; } = true;

    /// <summary>A Backward() outside any scope runs a check when at least this many bytes of unscoped tensors were created since
    /// the last one (default 1 MiB: a graph of a few kilobytes does not pay for a collection every time).</summary>
    public static long BackwardThresholdBytes { get; set; } = 1L << 20;

    /// <summary>Creating a tensor outside any scope runs a check when more than this many bytes of unscoped tensors were created
    /// since the last one, or twice the bytes the last Backward() check saw, if that is more (default 16 MiB).</summary>
    public static long CreationThresholdBytes { get; set; } = 16L << 20;

    /// <summary>Checks run so far, on every thread.</summary>
    public static long Checks => Interlocked.Read(ref _checks);

    /// <summary>Tensors whose buffers the checks returned to the allocator so far, on every thread.</summary>
    public static long ReleasedTensors => Interlocked.Read(ref _released);

    /// <summary>Tensors this thread tracks now (created outside a scope, neither disposed nor found unreachable yet).</summary>
    public static int TrackedTensors => _tracker?.Count ?? 0;

    /// <summary>
    /// Runs a check now on this thread's tensors: a collection (gen 2 with <paramref name="full"/>, else gen 1), then the buffer
    /// of every unreachable tracked tensor goes back to its device's pool. Returns the number of tensors released.
    /// Tensors referenced by the caller's own frame (its locals) count as reachable.
    /// </summary>
    public static int Collect(bool full = false) => _tracker?.Check(full ? 2 : 1) ?? 0;

    private static long _checks, _released;
    [ThreadStatic] private static Tracker? _tracker;

    /// <summary>Tracks a tensor created outside any scope; null when <see cref="AutoRelease"/> is off.</summary>
    internal static Lease? Track(Tensor t)
    {
        if (!AutoRelease) return null;
        var tracker = _tracker ??= new Tracker();
        var lease = new Lease(t);
        tracker.Add(lease);
        return lease;
    }

    /// <summary>Called at the end of a Backward() that ran outside any scope and freed its graph.</summary>
    internal static void AfterBackward() => _tracker?.AfterBackward();

    /// <summary>
    /// The tracker's share of a tensor's storage reference: released once, by Tensor.Dispose or by a check that found
    /// the tensor unreachable, whichever comes first. It holds the storage strongly, so a dead tensor's buffer is never
    /// left to a finalizer while it is tracked.
    /// </summary>
    internal sealed class Lease
    {
        private GCHandle _handle;
        private int _released;

        public Lease(Tensor t)
        {
            Storage = t.Storage;
            Bytes = 4L * t.Numel;
            // Long weak: cleared only when the tensor is really gone, not while a finalizable object can still reach it.
            _handle = GCHandle.Alloc(t, GCHandleType.WeakTrackResurrection);
        }

        /// <summary>The tensor's current storage (Module.To moves it).</summary>
        public Kernels.Storage Storage;
        public readonly long Bytes;
        public int Age;
        public bool IsReleased => Volatile.Read(ref _released) != 0;
        public bool IsUnreachable => _handle.Target is null;

        /// <summary>Gives back the tensor's reference to its storage (once).</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) Storage.Dispose();
        }

        public void FreeHandle()
        {
            if (_handle.IsAllocated) _handle.Free();
        }
    }

    private sealed class Tracker
    {
        private readonly List<Lease> _leases = new();
        private long _young;          // bytes created since the last check
        private long _lastBackward;   // bytes the last Backward()-triggered check saw
        private long _oldBaseline;    // bytes of gen-2 survivors after the last full check
        private bool _fullNext;
        private int _gen2;            // gen-2 collections counted at the last check

        public int Count => _leases.Count;

        public void Add(Lease lease)
        {
            _leases.Add(lease);
            _young += lease.Bytes;
            if (_young > Math.Max(CreationThresholdBytes, 2 * _lastBackward)) Check(_fullNext ? 2 : 1);
        }

        public void AfterBackward()
        {
            if (_young < BackwardThresholdBytes) return;
            _lastBackward = _young;
            Check(_fullNext ? 2 : 1);
        }

        public int Check(int generation)
        {
            long young = _young;
            GC.Collect(generation, GCCollectionMode.Forced, blocking: true);
            Interlocked.Increment(ref _checks);
            int released = Sweep(age: true, out long survivedYoung, out long old);
            // A background gen-2 collection that runs while ours happens can leave dead young objects unreclaimed until it
            // ends (seen when the pool's first steps allocate large blocks). Then, if most of what was young survived, a
            // blocking full collection finds them now rather than a step later.
            int gen2 = GC.CollectionCount(2);
            if (generation < 2 && gen2 != _gen2 && survivedYoung > Math.Max(BackwardThresholdBytes, young / 2))
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true);
                Interlocked.Increment(ref _checks);
                released += Sweep(age: false, out _, out old);
                generation = 2;
                gen2 = GC.CollectionCount(2);
            }
            _gen2 = gen2;
            _young = 0;
            if (generation >= 2) _oldBaseline = old;
            // Dead tensors in gen 2 are only found by a full collection. They get there when something kept them reachable
            // over two checks; once they add up to a step's worth (or 4 MiB), the next check is a full one.
            _fullNext = old > _oldBaseline + Math.Max(_lastBackward, 4L << 20);
            Interlocked.Add(ref _released, released);
            return released;
        }

        /// <summary>Releases the unreachable tracked tensors and forgets the released ones; the survivors age by one check
        /// when <paramref name="age"/>. Returns the number released, the bytes of survivors that were young and of old ones.</summary>
        private int Sweep(bool age, out long survivedYoung, out long old)
        {
            int released = 0, kept = 0;
            survivedYoung = old = 0;
            for (int i = 0; i < _leases.Count; i++)
            {
                var lease = _leases[i];
                if (!lease.IsReleased && lease.IsUnreachable) { lease.Release(); released++; }
                if (lease.IsReleased) { lease.FreeHandle(); continue; }
                if (age)
                {
                    if (lease.Age == 0) survivedYoung += lease.Bytes;
                    lease.Age++;
                }
                // Two survived collections put a tensor in gen 2, which a gen-1 collection does not look at.
                if (lease.Age >= 2) old += lease.Bytes;
                _leases[kept++] = lease;
            }
            _leases.RemoveRange(kept, _leases.Count - kept);
            return released;
        }
    }
}
