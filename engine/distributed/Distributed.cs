using System.Globalization;
using System.Runtime.InteropServices;

namespace ScratchNet.distributed;

/// <summary>The reduction of <see cref="Distributed.AllReduce(Tensor, ReduceOp)"/> (torch.distributed.ReduceOp).</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum over the ranks.</summary>
    Sum,
    /// <summary>The sum divided by the world size.</summary>
    Avg,
    /// <summary>Element-wise maximum over the ranks.</summary>
    Max,
}

/// <summary>
/// The process group (torch.distributed): one process per rank, started by Open MPI's mpirun, all of them in
/// MPI_COMM_WORLD. <see cref="InitProcessGroup"/> once per process, then the collectives, each called by every rank in the
/// same order (MPI's rule; a rank that skips one makes the others wait until <see cref="Timeout"/>).
///
/// Every collective is nonblocking underneath (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) and waited for by polling MPI_Test
/// against a deadline, so a dead or stuck peer ends in a <see cref="DistributedException"/> naming this rank, never in a hang.
/// Tensors on a GPU are staged through host memory (this build has no NCCL path).
/// </summary>
public static unsafe class Distributed
{
    private static bool _initialized;

    /// <summary>Whether <see cref="InitProcessGroup"/> has run in this process (and <see cref="DestroyProcessGroup"/> not yet).</summary>
    public static bool IsInitialized => _initialized;
    /// <summary>This process's rank in [0, <see cref="WorldSize"/>); 0 when not initialised.</summary>
    public static int Rank { get; private set; }
    /// <summary>The number of ranks; 1 when not initialised.</summary>
    public static int WorldSize { get; private set; } = 1;
    /// <summary>The rank among the processes on this host (OMPI_COMM_WORLD_LOCAL_RANK): which local GPU a rank takes.</summary>
    public static int LocalRank => EnvInt("OMPI_COMM_WORLD_LOCAL_RANK") ?? EnvInt("MPI_LOCALRANKID") ?? 0;
    /// <summary>The longest a collective may wait for the other ranks: 600 s (the first steps include each rank's JIT compilation),
    /// or SCRATCHNET_DIST_TIMEOUT seconds, read by <see cref="InitProcessGroup"/>.</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>torch.distributed.get_rank().</summary>
    public static int GetRank() => Rank;
    /// <summary>torch.distributed.get_world_size().</summary>
    public static int GetWorldSize() => WorldSize;

    /// <summary>
    /// The world size the launcher announced in the environment (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_SIZE
    /// of other launchers), or null when this process was not started by mpirun.
    /// </summary>
    public static int? LauncherWorldSize() => EnvInt("OMPI_COMM_WORLD_SIZE") ?? EnvInt("PMI_SIZE") ?? EnvInt("PMIX_SIZE");

