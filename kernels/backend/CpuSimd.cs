using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// SIMD dispatch for the `cpu` device's non-GEMM kernels (kernels/<family>/<Family>.Cpu.Simd.cs).
//
// Every such kernel exists twice: the plain scalar loop in <Family>.Reference.cs (class Reference: the readable
// definition and the oracle the tests compare with), and a vectorised version written ONCE, generic over a
// vector type TV (CpuSimd.Vectors.cs): 16 float lanes (Vector512, AVX-512), 8 lanes (Vector256, AVX2) or
// Vector<float> (whatever width the runtime offers: the portable fallback). The JIT compiles one copy per
// TV, with TV's methods inlined, so the generic code costs nothing at run time.
//
// A vector loop processes elements [0, n − n mod W) W at a time and the last n mod W with the scalar formula;
// element i is always computed by the same arithmetic (no FMA contraction, same operation order as the
// reference), so for element-wise kernels every path gives the reference's bits. Only reductions (sums) that
// add in a different order may differ, by rounding, in the last bits.
//
// Threads: CpuSimd.For runs a kernel on [0, n) on the calling thread when n is below its grain (the work is
// too small to pay for waking a worker, about 10 µs), else cuts it into chunks that the `cpu` device's thread
// team (CpuTeam.cs) spreads over the cores. Kernels are structs (ICpuKernel): no call allocates.

/// <summary>The vector paths of the `cpu` device's SIMD kernels (the <see cref="KernelPath"/> values Avx512, Avx2, Vector).</summary>
public static class CpuSimd
{
    /// <summary>AVX-512 if present, else AVX2 (with FMA, which the SGEMM micro-kernel needs), else Vector&lt;float&gt; (portable;
    /// without hardware acceleration it is slow but still correct).</summary>
    public static KernelPath BestKernels { get; } =
        Avx512F.IsSupported ? KernelPath.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? KernelPath.Avx2
        : KernelPath.Vector;

    /// <summary>Whether this CPU runs <paramref name="path"/> (Simd, Vector and Reference run everywhere).</summary>
    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Simd or KernelPath.Vector or KernelPath.Reference => true,
        KernelPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        KernelPath.Avx512 => Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>The concrete vector path of a request: Simd → <see cref="BestKernels"/>. Throws for Reference (not a vector path)
    /// and for a path this CPU lacks.</summary>
    public static KernelPath Resolve(KernelPath path)
    {
        if (path == KernelPath.Simd) return BestKernels;
        if (path == KernelPath.Reference) throw new ArgumentException("CpuSimd: Reference is not a vector path (the reference loops are in <Family>.Reference.cs)");
        if (!IsSupported(path)) throw new ArgumentException($"CpuSimd: path {path} is not supported by this CPU (best available: {BestKernels})");
        return path;
    }

    /// <summary>Every vector path this CPU runs, fastest first.</summary>
    public static IReadOnlyList<KernelPath> VectorPaths { get; } =
        new[] { KernelPath.Avx512, KernelPath.Avx2, KernelPath.Vector }.Where(IsSupported).ToArray();

    /// <summary>
    /// Elements below which a memory-bound kernel runs on the calling thread. A vectorised pass streams about
    /// 10–20 GB/s per core, so 64K floats (256 KiB) take ~15 µs: less than that, and waking a second thread
    /// (several µs, more when the other core is busy) does not pay.
    /// </summary>
    public const int SerialElements = 1 << 16;

    /// <summary>Runs kernel.Run(start, end) over [0, n): inline when n &lt; 2·grain, else in parallel chunks of at
    /// least grain items (a few per core, so a core slowed by another process does not hold up the rest).
    /// Chunk boundaries fall on multiples of <paramref name="align"/> items: 16 floats (64 bytes) for
    /// element-wise kernels, so no two threads write the same cache line; 1 for rows, planes or channels.</summary>
    internal static void For<TK>(int n, int grain, TK kernel, int align = 16) where TK : struct, ICpuKernel
    {
        int threads = CpuTeam.Threads;
        if (threads <= 1 || n < 2 * grain) { kernel.Run(0, n); return; }
        int chunks = Math.Min(n / grain, 4 * threads);
        int size = ((n + chunks - 1) / chunks + align - 1) / align * align;
        CpuTeam.Run((n + size - 1) / size, new Chunks<TK> { Kernel = kernel, N = n, Size = size });
    }

    /// <summary>Part c of a For: items [c·Size, min(N, (c + 1)·Size)).</summary>
    struct Chunks<TK> : ITeamJob where TK : struct, ICpuKernel
    {
        public TK Kernel;
        public int N, Size;
        public readonly void RunPart(int c) => Kernel.Run(c * Size, Math.Min(N, (c + 1) * Size));
    }
}

/// <summary>A CPU kernel over an index range: a struct holding its arrays and scalars, so dispatch allocates nothing.</summary>
internal interface ICpuKernel
{
    void Run(int start, int end);
}

/// <summary>
/// An element-wise formula y[i] = f(a[i], b[i], y[i]) in vector and scalar form (the two must agree bit for bit).
/// ReadsB / ReadsY are constants per op, so the JIT drops the loads an op does not need.
/// </summary>
internal interface IMapOp
{
    static abstract bool ReadsB { get; }
    static abstract bool ReadsY { get; }
    TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV>;
    float Scalar(float a, float b, float y);
}

/// <summary>y[i] = op(a[i], b[i], y[i]) over a range: Count lanes at a time, then the scalar tail.</summary>
internal struct MapKernel<TOp, TV> : ICpuKernel where TOp : struct, IMapOp where TV : struct, ISimd<TV>
{
    public float[] A, B, Y;
    public TOp Op;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Run(int start, int end)
    {
        ref float a = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(A);
        ref float b = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(B);
        ref float y = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Y);
        int i = start;
        for (; i <= end - TV.Count; i += TV.Count)
        {
            var va = TV.Load(ref a, i);
            var vb = TOp.ReadsB ? TV.Load(ref b, i) : va;
            var vy = TOp.ReadsY ? TV.Load(ref y, i) : va;
            TV.Store(Op.Vec(va, vb, vy), ref y, i);
        }
        for (; i < end; i++) Y[i] = Op.Scalar(A[i], TOp.ReadsB ? B[i] : 0f, TOp.ReadsY ? Y[i] : 0f);
    }
}

internal static class CpuMap
{
    /// <summary>y[i] = op(a[i], b[i], y[i]) for i &lt; n on a vector path (Reference is handled by the caller).
    /// b may be null when the op does not read it.</summary>
    public static void Run<TOp>(KernelPath path, int n, float[] a, float[]? b, float[] y, TOp op) where TOp : struct, IMapOp
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (a.Length < n || y.Length < n || (TOp.ReadsB && b!.Length < n)) throw new ArgumentException($"element-wise op: buffers shorter than n = {n}");
        b ??= a;
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(n, CpuSimd.SerialElements, new MapKernel<TOp, V512> { A = a, B = b, Y = y, Op = op }); break;
            case KernelPath.Avx2: CpuSimd.For(n, CpuSimd.SerialElements, new MapKernel<TOp, V256> { A = a, B = b, Y = y, Op = op }); break;
            default: CpuSimd.For(n, CpuSimd.SerialElements, new MapKernel<TOp, VecT> { A = a, B = b, Y = y, Op = op }); break;
        }
    }
}
