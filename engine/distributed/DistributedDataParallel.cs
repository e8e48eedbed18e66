using System.Diagnostics;
using System.Runtime.InteropServices;
using ScratchNet.nn;

namespace ScratchNet.distributed;

/// <summary>
/// torch.nn.parallel.DistributedDataParallel: wraps a module so that, after loss.Backward(), every rank holds the mean of all
/// ranks' gradients, and all ranks start from rank 0's weights and buffers (broadcast here, at construction).
///
/// Buckets: the parameters, in reverse registration order (about the order backward finishes them), are packed into buckets of
/// at most <c>bucketCapMb</c> MB (a larger parameter is a bucket of its own). A post-accumulate-grad hook on each parameter copies
/// its gradient into its bucket's host buffer; when a bucket is full it is all-reduced with MPI_Iallreduce while backward goes on
/// through the earlier layers. Buckets start strictly in index order on every rank (MPI requires the same collective order
/// everywhere). When the last parameter's gradient is in, the hook waits for the buckets and writes sum / world size back into
/// each .Grad, so the optimizer step sees averaged gradients, as with PyTorch. A parameter that received no gradient in a pass
/// (unused in the forward) never fires its hook: call <see cref="FinishGradientSync"/> after Backward() then; it sends zeros for it.
///
/// Buffers (BatchNorm's running statistics) stay local to each rank (broadcast_buffers=False). Gradients on a GPU travel through the
/// host buckets; on CUDA with SCRATCHNET_NCCL=1 and libnccl.so.2 present, each bucket is instead averaged in place on the device by
/// NCCL (<see cref="NcclComm"/>: not yet run on a GPU). <see cref="CommunicationPath"/> says which path a run takes.
/// </summary>
public sealed unsafe class DistributedDataParallel : Module, IDisposable
{
    private sealed class Bucket
    {
        public required Tensor[] Params;
        public required long[] Offsets;
        public required int Count;
        public float* Buffer;
        public int Pending;
        public required bool[] Ready;
        public Work? Work;
    }

    private readonly Bucket[] _buckets;
    private readonly Dictionary<Tensor, (int Bucket, int Slot)> _slot = new(ReferenceEqualityComparer.Instance);
    private readonly List<IDisposable> _hooks = [];
    private int _nextLaunch, _readyBuckets;
    private bool _inPass, _disposed;
    private readonly Stopwatch _sync = new();
    private readonly NcclComm? _nccl;

