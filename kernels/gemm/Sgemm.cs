using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// A fast CPU SGEMM, the BLIS/GotoBLAS design:   C = alpha · op(A) · op(B) + beta · C
//
// Row-major throughout. op(A) is M×K: A stored M×K (row stride lda), or K×M when transA.
// op(B) is K×N: B stored K×N (row stride ldb), or N×K when transB. C is M×N (row stride ldc).
//
// Why blocking: a naive triple loop does 2 flops per 2 loads and is bound by memory bandwidth. The
// micro-kernel (Sgemm.Kernels.cs) keeps an MR×NR tile of C in registers and, per step p of the K
// dimension, loads MR + NR floats to do MR·NR multiply-adds. Five loops around it choose which blocks
// of A and B are copied ("packed", Sgemm.Pack.cs) into contiguous buffers so that every float the
// micro-kernel touches comes from the cache level that is just big enough to hold it:
//
//   loop 5  for jc in 0..N step NC                    B block KC×NC        → L3 (reused by every ic)
//   loop 4    for pc in 0..K step KC
//   loop 3      for ic in 0..M step MC                 A block MC×KC        → L2 (reused by every jr)
//                 pack op(A)[ic.., pc..] into MR-row slivers
//   loop 2        for jr in 0..NC step NR              B sliver KC×NR       → L1 (reused by every ir)
//                   (first ic only) pack op(B)[pc.., jc+jr..] into this NR-column sliver
//   loop 1          for ir in 0..MC step MR            A sliver MR×KC streamed from L2
//                     micro-kernel: C[ic+ir.., jc+jr..] (MR×NR) += A sliver · B sliver
//
// Block sizes for this machine (AMD Zen 5: 48 KiB L1d and 1 MiB L2 per core, 32 MiB shared L3),
// AVX-512 kernel MR×NR = 8×32:
//   KC = 256: the B sliver (256·32 floats = 32 KiB) stays in L1 while all MC/MR A slivers stream past it;
//             the A sliver (8·256 floats = 8 KiB) streams from L2. C is read and written once per KC.
//   MC = 240: the A block (240·256 floats = 240 KiB) stays in L2 across all NC/NR B slivers, leaving
//             the rest of L2 for the B slivers streaming in from L3.
//   NC = 4096: the B block (256·4096 floats = 4 MiB per thread) stays in L3 across all M/MC A blocks.
//
// B is packed sliver by sliver inside loop 2 during the first A block (GotoBLAS does the same): each
// freshly packed sliver is consumed at once from L1, and the source of the next sliver (kc short rows,
// each in a different page, which the hardware prefetcher does not follow) is prefetched meanwhile.
// Later A blocks reuse the packed B block. Each K block accumulates into C, so beta applies to the
// first pass only. Edge tiles (M or N not a multiple of MR/NR) use the zero-padded slivers and write
// through a small MR×NR scratch tile, copying only the valid part.
//
// Threads: C is cut into as many stripes as there are threads, along M (stripes of whole MR-row
// slivers) or along N when N has more slivers than M; each thread runs the whole loop nest above on
// its stripe with its own pack buffers. No barriers; the only duplicated work is the packing of the
// shared operand, about 1-2% of the time at the sizes where threading is used. Small problems (below
// ~4 MFLOP) run on the calling thread: waking a worker costs more than it saves. The threads are the
// `cpu` device's one fork-join team (kernels/backend/CpuTeam.cs), shared with every other fast kernel.
//
// Dispatch: the AVX-512 kernel when Avx512F is supported, else AVX2+FMA, else a portable
// Vector<float> kernel. Every entry point takes the KernelPath to run (Simd = the best available), and the cpu
// device passes the one its DeviceOptions name.

/// <summary>Single-precision matrix multiply, C = alpha·op(A)·op(B) + beta·C, row-major, multithreaded.</summary>
public static unsafe partial class Sgemm
{
    /// <summary>Problems with fewer flops (2·M·N·K) than this run single-threaded: waking a worker costs more than it saves.</summary>
    public const double ParallelThresholdFlops = 4e6;

