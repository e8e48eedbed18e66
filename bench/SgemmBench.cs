using System.Diagnostics;
using System.Runtime.InteropServices;
using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// `dotnet run -c Release --project bench -- sgemm [--path simd|avx512|avx2|vector] [--threads N] [--rounds R] [--quick]
///     [--cputime] [--openblas-core SkylakeX|Haswell|...|env]`
///
/// Our Sgemm against OpenBLAS's cblas_sgemm (libopenblas.so.0, e.g. `apt-get install libopenblas0`) in
/// the same process, on the same buffers, timings interleaved round by round so that both see the same
/// machine load. Per shape it prints the best GFLOP/s of each (and the median), and the ratio ours/OpenBLAS.
///
/// OPENBLAS_CORETYPE decides which OpenBLAS kernels run, and this machine's environment presets it to
/// Haswell (AVX2 kernels: half of OpenBLAS's speed on this AVX-512 CPU). The bench therefore sets
/// OPENBLAS_CORETYPE=SkylakeX (AVX-512 kernels) for its own process; `--openblas-core NAME` picks another
/// core (e.g. Haswell, to compare with `--path avx2`), `env` keeps the inherited value (unset, OpenBLAS
/// 0.3.21 detects this Zen 5 as Cooperlake, AVX-512 kernels as fast as SkylakeX's). The variable must be
/// in the native environment before the library loads, so it is set with libc setenv: the managed
/// Environment.SetEnvironmentVariable does not reach native getenv on Linux. The header line prints the
/// core OpenBLAS actually chose.
///
/// On a shared machine, wall-clock numbers swing with other processes; both libraries are timed in the
/// same rounds, so compare the ratio columns. `--threads 1 --cputime` times the calling thread's CPU
/// time instead, which measures per-core kernel efficiency even while other processes hold the cores.
/// </summary>
public static unsafe class SgemmBench
{
    const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112;

    static delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _cblasSgemm;

    [DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int ClockGetTime(int clock, long* time); // struct timespec { long tv_sec; long tv_nsec; }
    const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID

    /// <summary>--cputime: time the calling thread's CPU time instead of wall-clock time (single-threaded runs
    /// only). The time other processes hold the core is then not counted, which makes per-core kernel
    /// efficiency measurable on a loaded machine.</summary>
    static bool _cpuTime;
    static KernelPath _path = KernelPath.Simd;
    static int _threads = Environment.ProcessorCount;

    static double Now()
    {
        if (!_cpuTime) return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        long* t = stackalloc long[2];
        ClockGetTime(ClockThreadCpuTime, t);
        return t[0] + t[1] * 1e-9;
    }

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    record Shape(string Name, bool TransA, bool TransB, int M, int N, int K);

    public static int Run(string[] args)
    {
        var path = KernelPath.Simd;
        int rounds = 7;
        bool quick = false;
        string openBlasCore = "SkylakeX";
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--path": path = DeviceOptions.ParseKernels(args[++i]) ?? throw new ArgumentException($"sgemm: --path must be simd, avx512, avx2 or vector, got {args[i]}"); break;
                case "--threads": _threads = int.Parse(args[++i]); break;
                case "--rounds": rounds = int.Parse(args[++i]); break;
                case "--quick": quick = true; break;
                case "--cputime": _cpuTime = true; break;
                case "--openblas-core": openBlasCore = args[++i]; break;
                default: Console.Error.WriteLine($"sgemm: unknown argument {args[i]}"); return 2;
            }
        }
        _path = path;
        if (_cpuTime && _threads != 1) { Console.Error.WriteLine("sgemm: --cputime needs --threads 1"); return 2; }
        string openBlas = LoadOpenBlas(openBlasCore);

        var shapes = new List<Shape>
        {
            new("256²", false, false, 256, 256, 256),
            new("512²", false, false, 512, 512, 512),
            new("1024²", false, false, 1024, 1024, 1024),
            new("2048²", false, false, 2048, 2048, 2048),
        };
        if (!quick)
            shapes.AddRange(
            [
                new("1024² NT", false, true, 1024, 1024, 1024),
                new("1024² TN", true, false, 1024, 1024, 1024),
                // AlexNet-like convolutions as im2col GEMMs: weights [Cout, Cin·k·k] · columns [Cin·k·k, H·W·batch]
                new("conv2 fwd", false, false, 192, 16384, 1600),
                new("conv1 fwd", false, false, 64, 12100, 363),
                new("conv3 fwd", false, false, 384, 10816, 1728),
                // conv2 weight gradient dW = dY · colsᵀ and input gradient dcols = Wᵀ · dY
                new("conv2 dW (NT)", false, true, 192, 1600, 16384),
                new("conv2 dX (TN)", true, false, 1600, 16384, 192),
            ]);

