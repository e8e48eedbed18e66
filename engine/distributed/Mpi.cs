using System.Runtime.InteropServices;

namespace ScratchNet.distributed;

/// <summary>
/// P/Invoke into Open MPI's libmpi.so.40 (Open MPI 4.x and 5.x; Debian's openmpi-bin / libopenmpi-dev).
///
/// ABI: Open MPI's predefined handles are the addresses of exported objects (MPI_COMM_WORLD is &amp;ompi_mpi_comm_world,
/// MPI_FLOAT is &amp;ompi_mpi_float, MPI_SUM is &amp;ompi_mpi_op_sum), taken here with NativeLibrary.GetExport; MPI_Request is a
/// pointer; MPI_IN_PLACE is (void*)1 and MPI_STATUS_IGNORE is NULL. MPICH and its derivatives (Intel MPI, MVAPICH) encode
/// the same handles as integer constants and MPI_IN_PLACE as (void*)-1: they are not supported, and loading reports it.
/// MPI.NET 1.4.0 was tried first: it binds msmpi.dll with MS-MPI's integer handles, so it cannot drive Open MPI on Linux.
///
/// Threads: MPI is initialised with MPI_THREAD_SERIALIZED and every call goes through <see cref="Gate"/>, so the training
/// thread and a collective started from a hook never enter libmpi at the same time.
/// </summary>
internal static unsafe class Mpi
{
    internal const int Success = 0;
    internal const int ThreadSerialized = 2;
    internal static readonly IntPtr InPlace = 1;

    internal static readonly object Gate = new();

    private static IntPtr _lib;
    internal static IntPtr CommWorld, Float, Double, Byte, OpSum, OpMax, ErrorsReturn;

    internal static delegate* unmanaged<int*, byte***, int, int*, int> Init_thread;
    internal static delegate* unmanaged<int*, int> Initialized;
    internal static delegate* unmanaged<int*, int> Finalized;
    internal static delegate* unmanaged<int> Finalize;
    internal static delegate* unmanaged<IntPtr, int*, int> Comm_rank;
    internal static delegate* unmanaged<IntPtr, int*, int> Comm_size;
    internal static delegate* unmanaged<IntPtr, IntPtr, int> Comm_set_errhandler;
    internal static delegate* unmanaged<IntPtr, void*, int, IntPtr, IntPtr, IntPtr, IntPtr*, int> Iallreduce;
    internal static delegate* unmanaged<void*, int, IntPtr, int, IntPtr, IntPtr*, int> Ibcast;
    internal static delegate* unmanaged<IntPtr, IntPtr*, int> Ibarrier;
    internal static delegate* unmanaged<IntPtr*, int*, void*, int> Test;
    internal static delegate* unmanaged<IntPtr, int, int> Abort;
    internal static delegate* unmanaged<int, byte*, int*, int> Error_string;

    /// <summary>Loads libmpi and resolves every symbol; a clear error when it is missing or not Open MPI.</summary>
    internal static void Load()
    {
        if (_lib != IntPtr.Zero) return;
        IntPtr lib = IntPtr.Zero;
        foreach (var name in new[] { "libmpi.so.40", "libmpi.so" })
            if (NativeLibrary.TryLoad(name, out lib)) break;
        if (lib == IntPtr.Zero)
            throw new DistributedException("distributed: libmpi.so.40 (Open MPI) was not found; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev)");
        if (!NativeLibrary.TryGetExport(lib, "ompi_mpi_comm_world", out CommWorld))
            throw new DistributedException("distributed: the libmpi found is not Open MPI (no ompi_mpi_comm_world symbol); only Open MPI 4.x/5.x is supported, not MPICH or its derivatives");
        IntPtr Sym(string s) => NativeLibrary.GetExport(lib, s);
        Float = Sym("ompi_mpi_float");
        Double = Sym("ompi_mpi_double");
        Byte = Sym("ompi_mpi_byte");
        OpSum = Sym("ompi_mpi_op_sum");
        OpMax = Sym("ompi_mpi_op_max");
        ErrorsReturn = Sym("ompi_mpi_errors_return");
        Init_thread = (delegate* unmanaged<int*, byte***, int, int*, int>)Sym("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Sym("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Sym("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Sym("MPI_Finalize");
        Comm_rank = (delegate* unmanaged<IntPtr, int*, int>)Sym("MPI_Comm_rank");
        Comm_size = (delegate* unmanaged<IntPtr, int*, int>)Sym("MPI_Comm_size");
        Comm_set_errhandler = (delegate* unmanaged<IntPtr, IntPtr, int>)Sym("MPI_Comm_set_errhandler");
        Iallreduce = (delegate* unmanaged<IntPtr, void*, int, IntPtr, IntPtr, IntPtr, IntPtr*, int>)Sym("MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<void*, int, IntPtr, int, IntPtr, IntPtr*, int>)Sym("MPI_Ibcast");
        Ibarrier = (delegate* unmanaged<IntPtr, IntPtr*, int>)Sym("MPI_Ibarrier");
        Test = (delegate* unmanaged<IntPtr*, int*, void*, int>)Sym("MPI_Test");
        Abort = (delegate* unmanaged<IntPtr, int, int>)Sym("MPI_Abort");
        Error_string = (delegate* unmanaged<int, byte*, int*, int>)Sym("MPI_Error_string");
        _lib = lib;
    }

    /// <summary>Throws naming <paramref name="what"/> and MPI's own error text when <paramref name="rc"/> is not MPI_SUCCESS.</summary>
    internal static void Check(int rc, string what)
    {
        if (rc == Success) return;
        var buf = stackalloc byte[512];
        int len = 0;
        string text = Error_string(rc, buf, &len) == Success ? System.Text.Encoding.ASCII.GetString(buf, Math.Clamp(len, 0, 511)) : $"code {rc}";
        throw new DistributedException($"{what} failed: {text}");
    }
}