    /// <summary>The best path this CPU supports.</summary>
    public static KernelPath BestPath => CpuSimd.BestKernels;

    /// <summary>Whether this CPU runs <paramref name="path"/> (Reference is not an SGEMM path: that is Reference.Gemm).</summary>
    public static bool IsSupported(KernelPath path) => path != KernelPath.Reference && CpuSimd.IsSupported(path);

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C (row-major; op(A) is M×K, op(B) is K×N). When beta is 0, C is
    /// write-only (its previous contents, even NaN, are ignored), as in BLAS.
    /// </summary>
    public static void Gemm(bool transA, bool transB, int M, int N, int K, float alpha, float* A, int lda,
        float* B, int ldb, float beta, float* C, int ldc)
        => Gemm(KernelPath.Simd, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

    /// <summary>As the other pointer overload, on an explicit path (Simd = best available), with at most
    /// <paramref name="maxThreads"/> threads (0 = every core; 1 = the calling thread only).</summary>
    public static void Gemm(KernelPath path, bool transA, bool transB, int M, int N, int K, float alpha, float* A, int lda,
        float* B, int ldb, float beta, float* C, int ldc, int maxThreads = 0)
    {
        CheckShapes(transA, transB, M, N, K, lda, ldb, ldc);
        if (path == KernelPath.Simd) path = BestPath;
        if (!IsSupported(path))
            throw new ArgumentException($"Sgemm: path {path} is not supported by this CPU (best available: {BestPath})");
        if (M == 0 || N == 0) return;

        var problem = new Problem
        {
            TransA = transA, TransB = transB, M = M, N = N, K = K, Alpha = alpha, Beta = beta,
            A = A, B = B, C = C, Lda = lda, Ldb = ldb, Ldc = ldc,
        };
        if (alpha == 0f || K == 0) { ScaleC(problem); return; }

        switch (path)
        {
            case KernelPath.Avx512: Schedule<Avx512Kernel>(problem, path, maxThreads); break;
            case KernelPath.Avx2: Schedule<Avx2Kernel>(problem, path, maxThreads); break;
            default: Schedule<VectorKernel>(problem, path, maxThreads); break;
        }
    }

    /// <summary>Span overload of <see cref="Gemm(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>;
    /// checks that each span covers its matrix.</summary>
    public static void Gemm(bool transA, bool transB, int M, int N, int K, float alpha, ReadOnlySpan<float> A, int lda,
        ReadOnlySpan<float> B, int ldb, float beta, Span<float> C, int ldc, KernelPath path = KernelPath.Simd, int maxThreads = 0)
    {
        CheckShapes(transA, transB, M, N, K, lda, ldb, ldc);
        CheckSpan("A", A.Length, transA ? K : M, transA ? M : K, lda);
        CheckSpan("B", B.Length, transB ? N : K, transB ? K : N, ldb);
        CheckSpan("C", C.Length, M, N, ldc);
        fixed (float* a = A, b = B, c = C)
            Gemm(path, transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, maxThreads);
    }

    static void CheckShapes(bool transA, bool transB, int M, int N, int K, int lda, int ldb, int ldc)
    {
        if (M < 0 || N < 0 || K < 0)
            throw new ArgumentException($"Sgemm: sizes must be >= 0, got M={M}, N={N}, K={K}");
        int colsA = transA ? M : K, colsB = transB ? K : N;
        if (lda < Math.Max(1, colsA) || ldb < Math.Max(1, colsB) || ldc < Math.Max(1, N))
            throw new ArgumentException(
                $"Sgemm: leading dimensions too small for M={M}, N={N}, K={K}, transA={transA}, transB={transB}: " +
                $"lda={lda} (needs >= {Math.Max(1, colsA)}), ldb={ldb} (needs >= {Math.Max(1, colsB)}), ldc={ldc} (needs >= {Math.Max(1, N)})");
    }

    static void CheckSpan(string name, int length, int rows, int cols, int ld)
    {
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"Sgemm: {name} has {length} elements, but a {rows}×{cols} matrix with row stride {ld} needs {needed}");
    }