        Console.WriteLine($"Sgemm path {(path == KernelPath.Simd ? Sgemm.BestPath : path)}, {Math.Min(_threads, Environment.ProcessorCount)} threads; " +
                          $"OpenBLAS: {openBlas}; {rounds} interleaved rounds, best (median) GFLOP/s{(_cpuTime ? " per thread CPU second" : "")}");
        Console.WriteLine($"{"shape",-14} {"M",6} {"N",6} {"K",6} | {"ours",16} | {"OpenBLAS",16} | {"ratio best",10} {"(median)",9} | max rel diff");
        foreach (var s in shapes) RunShape(s, rounds);
        return 0;
    }

    static string LoadOpenBlas(string core)
    {
        string coreType = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)";
        if (core != "env")
        {
            SetEnv("OPENBLAS_CORETYPE", core, 1);
            coreType = core;
        }
        if (!NativeLibrary.TryLoad("libopenblas.so.0", out var lib) && !NativeLibrary.TryLoad("libopenblas.so", out lib))
            return "not found (install libopenblas0 to compare)";
        _cblasSgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(lib, "cblas_sgemm");
        string name = "?";
        if (NativeLibrary.TryGetExport(lib, "openblas_get_corename", out var corename))
            name = Marshal.PtrToStringAnsi(((delegate* unmanaged<nint>)corename)()) ?? "?";
        if (_threads < Environment.ProcessorCount && NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var setThreads))
            ((delegate* unmanaged<int, void>)setThreads)(_threads); // --threads applies to both
        int threads = NativeLibrary.TryGetExport(lib, "openblas_get_num_threads", out var nt) ? ((delegate* unmanaged<int>)nt)() : 0;
        return $"core {name}, {threads} threads (OPENBLAS_CORETYPE={coreType})";
    }

    static void RunShape(Shape s, int rounds)
    {
        int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N, ldc = s.N;
        long na = (long)s.M * s.K, nb = (long)s.K * s.N, nc = (long)s.M * s.N;
        float* a = Alloc(na), b = Alloc(nb), c1 = Alloc(nc), c2 = Alloc(nc);
        var rng = new Random(42);
        for (long i = 0; i < na; i++) a[i] = rng.NextSingle() * 2 - 1;
        for (long i = 0; i < nb; i++) b[i] = rng.NextSingle() * 2 - 1;

        double flops = 2.0 * s.M * s.N * s.K;
        void Ours() => Sgemm.Gemm(_path, s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c1, ldc, _threads);
        void Blas() => _cblasSgemm(CblasRowMajor, s.TransA ? CblasTrans : CblasNoTrans, s.TransB ? CblasTrans : CblasNoTrans,
            s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c2, ldc);
        bool haveBlas = _cblasSgemm != null;

        // Warm-up (JIT, pack buffers, OpenBLAS threads) for ~0.2 s, then calls per timing: enough for
        // ~30 ms, so small shapes are neither timer noise nor dominated by the first call's thread wake-up.
        if (haveBlas) for (double w0 = Now(); Now() - w0 < 0.1;) Blas();
        Settle();
        int calls = 0;
        double t0 = Now();
        while (Now() - t0 < 0.1) { Ours(); calls++; }
        int reps = (int)Math.Clamp(0.03 * calls / (Now() - t0), 1, 100_000);

        var ours = new List<double>(); var blas = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            // OpenBLAS's worker threads busy-wait for about 0.1 s after each call (its THREAD_TIMEOUT) and
            // ours spin briefly: let them fall asleep before timing the other library, or they share its cores.
            Settle();
            ours.Add(Gflops(Ours, reps, flops));
            if (!haveBlas) continue;
            Settle();
            blas.Add(Gflops(Blas, reps, flops));
        }

        string diff = "-";
        if (haveBlas)
        {
            double maxRel = 0, scale = 0;
            for (long i = 0; i < nc; i++) scale = Math.Max(scale, Math.Abs(c2[i]));
            for (long i = 0; i < nc; i++) maxRel = Math.Max(maxRel, Math.Abs(c1[i] - c2[i]) / scale);
            diff = maxRel.ToString("e1");
        }
        string Fmt(List<double> v) => v.Count == 0 ? "-" : $"{v.Max(),6:F1} ({Median(v),6:F1})";
        string ratio = haveBlas ? $"{ours.Max() / blas.Max(),10:F2} {"(" + (Median(ours) / Median(blas)).ToString("F2") + ")",9}" : $"{"-",10} {"",9}";
        Console.WriteLine($"{s.Name,-14} {s.M,6} {s.N,6} {s.K,6} | {Fmt(ours),16} | {Fmt(blas),16} | {ratio} | {diff}");

        NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c1); NativeMemory.AlignedFree(c2);
    }

    static void Settle()
    {
        if (!_cpuTime && _threads > 1) Thread.Sleep(200);
    }

    static double Gflops(Action f, int reps, double flops)
    {
        double t0 = Now();
        for (int i = 0; i < reps; i++) f();
        return flops * reps / (Now() - t0) / 1e9;
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    static float* Alloc(long n)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);
        new Span<float>(p, (int)n).Clear();
        return p;
    }
}
