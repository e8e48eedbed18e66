using System.Runtime.InteropServices;

namespace ScratchNet.Bench;

/// <summary>
/// OpenBLAS's cblas_sgemm through P/Invoke (the same approach as bench/SgemmBench.cs), the CPU SGEMM baseline of
/// `scratchnet bench`. OPENBLAS_CORETYPE decides which OpenBLAS kernels run and is read once, when the library
/// loads; this machine's environment presets it to Haswell (AVX2 kernels, half of OpenBLAS's speed on an AVX-512
/// CPU). <see cref="Load"/> therefore sets OPENBLAS_CORETYPE=SkylakeX with libc setenv (the managed
/// Environment.SetEnvironmentVariable does not reach native getenv on Linux) BEFORE it loads libopenblas, so no
/// re-exec is needed. Nothing else in the process loads OpenBLAS earlier.
/// </summary>
public static unsafe class OpenBlas
{
    const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112;

    static delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    static bool _tried;
    static string _description = "";

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>True when libopenblas is loaded (after <see cref="Load"/>).</summary>
    public static bool Available => _sgemm != null;

    /// <summary>Core name, threads and OPENBLAS_CORETYPE, or why it is not available.</summary>
    public static string Description => _description;

    /// <summary>Sets OPENBLAS_CORETYPE (unless "env") and loads libopenblas.so.0 once. Returns <see cref="Available"/>.</summary>
    public static bool Load(string coreType = "SkylakeX")
    {
        if (_tried) return Available;
        _tried = true;
        string core = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)";
        if (coreType != "env" && OperatingSystem.IsLinux())
        {
            SetEnv("OPENBLAS_CORETYPE", coreType, 1);
            core = coreType;
        }
        if (!NativeLibrary.TryLoad("libopenblas.so.0", out var lib) && !NativeLibrary.TryLoad("libopenblas.so", out lib))
        {
            _description = "libopenblas not found (install libopenblas0 to compare)";
            return false;
        }
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(lib, "cblas_sgemm");
        string name = "?";
        if (NativeLibrary.TryGetExport(lib, "openblas_get_corename", out var corename))
            name = Marshal.PtrToStringAnsi(((delegate* unmanaged<nint>)corename)()) ?? "?";
        int threads = NativeLibrary.TryGetExport(lib, "openblas_get_num_threads", out var nt) ? ((delegate* unmanaged<int>)nt)() : 0;
        _description = $"OpenBLAS core {name}, {threads} threads (OPENBLAS_CORETYPE={core})";
        return true;
    }

    /// <summary>C = op(A)·op(B), row-major, C overwritten (beta 0).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float[] a, float[] b, float[] c)
    {
        if (_sgemm == null) throw new InvalidOperationException("OpenBLAS is not loaded");
        fixed (float* pa = a, pb = b, pc = c)
            _sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                m, n, k, 1f, pa, transA ? m : k, pb, transB ? k : n, 0f, pc, n);
    }
}