    /// <summary>The arguments of one call (or of one thread's stripe of it).</summary>
    struct Problem
    {
        public bool TransA, TransB;
        public int M, N, K;
        public float Alpha, Beta;
        public float* A, B, C;
        public nint Lda, Ldb, Ldc;

        /// <summary>Rows [i0, i1) of op(A) and C.</summary>
        public readonly Problem Rows(int i0, int i1)
        {
            var p = this;
            p.M = i1 - i0;
            p.A = TransA ? A + i0 : A + i0 * Lda;
            p.C = C + i0 * Ldc;
            return p;
        }

        /// <summary>Columns [j0, j1) of op(B) and C.</summary>
        public readonly Problem Columns(int j0, int j1)
        {
            var p = this;
            p.N = j1 - j0;
            p.B = TransB ? B + j0 * Ldb : B + j0;
            p.C = C + j0;
            return p;
        }
    }

    /// <summary>alpha == 0 or K == 0: C = beta·C, without reading C when beta == 0.</summary>
    static void ScaleC(in Problem p)
    {
        for (int i = 0; i < p.M; i++)
        {
            var row = new Span<float>(p.C + i * p.Ldc, p.N);
            if (p.Beta == 0f) row.Clear();
            else if (p.Beta != 1f) for (int j = 0; j < row.Length; j++) row[j] *= p.Beta;
        }
    }

    /// <summary>Cuts C into one stripe per thread (or none, for small problems) and runs the loop nest on each.</summary>
    static void Schedule<TK>(in Problem p, KernelPath path, int maxThreads) where TK : ISgemmKernel
    {
        int threads = maxThreads > 0 ? Math.Min(maxThreads, CpuTeam.Threads) : CpuTeam.Threads;
        int rowSlivers = (p.M + TK.MR - 1) / TK.MR, colSlivers = (p.N + TK.NR - 1) / TK.NR;
        bool splitRows = rowSlivers >= colSlivers;
        int parts = Math.Min(threads, splitRows ? rowSlivers : colSlivers);
        if (threads <= 1 || parts <= 1 || 2.0 * p.M * p.N * p.K < ParallelThresholdFlops || CpuTeam.InsideJob)
        {
            Blocked<TK>(p);
            return;
        }
        var job = new Job { Problem = p, Path = path, Parts = parts, SplitRows = splitRows, Slivers = splitRows ? rowSlivers : colSlivers };
        CpuTeam.Run(parts, job); // kernels/backend/CpuTeam.cs; a busy team runs the stripes here, one after the other
    }

    /// <summary>A whole call cut into Parts stripes of whole slivers.</summary>
    struct Job : ITeamJob
    {
        public Problem Problem;
        public KernelPath Path;
        public int Parts, Slivers;
        public bool SplitRows;

        public readonly void RunPart(int part)
        {
            int s0 = (int)((long)Slivers * part / Parts), s1 = (int)((long)Slivers * (part + 1) / Parts);
            Problem stripe = SplitRows
                ? Problem.Rows(s0 * MR(Path), Math.Min(Problem.M, s1 * MR(Path)))
                : Problem.Columns(s0 * NR(Path), Math.Min(Problem.N, s1 * NR(Path)));
            switch (Path)
            {
                case KernelPath.Avx512: Blocked<Avx512Kernel>(stripe); break;
                case KernelPath.Avx2: Blocked<Avx2Kernel>(stripe); break;
                default: Blocked<VectorKernel>(stripe); break;
            }
        }

        static int MR(KernelPath path) => path switch { KernelPath.Avx512 => Avx512Kernel.MR, KernelPath.Avx2 => Avx2Kernel.MR, _ => VectorKernel.MR };
        static int NR(KernelPath path) => path switch { KernelPath.Avx512 => Avx512Kernel.NR, KernelPath.Avx2 => Avx2Kernel.NR, _ => VectorKernel.NR };
    }

