using System.Diagnostics;
using System.Runtime.InteropServices;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace ScratchNet.distributed;

/// <summary>
/// NOT YET RUN ON A GPU: written and compiled without one, off unless SCRATCHNET_NCCL=1. Until a GPU run has checked it,
/// CUDA ranks use the host-memory MPI path (tested), and `train` says which path it takes.
///
/// A communicator of NCCL (libnccl.so.2, P/Invoke) over the ranks of MPI_COMM_WORLD, one CUDA device per rank: rank 0 draws
/// the 128-byte ncclUniqueId, MPI broadcasts it, every rank calls ncclCommInitRank. All-reduces are enqueued on the ILGPU
/// accelerator's default stream, the stream of every engine kernel, so they run after the kernels that produced the gradients
/// and before the optimizer's, with no host synchronisation. <see cref="Wait"/> polls cuStreamQuery (libcuda.so.1) against
/// <see cref="Distributed.Timeout"/> and checks ncclCommGetAsyncError; past the deadline it aborts the communicator and throws,
/// so a dead peer never hangs the stream.
/// </summary>
internal sealed unsafe class NcclComm : IDisposable
{
    private const int NcclFloat32 = 7, NcclAvg = 4, CudaErrorNotReady = 600;

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct UniqueId { private byte _first; }

    private static delegate* unmanaged<UniqueId*, int> _getUniqueId;
    private static delegate* unmanaged<IntPtr*, int, UniqueId, int, int> _commInitRank;
    private static delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> _allReduce;
    private static delegate* unmanaged<int> _groupStart, _groupEnd;
    private static delegate* unmanaged<IntPtr, int> _commDestroy, _commAbort;
    private static delegate* unmanaged<IntPtr, int*, int> _commGetAsyncError;
    private static delegate* unmanaged<int, byte*> _getErrorString;
    private static delegate* unmanaged<IntPtr, int> _cuStreamQuery;
    private static string? _unavailable;
    private static bool _loaded;

    private IntPtr _comm;
    private readonly IntPtr _stream;
    private readonly Accelerator _accelerator;

    /// <summary>Null when NCCL can be used; else why not ("libnccl.so.2 not found", "off: set SCRATCHNET_NCCL=1 ...").</summary>
    public static string? Unavailable()
    {
        if (_loaded || _unavailable is not null) return _unavailable;
        if (Environment.GetEnvironmentVariable("SCRATCHNET_NCCL") != "1")
            return _unavailable = "the NCCL path is not yet run on a GPU and is off (SCRATCHNET_NCCL=1 turns it on)";
        if (!NativeLibrary.TryLoad("libnccl.so.2", out var nccl)) return _unavailable = "libnccl.so.2 was not found";
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var cuda)) return _unavailable = "libcuda.so.1 was not found";
        IntPtr N(string s) => NativeLibrary.GetExport(nccl, s);
        _getUniqueId = (delegate* unmanaged<UniqueId*, int>)N("ncclGetUniqueId");
        _commInitRank = (delegate* unmanaged<IntPtr*, int, UniqueId, int, int>)N("ncclCommInitRank");
        _allReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)N("ncclAllReduce");
        _groupStart = (delegate* unmanaged<int>)N("ncclGroupStart");
        _groupEnd = (delegate* unmanaged<int>)N("ncclGroupEnd");
        _commDestroy = (delegate* unmanaged<IntPtr, int>)N("ncclCommDestroy");
        _commAbort = (delegate* unmanaged<IntPtr, int>)N("ncclCommAbort");
        _commGetAsyncError = (delegate* unmanaged<IntPtr, int*, int>)N("ncclCommGetAsyncError");
        _getErrorString = (delegate* unmanaged<int, byte*>)N("ncclGetErrorString");
        _cuStreamQuery = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(cuda, "cuStreamQuery");
        _loaded = true;
        return null;
    }

    /// <summary>Every rank calls it together (it broadcasts over MPI), with its own CUDA accelerator.</summary>
    public NcclComm(Accelerator accelerator)
    {
        if (Unavailable() is { } why) throw new DistributedException($"NCCL: {why}");
        if (accelerator is not CudaAccelerator) throw new ArgumentException($"NCCL: needs a CUDA device, got {accelerator.AcceleratorType}");
        _accelerator = accelerator;
        _stream = (accelerator.DefaultStream as CudaStream)?.StreamPtr ?? IntPtr.Zero;
        UniqueId id = default;
        accelerator.Bind();   // NCCL works on the CUDA context current on this thread
        if (Distributed.Rank == 0) Check(_getUniqueId(&id), "ncclGetUniqueId");
        Distributed.BroadcastBytes((byte*)&id, sizeof(UniqueId), 0, "broadcast of NCCL's unique id");
        IntPtr comm;
        Check(_commInitRank(&comm, Distributed.WorldSize, id, Distributed.Rank), "ncclCommInitRank");
        _comm = comm;
    }

    /// <summary>Enqueues the in-place average over the ranks of each tensor (CUDA Float32), fused into one launch.</summary>
    public void AllReduceAvg(IReadOnlyList<Tensor> tensors)
    {
        _accelerator.Bind();
        Check(_groupStart(), "ncclGroupStart");
        foreach (var t in tensors)
        {
            IntPtr p = t.AsArrayView().LoadEffectiveAddressAsPtr();
            Check(_allReduce(p, p, (nuint)t.Numel, NcclFloat32, NcclAvg, _comm, _stream), "ncclAllReduce");
        }
        Check(_groupEnd(), "ncclGroupEnd");
    }

    /// <summary>Waits, with the deadline, for the stream to drain (the all-reduces and what came before them).</summary>
    public void Wait(string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int rc = _cuStreamQuery(_stream);
            if (rc == 0) return;
            if (rc != CudaErrorNotReady) throw new DistributedException($"rank {Distributed.Rank}: {what}: cuStreamQuery failed with CUDA error {rc}");
            int async = 0;
            Check(_commGetAsyncError(_comm, &async), "ncclCommGetAsyncError");
            Check(async, what);
            if (clock.Elapsed > Distributed.Timeout)
            {
                _commAbort(_comm);
                _comm = IntPtr.Zero;
                throw new DistributedException($"rank {Distributed.Rank} of {Distributed.WorldSize}: {what} did not complete within {Distributed.Timeout.TotalSeconds:F0} s; another rank is stuck, dead or behind");
            }
            Thread.Yield();
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc == 0) return;
        throw new DistributedException($"rank {Distributed.Rank}: {what} failed: {Marshal.PtrToStringAnsi((IntPtr)_getErrorString(rc))} (NCCL error {rc})");
    }

    /// <summary>Destroys the communicator.</summary>
    public void Dispose()
    {
        if (_comm == IntPtr.Zero) return;
        _commDestroy(_comm);
        _comm = IntPtr.Zero;
    }
}