    /// <summary>Gives rank <paramref name="rank"/> its own dropout masks: the seed of every <see cref="Dropout"/> and
    /// <see cref="Dropout2d"/> in <paramref name="module"/> becomes Seeds.Derive(seed, rank) on ranks above 0, and rank 0 keeps
    /// the model's seeds. Every rank builds the model from the same seed, so without this each rank would drop the same
    /// positions of its different images; a checkpoint holds rank 0's seeds, from which each rank derives its stream again.</summary>
    /// <param name="module">The model, before wrapping or training.</param>
    /// <param name="rank">This process's rank, 0 ≤ rank.</param>
    public static void SeedDropoutPerRank(Module module, int rank)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (rank < 0) throw new ArgumentException($"DistributedDataParallel.SeedDropoutPerRank: rank must be >= 0, got {rank}");
        if (rank == 0) return;
        foreach (var (_, m) in module.NamedModules())
        {
            if (m is Dropout d) d.Seed = ScratchNet.data.Seeds.Derive(d.Seed, rank);
            else if (m is Dropout2d d2) d2.Seed = ScratchNet.data.Seeds.Derive(d2.Seed, rank);
        }
    }

    /// <summary>Wraps <paramref name="module"/> (registered as child "module", as in PyTorch) and broadcasts rank 0's parameters and
    /// buffers to every rank. Every rank must construct it, with the same architecture.</summary>
    /// <param name="module">The model; its parameters must be Float32 and on one device.</param>
    /// <param name="bucketCapMb">Largest bucket, in MB of Float32 gradients (PyTorch's bucket_cap_mb, 25).</param>
    public DistributedDataParallel(Module module, double bucketCapMb = 25)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!(bucketCapMb > 0)) throw new ArgumentException($"DistributedDataParallel: bucketCapMb must be > 0, got {bucketCapMb}");
        if (!Distributed.IsInitialized) throw new InvalidOperationException("DistributedDataParallel: call Distributed.InitProcessGroup() first (under mpirun)");
        Module = RegisterModule("module", module);
        foreach (var p in module.Parameters()) Distributed.Broadcast(p, 0);
        foreach (var b in module.Buffers()) if (b.DType == ScratchNet.Kernels.DType.Float32) Distributed.Broadcast(b, 0);

        long cap = Math.Max(1, (long)(bucketCapMb * 1024 * 1024 / sizeof(float)));
        var buckets = new List<Bucket>();
        var current = new List<Tensor>();
        long size = 0;
        void Close()
        {
            if (current.Count == 0) return;
            var offsets = new long[current.Count];
            long at = 0;
            for (int i = 0; i < current.Count; i++) { offsets[i] = at; at += current[i].Numel; }
            buckets.Add(new Bucket { Params = [.. current], Offsets = offsets, Count = checked((int)at), Pending = current.Count, Ready = new bool[current.Count] });
            current.Clear();
            size = 0;
        }
        foreach (var p in module.Parameters().Reverse().Where(p => p.RequiresGrad))
        {
            if (size > 0 && size + p.Numel > cap) Close();
            current.Add(p);
            size += p.Numel;
        }
        Close();
        _buckets = [.. buckets];
        _nccl = ChooseNccl(module.Device, out var path);
        CommunicationPath = path;
        for (int b = 0; b < _buckets.Length; b++)
        {
            var bucket = _buckets[b];
            if (_nccl is null) bucket.Buffer = (float*)NativeMemory.AlignedAlloc((nuint)bucket.Count * sizeof(float), 64);
            for (int i = 0; i < bucket.Params.Length; i++)
            {
                _slot[bucket.Params[i]] = (b, i);
                _hooks.Add(bucket.Params[i].RegisterPostAccumulateGradHook(OnGradReady));
            }
        }
    }

    /// <summary>How gradients travel: "MPI (host memory)" on the cpu device; on a GPU, NCCL or MPI through host memory with the
    /// reason NCCL is not used.</summary>
    public string CommunicationPath { get; }

    // Every rank must take the same path (they meet in the same collectives): NCCL only where all ranks can use it.
    private static NcclComm? ChooseNccl(Device device, out string path)
    {
        if (device.Name == "cpu") { path = "MPI (host memory)"; return null; }
        string? why = device.Name == "cuda" ? NcclComm.Unavailable() : $"NCCL needs CUDA, not {device.Name}";
        var all = new[] { why is null ? 0.0 : 1.0 };
        Distributed.AllReduce(all, ReduceOp.Max);
        if (why is null && all[0] > 0) why = "NCCL is unavailable on another rank";
        if (why is not null) { path = $"MPI through host memory ({why})"; return null; }
        path = "NCCL (not yet run on a GPU)";
        return new NcclComm(device.Accelerator!);
    }

    /// <summary>The wrapped model (what checkpoints save: its names have no "module." prefix).</summary>
    public Module Module { get; }

    /// <summary>How the gradients are grouped: each bucket's parameter count and size in MB.</summary>
    public IReadOnlyList<(int Parameters, double Mb)> Buckets => _buckets.Select(b => (b.Params.Length, b.Count * 4.0 / (1024 * 1024))).ToList();

    /// <summary>Time the last synchronisation spent waiting for all-reduces after the last gradient was ready: the part of the
    /// communication that backward did not hide.</summary>
    public TimeSpan LastExposedWait { get; private set; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Module.Forward(x);

    private void OnGradReady(Tensor p)
    {
        var (b, slot) = _slot[p];
        var bucket = _buckets[b];
        _inPass = true;
        bucket.Ready[slot] = true;
        if (_nccl is null) CopyIn(bucket, slot);
        if (--bucket.Pending == 0) _readyBuckets++;
        LaunchReady();
        if (_readyBuckets == _buckets.Length) FinishGradientSync();
    }

    /// <summary>
    /// Completes this pass's gradient averaging: starts any bucket not started yet (a parameter that got no gradient in this pass
    /// contributes its .Grad as it stands, zeros after ZeroGrad() or when it has none), waits for every all-reduce (bounded by <see cref="Distributed.Timeout"/>) and writes the means into the .Grad tensors.
    /// Called by the last gradient hook; call it yourself after Backward() when some parameters may get no gradient. Idempotent.
    /// </summary>
    public void FinishGradientSync()
    {
        if (!_inPass) return;
        foreach (var bucket in _buckets)
            for (int i = 0; i < bucket.Params.Length; i++)
            {
                if (bucket.Ready[i]) continue;
                if (bucket.Params[i].Grad is null) bucket.Params[i].GradStorage();   // zeros
                if (_nccl is null) CopyIn(bucket, i);
                bucket.Ready[i] = true;
                bucket.Pending--;
            }
        LaunchReady();
        _sync.Restart();
        if (_nccl is not null) _nccl.Wait("NCCL all-reduce of the gradients");
        else foreach (var bucket in _buckets) bucket.Work!.Wait();
        LastExposedWait = _sync.Elapsed;
        float scale = 1f / Distributed.WorldSize;
        foreach (var bucket in _buckets)
        {
            if (_nccl is null) for (int i = 0; i < bucket.Params.Length; i++) CopyOut(bucket, i, scale);
            bucket.Work = null;
            bucket.Pending = bucket.Params.Length;
            Array.Clear(bucket.Ready);
        }
        _nextLaunch = 0;
        _readyBuckets = 0;
        _inPass = false;
    }

    // Buckets start in index order only: bucket k waits for bucket k-1 to start, so every rank issues the same sequence.
    private void LaunchReady()
    {
        while (_nextLaunch < _buckets.Length && _buckets[_nextLaunch].Pending == 0)
        {
            var bucket = _buckets[_nextLaunch];
            if (_nccl is not null)
            {
                _nccl.AllReduceAvg(bucket.Params.Select(p => p.Grad!).ToArray());
                _nextLaunch++;
                continue;
            }
            bucket.Work = Distributed.AllReduceInPlace(bucket.Buffer, bucket.Count, Distributed.SumOp,
                $"all_reduce of gradient bucket {_nextLaunch} ({(bucket.Count < 262144 ? $"{bucket.Count * 4.0 / 1024:F0} KB" : $"{bucket.Count * 4.0 / (1024 * 1024):F1} MB")})");
            _nextLaunch++;
        }
        for (int k = 0; k < _nextLaunch; k++) _buckets[k].Work?.Poll();
    }

    private void CopyIn(Bucket bucket, int i)
    {
        var p = bucket.Params[i];
        var dst = new Span<float>(bucket.Buffer + bucket.Offsets[i], p.Numel);
        var g = p.Grad!;
        if (g.Storage is ScratchNet.Kernels.CpuStorage) g.AsSpan().CopyTo(dst);
        else g.ToArray().CopyTo(dst);
    }

    private void CopyOut(Bucket bucket, int i, float scale)
    {
        var p = bucket.Params[i];
        var src = new ReadOnlySpan<float>(bucket.Buffer + bucket.Offsets[i], p.Numel);
        var g = p.Grad!;
        if (g.Storage is ScratchNet.Kernels.CpuStorage)
        {
            Scale(src, scale, g.AsSpan());
        }
        else
        {
            var host = new float[p.Numel];
            Scale(src, scale, host);
            g.CopyFrom(host);
        }
    }

    private static void Scale(ReadOnlySpan<float> src, float s, Span<float> dst)
    {
        int i = 0, w = System.Numerics.Vector<float>.Count;
        for (; i <= src.Length - w; i += w) (new System.Numerics.Vector<float>(src[i..]) * s).CopyTo(dst[i..]);
        for (; i < src.Length; i++) dst[i] = src[i] * s;
    }

    /// <summary>Removes the hooks and frees the host buckets.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var h in _hooks) h.Dispose();
        foreach (var b in _buckets) { if (b.Buffer != null) NativeMemory.AlignedFree(b.Buffer); b.Buffer = null; }
        _nccl?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the host buckets if <see cref="Dispose"/> was not called.</summary>
    ~DistributedDataParallel()
    {
        foreach (var b in _buckets ?? []) if (b.Buffer != null) NativeMemory.AlignedFree(b.Buffer);
    }
}