    /// <summary>Loops 5 to 3 of the nest (see the header): block C, pack A, hand each block pair to the macro-kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip the unoptimised first JIT tier
    static void Blocked<TK>(in Problem p) where TK : ISgemmKernel
    {
        int MR = TK.MR, NR = TK.NR, KC = TK.KC, MC = TK.MC, NC = TK.NC;
        int ncMax = Math.Min(NC, p.N), mcMax = Math.Min(MC, p.M), kcMax = Math.Min(KC, p.K);
        var buffers = PackBuffers.Get(
            (nint)RoundUp(mcMax, MR) * kcMax,
            (nint)RoundUp(ncMax, NR) * kcMax);
        float* scratch = stackalloc float[MR * NR];

        for (int jc = 0; jc < p.N; jc += NC)
        {
            int nc = Math.Min(NC, p.N - jc);
            for (int pc = 0; pc < p.K; pc += KC)
            {
                int kc = Math.Min(KC, p.K - pc);
                float beta = pc == 0 ? p.Beta : 1f; // later K blocks accumulate onto the first
                // op(B)[pc, jc]: where this B block starts in the caller's B
                float* bBlock = p.TransB ? p.B + jc * p.Ldb + pc : p.B + pc * p.Ldb + jc;
                for (int ic = 0; ic < p.M; ic += MC)
                {
                    int mc = Math.Min(MC, p.M - ic);
                    PackA<TK>(p.TransA, p.TransA ? p.A + pc * p.Lda + ic : p.A + ic * p.Lda + pc, p.Lda, mc, kc, buffers.A);
                    // The first A block packs each B sliver right before using it, so that copy is consumed
                    // while still in L1; the later A blocks reuse the packed B block from L2/L3.
                    MacroKernel<TK>(mc, nc, kc, buffers.A, buffers.B, ic == 0 ? bBlock : null, p.TransB, p.Ldb,
                        p.C + ic * p.Ldc + jc, p.Ldc, p.Alpha, beta, scratch);
                }
            }
        }
    }

    /// <summary>
    /// Loops 2 and 1: every MR×NR tile of one mc×nc block of C from the packed A block and the packed B
    /// block. When bSource is not null, each B sliver is first packed from it (loop 2 is where it is needed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MacroKernel<TK>(int mc, int nc, int kc, float* ap, float* bp, float* bSource, bool transB, nint ldb,
        float* c, nint ldc, float alpha, float beta, float* scratch) where TK : ISgemmKernel
    {
        int MR = TK.MR, NR = TK.NR;
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            float* bSliver = bp + (nint)jr * kc;
            if (bSource != null)
            {
                PackBSliver<TK>(transB, transB ? bSource + jr * ldb : bSource + jr, ldb, kc, nr, bSliver);
                // The next sliver's source is kc short rows (or NR rows) scattered over as many pages, which the
                // hardware prefetcher does not follow: request it now, it arrives while this sliver computes.
                if (jr + NR < nc)
                    PrefetchBSliver(transB, transB ? bSource + (jr + NR) * ldb : bSource + jr + NR, ldb, kc, Math.Min(NR, nc - jr - NR));
            }
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* aSliver = ap + (nint)ir * kc;
                float* cTile = c + ir * ldc + jr;
                if (mr == MR && nr == NR)
                    TK.Run(kc, aSliver, bSliver, cTile, ldc, alpha, beta);
                else
                {
                    // Edge tile: compute the full padded tile into scratch, then update only mr×nr of C.
                    TK.Run(kc, aSliver, bSliver, scratch, NR, 1f, 0f);
                    for (int r = 0; r < mr; r++)
                    {
                        float* cRow = cTile + r * ldc, sRow = scratch + r * NR;
                        if (beta == 0f) for (int j = 0; j < nr; j++) cRow[j] = alpha * sRow[j];
                        else for (int j = 0; j < nr; j++) cRow[j] = alpha * sRow[j] + beta * cRow[j];
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