    /// <summary>
    /// torch.distributed.init_process_group(backend="mpi"): loads Open MPI, MPI_Init_thread (SERIALIZED), reads rank and world
    /// size. Refuses, with the command to use, a process that mpirun did not start; idempotent.
    /// </summary>
    /// <param name="backend">"mpi" (the only one: GPU tensors travel through host memory).</param>
    public static void InitProcessGroup(string backend = "mpi")
    {
        if (_initialized) return;
        if (backend != "mpi") throw new ArgumentException($"InitProcessGroup: backend '{backend}' is not available; this build has \"mpi\" (Open MPI)");
        if (LauncherWorldSize() is null)
            throw new DistributedException("distributed: this process was not started by mpirun (no OMPI_COMM_WORLD_SIZE or PMI_SIZE in the environment); launch it as: mpirun -np N <command>");
        if (EnvInt("OMPI_COMM_WORLD_SIZE") is null)
            throw new DistributedException("distributed: the launcher is not Open MPI's mpirun (PMI_SIZE without OMPI_COMM_WORLD_SIZE); only Open MPI 4.x/5.x is supported");
        if (Environment.GetEnvironmentVariable("SCRATCHNET_DIST_TIMEOUT") is { } t)
            Timeout = EnvInt("SCRATCHNET_DIST_TIMEOUT") is int s && s > 0 ? TimeSpan.FromSeconds(s)
                : throw new DistributedException($"distributed: SCRATCHNET_DIST_TIMEOUT must be a whole number of seconds > 0, got '{t}'");
        Mpi.Load();
        int flag = 0, provided = 0, rank = 0, size = 0;
        lock (Mpi.Gate)
        {
            Mpi.Check(Mpi.Initialized(&flag), "MPI_Initialized");
            if (flag == 0) Mpi.Check(Mpi.Init_thread(null, null, Mpi.ThreadSerialized, &provided), "MPI_Init_thread");
            Mpi.Check(Mpi.Comm_set_errhandler(Mpi.CommWorld, Mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
            Mpi.Check(Mpi.Comm_rank(Mpi.CommWorld, &rank), "MPI_Comm_rank");
            Mpi.Check(Mpi.Comm_size(Mpi.CommWorld, &size), "MPI_Comm_size");
        }
        if (flag == 0 && provided < Mpi.ThreadSerialized)
            throw new DistributedException($"distributed: Open MPI provides thread level {provided}, below MPI_THREAD_SERIALIZED");
        (Rank, WorldSize, _initialized) = (rank, size, true);
        // mpirun reports a rank that exits after MPI_Init without MPI_Finalize as a failure of the job.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DestroyProcessGroup();
    }

    /// <summary>torch.distributed.destroy_process_group(): MPI_Finalize (after which MPI cannot start again in this process).</summary>
    public static void DestroyProcessGroup()
    {
        if (!_initialized) return;
        _initialized = false;
        lock (Mpi.Gate)
        {
            int finalized = 0;
            Mpi.Finalized(&finalized);
            if (finalized == 0) Mpi.Finalize();
        }
    }

    /// <summary>Ends every rank of the job now (MPI_Abort); mpirun reports this rank and <paramref name="code"/>. Never returns.</summary>
    public static void Abort(int code = 1)
    {
        if (_initialized) Mpi.Abort(Mpi.CommWorld, code);
        Environment.Exit(code);
    }

    /// <summary>torch.distributed.barrier(): returns once every rank has called it.</summary>
    public static void Barrier()
    {
        RequireInit("Barrier");
        IntPtr req;
        lock (Mpi.Gate) Mpi.Check(Mpi.Ibarrier(Mpi.CommWorld, &req), "MPI_Ibarrier");
        new Work(req, "barrier").Wait();
    }

    /// <summary>torch.distributed.all_reduce: <paramref name="tensor"/> (Float32, any device) becomes the reduction of every
    /// rank's values, in place.</summary>
    public static void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        RequireInit("AllReduce");
        Staged(tensor, "AllReduce", span =>
        {
            fixed (float* p = span) AllReduceInPlace(p, span.Length, op == ReduceOp.Max ? Mpi.OpMax : Mpi.OpSum, $"all_reduce of {tensor.ShapeString}").Wait();
            if (op == ReduceOp.Avg) { float s = 1f / WorldSize; foreach (ref var v in span) v *= s; }
        });
    }

    /// <summary>The reduction of host numbers over the ranks, in place (metrics: loss sums, counts).</summary>
    public static void AllReduce(double[] values, ReduceOp op = ReduceOp.Sum)
    {
        RequireInit("AllReduce");
        IntPtr req;
        fixed (double* p = values)
        {
            lock (Mpi.Gate)
                Mpi.Check(Mpi.Iallreduce(Mpi.InPlace, p, values.Length, Mpi.Double, op == ReduceOp.Max ? Mpi.OpMax : Mpi.OpSum, Mpi.CommWorld, &req), "MPI_Iallreduce");
            new Work(req, $"all_reduce of {values.Length} metric value(s)").Wait();
        }
        if (op == ReduceOp.Avg) for (int i = 0; i < values.Length; i++) values[i] /= WorldSize;
    }

    /// <summary>torch.distributed.broadcast: every rank's <paramref name="tensor"/> receives rank <paramref name="src"/>'s values.</summary>
    public static void Broadcast(Tensor tensor, int src = 0)
    {
        RequireInit("Broadcast");
        if (src < 0 || src >= WorldSize) throw new ArgumentException($"Broadcast: src {src} is not a rank of a world of {WorldSize}");
        Staged(tensor, "Broadcast", span =>
        {
            fixed (float* p = span)
            {
                for (int at = 0; at < span.Length; at += MaxCount)
                {
                    int n = Math.Min(MaxCount, span.Length - at);
                    IntPtr req;
                    lock (Mpi.Gate) Mpi.Check(Mpi.Ibcast(p + at, n, Mpi.Float, src, Mpi.CommWorld, &req), "MPI_Ibcast");
                    new Work(req, $"broadcast of {tensor.ShapeString} from rank {src}").Wait();
                }
            }
        });
    }

    // MPI counts are ints: larger buffers go in pieces.
    private const int MaxCount = 1 << 30;

    /// <summary>Starts an in-place MPI_Iallreduce of Float32 host memory (pinned or native: it must not move until done).</summary>
    internal static Work AllReduceInPlace(float* buffer, int count, IntPtr op, string what)
    {
        IntPtr req;
        lock (Mpi.Gate) Mpi.Check(Mpi.Iallreduce(Mpi.InPlace, buffer, count, Mpi.Float, op, Mpi.CommWorld, &req), $"MPI_Iallreduce ({what})");
        return new Work(req, what);
    }

    internal static IntPtr SumOp => Mpi.OpSum;

    /// <summary>Broadcasts <paramref name="count"/> bytes from rank <paramref name="src"/> (NCCL's unique id).</summary>
    internal static void BroadcastBytes(byte* buffer, int count, int src, string what)
    {
        RequireInit("Broadcast");
        IntPtr req;
        lock (Mpi.Gate) Mpi.Check(Mpi.Ibcast(buffer, count, Mpi.Byte, src, Mpi.CommWorld, &req), "MPI_Ibcast");
        new Work(req, what).Wait();
    }

    // A cpu tensor is reduced in its own buffer; a GPU tensor through a host copy (MPI here is not CUDA-aware).
    private static void Staged(Tensor tensor, string op, SpanAction act)
    {
        if (tensor.DType != ScratchNet.Kernels.DType.Float32) throw new ArgumentException($"{op}: tensor {tensor.ShapeString} is {tensor.DType}; collectives take Float32 tensors");
        if (tensor.Storage is ScratchNet.Kernels.CpuStorage) { act(tensor.AsSpan()); return; }
        var host = tensor.ToArray();
        act(host);
        tensor.CopyFrom(host);
    }

    private delegate void SpanAction(Span<float> span);

    private static void RequireInit(string op)
    {
        if (!_initialized) throw new InvalidOperationException($"{op}: the process group is not initialised; call Distributed.InitProcessGroup() first (under mpirun)");
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : null;
}
