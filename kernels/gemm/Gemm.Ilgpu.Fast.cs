using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// The fast ILGPU GEMMs, v3 … v5: C[b] = Alpha·op(A[b])·op(B[b]) + Beta·C[b], row-major, as in Gemm.Ilgpu.cs
// (v1, v2). Each version keeps everything of the previous one and adds one idea; IlgpuBackend.Gemm(…, version)
// runs any of them, and `scratchnet bench` prints their GFLOP/s side by side.
//
//   v3  128-bit loads and a bigger register tile. A group of 256 threads computes a 128×128 tile of C,
//       each thread an 8×8 block (64 accumulators in eight Row8 structs, unrolled by hand: ILGPU unrolls
//       nothing). Global memory is read as float4 (ld.global.v4.f32): each K slice of 8 is one float4 of
//       A and one of B per thread. Shared B is read as float4 too. A's slice is stored as loaded,
//       As[m][k] (k contiguous), so a thread reads its 8 A values one float at a time.
//   v4  a transposed A tile. A's slice is stored k-major, As[k][m], so the 8 A values a thread needs for
//       one k are two float4 reads, like B: 4 shared loads per 64 multiply-adds instead of 10. The row
//       stride is padded 128 → 132 floats so that the transposing scalar stores of a load hit 32 banks.
//   v5  double buffering. Two copies of the shared slices: while the group multiplies slice s out of one,
//       each thread has already issued the global loads of slice s+1 into registers and stores them into
//       the other copy afterwards. Global latency hides behind the math and there is one barrier per
//       slice instead of two. Two k-steps per loop iteration read shared memory through views that start
//       at the thread's values, so each load is base + constant. (All 8 k-steps written out was slower:
//       ILGPU hoists all 32 shared loads to the top, the registers pass 128 and half the groups fit.)
//
// Measured on one H100 (scratchnet bench, N×N×N, FP32 GFLOP/s; cuBLAS through torch.mm, TF32 off, beside it):
//            v1      v2      v3      v4      v5     cuBLAS
//   1024   3,911   8,294  22,511  25,293  27,466   38,015
//   4096   4,092  11,998  25,752  29,476  32,582   51,959     v5 = 0.63× cuBLAS; 123 registers, no spills
//
// Thread → output mapping (all three). Thread t = 16·ty + tx owns rows {4ty + i, 64 + 4ty + i} and
// columns {4tx + j, 64 + 4tx + j}, i, j = 0..3: two float4 of B per k (columns 4tx and 64 + 4tx), and
// 8 consecutive threads read 8 consecutive float4 = 128 bytes = all 32 banks once (a float4 shared load
// is served 8 threads at a time), so the reads are conflict-free. C is written as float4 rows the same way.
//
// Slice loads. Per K slice of 8 the group needs 128×8 floats of op(A) and 8×128 of op(B): one float4 each
// per thread. The float4 runs along the stored matrix's contiguous axis, so loads are coalesced for every
// transpose: A stored [M, K] → thread t loads row t/2, k = 4·(t%2) … +3; A stored [K, M] → k = t/32,
// columns 4·(t%32) … +3 (and the same for B with M ↔ N). A float4 is loaded with one 128-bit load when it
// lies inside the matrix and the matrix allows it (leading dimension, offset and batch stride multiples
// of 4, checked once per launch); at the matrix edge, or when it does not, with up to four guarded scalar
// loads; outside the matrix it is 0 (and contributes nothing).
//
// Split K. A 128×128 tile per group leaves an H100's 132 multiprocessors idle when M·N is small (a Linear
// layer at batch 64: 64×4096 → 32 tiles). Gemm then splits K into S slices: one launch whose Grid.IdxZ = s
// sums k in slice s into W[s] of a workspace [S, M, N], and a second kernel sums W into C with Alpha and Beta.
// S is chosen so that tiles·S fills at most one wave (a grid 1.09 waves long took as long as two).
public sealed partial class IlgpuBackend
{
    /// <summary>Four floats, loaded and stored as one 128-bit access (ILGPU maps a view of this struct to .v4.f32).</summary>
    public struct Float4
    {
        public float X, Y, Z, W;
        public Float4(float x, float y, float z, float w) { X = x; Y = y; Z = z; W = w; }
    }

    /// <summary>One row of a thread's 8×8 accumulator block: columns 4tx … 4tx+3 in C0 … C3, 64+4tx … in C4 … C7.</summary>
    public struct Row8
    {
        public float C0, C1, C2, C3, C4, C5, C6, C7;

        /// <summary>row += a · (b0, b1): eight multiply-adds (written a*b + c: FusedMultiplyAdd is broken on PTX).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Row8 Fma(Row8 r, float a, Float4 b0, Float4 b1)
        {
            r.C0 += a * b0.X; r.C1 += a * b0.Y; r.C2 += a * b0.Z; r.C3 += a * b0.W;
            r.C4 += a * b1.X; r.C5 += a * b1.Y; r.C6 += a * b1.Z; r.C7 += a * b1.W;
            return r;
        }
    }

    /// <summary>The 8×8 accumulators of one thread: rows 4ty … 4ty+3 in R0 … R3, 64+4ty … in R4 … R7.</summary>
    public struct Acc8x8
    {
        public Row8 R0, R1, R2, R3, R4, R5, R6, R7;

        /// <summary>acc += a ⊗ b for one k: a = (a0, a1) the thread's 8 values of op(A)(·, k), b = (b0, b1) of op(B)(k, ·).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Acc8x8 Outer(Acc8x8 c, Float4 a0, Float4 a1, Float4 b0, Float4 b1)
        {
            c.R0 = Row8.Fma(c.R0, a0.X, b0, b1); c.R1 = Row8.Fma(c.R1, a0.Y, b0, b1);
            c.R2 = Row8.Fma(c.R2, a0.Z, b0, b1); c.R3 = Row8.Fma(c.R3, a0.W, b0, b1);
            c.R4 = Row8.Fma(c.R4, a1.X, b0, b1); c.R5 = Row8.Fma(c.R5, a1.Y, b0, b1);
            c.R6 = Row8.Fma(c.R6, a1.Z, b0, b1); c.R7 = Row8.Fma(c.R7, a1.W, b0, b1);
            return c;
        }
    }

    /// <summary>Kernel parameters of v3 … v5 and of the split-K reduction: GemmParams plus leading dimensions and the float4 permissions.</summary>
    public struct FastGemmParams
    {
        public int TransA, TransB, M, N, K, OffsetA, OffsetB, OffsetC, StrideA, StrideB, StrideC;
        public int LdA, LdB, LdC;        // row strides of A, B, C as stored (A [M,K]: LdA ≥ K; A [K,M]: LdA ≥ M)
        public int VecA, VecB, VecC;     // 1 when 128-bit accesses are aligned for every row and batch item
        public int KSplit;               // 0: Grid.IdxZ is the batch item; > 0: split K, Grid.IdxZ = z sums k in [z·KSplit, (z+1)·KSplit)
        public float Alpha, Beta;
    }

    const int FT = 128;              // C tile edge
    const int FK = 8;                // K slice
    const int FPad = FT + 4;         // padded row stride (floats) of the k-major shared slices
    const int FPad4 = FPad / 4;      // … in float4
    const int FThreads = 256;

    // ------------------------------------------------------------------ slice loads (shared by v3 … v5)

    /// <summary>Where group z's A and B start and which k it sums: the whole K of batch item z, or split z of K.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (int AStart, int BStart, int KBegin, int KEnd) SliceRange(in FastGemmParams p, int z)
    {
        if (p.KSplit == 0) return (p.OffsetA + z * p.StrideA, p.OffsetB + z * p.StrideB, 0, p.K);
        int kBegin = z * p.KSplit;
        return (p.OffsetA, p.OffsetB, kBegin, Math.Min(p.K, kBegin + p.KSplit));
    }

    /// <summary>
    /// The float4 at (row, col) … (row, col+3) of a stored matrix with `rows` × `cols` elements and leading
    /// dimension ld, starting at element `start`; elements outside the matrix read as 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Float4 Load4(ArrayView<float> v, int start, int ld, int rows, int cols, int row, int col, int vec)
    {
        if (row >= rows) return default;
        int idx = start + row * ld + col;
        if (vec != 0 && col + 4 <= cols) return v.Cast<Float4>()[idx >> 2];
        return new Float4(
            col < cols ? v[idx] : 0f, col + 1 < cols ? v[idx + 1] : 0f,
            col + 2 < cols ? v[idx + 2] : 0f, col + 3 < cols ? v[idx + 3] : 0f);
    }

    /// <summary>
    /// Thread t's float4 of the op(A) slice rows row0 … +127, k0 … +7 (k ≥ kEnd reads 0), in the stored layout:
    /// A [M, K]: row row0 + t/2, k = k0 + 4(t%2) … +3.   A [K, M]: k = k0 + t/32, rows row0 + 4(t%32) … +3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Float4 LoadSliceA(ArrayView<float> a, in FastGemmParams p, int start, int row0, int k0, int kEnd, int t) =>
        p.TransA == 0
            ? Load4(a, start, p.LdA, p.M, kEnd, row0 + (t >> 1), k0 + 4 * (t & 1), p.VecA)
            : Load4(a, start, p.LdA, kEnd, p.M, k0 + (t >> 5), row0 + 4 * (t & 31), p.VecA);

    /// <summary>Thread t's float4 of the op(B) slice k0 … +7, columns col0 … +127 (B [K, N] or B [N, K], as for A).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Float4 LoadSliceB(ArrayView<float> b, in FastGemmParams p, int start, int k0, int kEnd, int col0, int t) =>
        p.TransB == 0
            ? Load4(b, start, p.LdB, kEnd, p.N, k0 + (t >> 5), col0 + 4 * (t & 31), p.VecB)
            : Load4(b, start, p.LdB, p.N, kEnd, col0 + (t >> 1), k0 + 4 * (t & 1), p.VecB);

    /// <summary>
    /// Stores thread t's float4 (from LoadSliceA/B with the same `trans`) into a k-major slice S[k][i] (row stride
    /// FPad, starting at float4 `base4`). Loaded along i (trans = 1 for A, 0 for B) it is one float4 store;
    /// loaded along k it is four scalar stores down a column (the transpose). alongI: A stored [K, M], B stored [K, N].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreSliceKMajor(ArrayView<Float4> s4, int base4, Float4 v, bool alongI, int t)
    {
        if (alongI)
        {
            s4[base4 + (t >> 5) * FPad4 + (t & 31)] = v;
        }
        else
        {
            var s = s4.Cast<float>();
            int i = t >> 1, k = 4 * (t & 1), b = base4 * 4;
            s[b + k * FPad + i] = v.X; s[b + (k + 1) * FPad + i] = v.Y;
            s[b + (k + 2) * FPad + i] = v.Z; s[b + (k + 3) * FPad + i] = v.W;
        }
    }

    /// <summary>C rows row … at columns col … col+3 and col+64 … col+67: C = Alpha·acc + Beta·C, inside the matrix only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow(ArrayView<float> c, in FastGemmParams p, int cStart, int row, int col, Row8 r)
    {
        if (row >= p.M) return;
        Store4(c, p, cStart + row * p.LdC + col, col, new Float4(r.C0, r.C1, r.C2, r.C3));
        Store4(c, p, cStart + row * p.LdC + col + 64, col + 64, new Float4(r.C4, r.C5, r.C6, r.C7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store4(ArrayView<float> c, in FastGemmParams p, int idx, int col, Float4 v)
    {
        if (p.VecC != 0 && col + 4 <= p.N)
        {
            var c4 = c.Cast<Float4>();
            if (p.Beta != 0f)
            {
                var o = c4[idx >> 2];
                v = new Float4(p.Alpha * v.X + p.Beta * o.X, p.Alpha * v.Y + p.Beta * o.Y,
                               p.Alpha * v.Z + p.Beta * o.Z, p.Alpha * v.W + p.Beta * o.W);
            }
            else v = new Float4(p.Alpha * v.X, p.Alpha * v.Y, p.Alpha * v.Z, p.Alpha * v.W);
            c4[idx >> 2] = v;
            return;
        }
        Store1(c, p, idx, col, v.X); Store1(c, p, idx + 1, col + 1, v.Y);
        Store1(c, p, idx + 2, col + 2, v.Z); Store1(c, p, idx + 3, col + 3, v.W);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store1(ArrayView<float> c, in FastGemmParams p, int idx, int col, float v)
    {
        if (col >= p.N) return;
        c[idx] = p.Beta == 0f ? p.Alpha * v : p.Alpha * v + p.Beta * c[idx];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreTile(ArrayView<float> c, in FastGemmParams p, int cStart, int row0, int col0, int tx, int ty, Acc8x8 acc)
    {
        int r = row0 + 4 * ty, q = col0 + 4 * tx;
        StoreRow(c, p, cStart, r, q, acc.R0); StoreRow(c, p, cStart, r + 1, q, acc.R1);
        StoreRow(c, p, cStart, r + 2, q, acc.R2); StoreRow(c, p, cStart, r + 3, q, acc.R3);
        StoreRow(c, p, cStart, r + 64, q, acc.R4); StoreRow(c, p, cStart, r + 65, q, acc.R5);
        StoreRow(c, p, cStart, r + 66, q, acc.R6); StoreRow(c, p, cStart, r + 67, q, acc.R7);
    }

    // ------------------------------------------------------------------ v3: 128-bit loads, 8×8 per thread

    static void GemmVec4Kernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, FastGemmParams p)
    {
        // As[m][k]: k contiguous, 8 floats per row (= 2 float4); Bs[k][j]: k-major, padded rows.
        var As4 = SharedMemory.Allocate<Float4>(FT * FK / 4);
        var Bs4 = SharedMemory.Allocate<Float4>(FK * FPad4);
        var As = As4.Cast<float>();
        int t = Group.IdxX, tx = t & 15, ty = t >> 4;
        int row0 = Grid.IdxY * FT, col0 = Grid.IdxX * FT, z = Grid.IdxZ;
        var (aStart, bStart, kBegin, kEnd) = SliceRange(p, z);
        var acc = default(Acc8x8);

        for (int k0 = kBegin; k0 < kEnd; k0 += FK)
        {
            var va = LoadSliceA(a, p, aStart, row0, k0, kEnd, t);
            if (p.TransA == 0) As4[t] = va;       // row t/2, k 4(t%2) … : exactly float4 number t of As[m][k]
            else
            {
                int k = t >> 5, m = 4 * (t & 31);
                As[m * FK + k] = va.X; As[(m + 1) * FK + k] = va.Y; As[(m + 2) * FK + k] = va.Z; As[(m + 3) * FK + k] = va.W;
            }
            StoreSliceKMajor(Bs4, 0, LoadSliceB(b, p, bStart, k0, kEnd, col0, t), p.TransB == 0, t);
            Group.Barrier();

            for (int k = 0; k < FK; k++)
            {
                int m = 4 * ty;
                var a0 = new Float4(As[m * FK + k], As[(m + 1) * FK + k], As[(m + 2) * FK + k], As[(m + 3) * FK + k]);
                m += 64;
                var a1 = new Float4(As[m * FK + k], As[(m + 1) * FK + k], As[(m + 2) * FK + k], As[(m + 3) * FK + k]);
                acc = Acc8x8.Outer(acc, a0, a1, Bs4[k * FPad4 + tx], Bs4[k * FPad4 + 16 + tx]);
            }
            Group.Barrier();
        }
        StoreTile(c, p, p.OffsetC + z * p.StrideC, row0, col0, tx, ty, acc);
    }

    // ------------------------------------------------------------------ v4: + transposed A tile

    static void GemmTransposedATileKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, FastGemmParams p)
    {
        var As4 = SharedMemory.Allocate<Float4>(FK * FPad4);   // As[k][m], k-major
        var Bs4 = SharedMemory.Allocate<Float4>(FK * FPad4);   // Bs[k][j]
        int t = Group.IdxX, tx = t & 15, ty = t >> 4;
        int row0 = Grid.IdxY * FT, col0 = Grid.IdxX * FT, z = Grid.IdxZ;
        var (aStart, bStart, kBegin, kEnd) = SliceRange(p, z);
        var acc = default(Acc8x8);

        for (int k0 = kBegin; k0 < kEnd; k0 += FK)
        {
            StoreSliceKMajor(As4, 0, LoadSliceA(a, p, aStart, row0, k0, kEnd, t), p.TransA != 0, t);
            StoreSliceKMajor(Bs4, 0, LoadSliceB(b, p, bStart, k0, kEnd, col0, t), p.TransB == 0, t);
            Group.Barrier();

            for (int k = 0; k < FK; k++)
            {
                int o = k * FPad4;
                acc = Acc8x8.Outer(acc, As4[o + ty], As4[o + 16 + ty], Bs4[o + tx], Bs4[o + 16 + tx]);
            }
            Group.Barrier();
        }
        StoreTile(c, p, p.OffsetC + z * p.StrideC, row0, col0, tx, ty, acc);
    }

    // ------------------------------------------------------------------ v5: + double buffering

    static void GemmDoubleBufferKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, FastGemmParams p)
    {
        const int Slice4 = FK * FPad4;                            // one k-major slice, in float4
        var As4 = SharedMemory.Allocate<Float4>(2 * Slice4);     // two copies: [buffer][k][m]
        var Bs4 = SharedMemory.Allocate<Float4>(2 * Slice4);
        int t = Group.IdxX, tx = t & 15, ty = t >> 4;
        int row0 = Grid.IdxY * FT, col0 = Grid.IdxX * FT, z = Grid.IdxZ;
        var (aStart, bStart, kBegin, kEnd) = SliceRange(p, z);
        bool aAlongI = p.TransA != 0, bAlongI = p.TransB == 0;
        var acc = default(Acc8x8);

        StoreSliceKMajor(As4, 0, LoadSliceA(a, p, aStart, row0, kBegin, kEnd, t), aAlongI, t);
        StoreSliceKMajor(Bs4, 0, LoadSliceB(b, p, bStart, kBegin, kEnd, col0, t), bAlongI, t);
        Group.Barrier();

        int cur = 0;
        for (int k0 = kBegin; k0 < kEnd; k0 += FK)
        {
            // Issue the next slice's global loads now; they complete while the math below runs.
            bool more = k0 + FK < kEnd;
            Float4 na = default, nb = default;
            if (more)
            {
                na = LoadSliceA(a, p, aStart, row0, k0 + FK, kEnd, t);
                nb = LoadSliceB(b, p, bStart, k0 + FK, kEnd, col0, t);
            }

            // Two k-steps per iteration, read through views that start at the thread's values, so every
            // shared load is base + constant (fewer integer instructions per multiply-add).
            for (int k = 0; k < FK; k += 2)
            {
                int o = cur + k * FPad4;
                var sa = As4.SubView(o + ty, FPad4 + 17);
                var sb = Bs4.SubView(o + tx, FPad4 + 17);
                acc = Acc8x8.Outer(acc, sa[0], sa[16], sb[0], sb[16]);
                acc = Acc8x8.Outer(acc, sa[FPad4], sa[FPad4 + 16], sb[FPad4], sb[FPad4 + 16]);
            }

            // The other copy was last read before the previous barrier, so it can be overwritten now.
            cur = Slice4 - cur;
            if (more)
            {
                StoreSliceKMajor(As4, cur, na, aAlongI, t);
                StoreSliceKMajor(Bs4, cur, nb, bAlongI, t);
            }
            Group.Barrier();
        }
        StoreTile(c, p, p.OffsetC + z * p.StrideC, row0, col0, tx, ty, acc);
    }

    // ------------------------------------------------------------------ split-K reduction

    /// <summary>C[i] = Alpha·Σ_s W[s·MN + i] + Beta·C[i] over the M×N matrix (W: S partial products [S, M, N]).</summary>
    static void GemmSplitKReduceKernel(ArrayView<float> w, ArrayView<float> c, FastGemmParams p, int splits)
    {
        int mn = p.M * p.N;
        for (int i = Grid.GlobalIndex.X; i < mn; i += Grid.DimX * Group.DimX)
        {
            float s = 0f;
            for (int k = 0; k < splits; k++) s += w[k * mn + i];
            int idx = p.OffsetC + (i / p.N) * p.LdC + i % p.N;
            c[idx] = p.Beta == 0f ? p.Alpha * s : p.Alpha * s + p.Beta * c[idx];
        }
    }

    // ------------------------------------------------------------------ launch

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams>? _gemm3, _gemm4, _gemm5;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, FastGemmParams, int>? _splitKReduce;

    /// <summary>Groups wanted in flight before K is split: two 256-thread groups per multiprocessor (CPU simulator: 1, never split).</summary>
    public int SplitKTargetGroups
    {
        get => _splitKTarget ??= Accelerator.AcceleratorType == AcceleratorType.CPU ? 1 : 2 * Accelerator.NumMultiprocessors;
        set => _splitKTarget = Math.Max(1, value);
    }
    int? _splitKTarget;

    /// <summary>
    /// How many K slices a Batch = 1 GEMM is split into (1 = none): enough groups to fill the device, slices of at
    /// least 128. Conv1's weight gradient (64×27 outputs, K = 65,536 at batch 64) becomes ~264 groups instead of 1.
    /// </summary>
    public int SplitKFor(in GemmArgs g)
    {
        if (g.Batch != 1) return 1;
        long tiles = (long)((g.M + FT - 1) / FT) * ((g.N + FT - 1) / FT);
        if (2 * tiles > SplitKTargetGroups) return 1;
        // Round down: groups beyond one full wave would start a second, nearly empty wave (a 1.09-wave grid
        // measured on an H100 took as long as two).
        int byFill = (int)(SplitKTargetGroups / tiles);
        int byDepth = Math.Max(1, g.K / 128);
        return Math.Min(byFill, byDepth);
    }

    void GemmFast(in GemmArgs g, Storage a, Storage b, Storage c, int version)
    {
        static int Vec(int ld, int offset, int stride, int batch) => ld % 4 == 0 && offset % 4 == 0 && (batch == 1 || stride % 4 == 0) ? 1 : 0;
        int ldA = g.TransA ? g.M : g.K, ldB = g.TransB ? g.K : g.N, ldC = g.N;
        var p = new FastGemmParams
        {
            TransA = g.TransA ? 1 : 0, TransB = g.TransB ? 1 : 0, M = g.M, N = g.N, K = g.K,
            OffsetA = g.OffsetA, OffsetB = g.OffsetB, OffsetC = g.OffsetC,
            StrideA = g.StrideA, StrideB = g.StrideB, StrideC = g.StrideC,
            LdA = ldA, LdB = ldB, LdC = ldC,
            VecA = Vec(ldA, g.OffsetA, g.StrideA, g.Batch), VecB = Vec(ldB, g.OffsetB, g.StrideB, g.Batch),
            VecC = Vec(ldC, g.OffsetC, g.StrideC, g.Batch), Alpha = g.Alpha, Beta = g.Beta,
        };
        var kernel = version switch
        {
            3 => _gemm3 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams>(GemmVec4Kernel),
            4 => _gemm4 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams>(GemmTransposedATileKernel),
            _ => _gemm5 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams>(GemmDoubleBufferKernel),
        };
        int tilesX = (g.N + FT - 1) / FT, tilesY = (g.M + FT - 1) / FT;
        var group = new Index3D(FThreads, 1, 1);

        int splits = SplitKFor(g);
        if (splits > 1)
        {
            // Partial products into a workspace W [S, M, N], then C = Alpha·ΣW + Beta·C.
            int kSplit = ((g.K + splits - 1) / splits + FK - 1) / FK * FK;
            splits = (g.K + kSplit - 1) / kSplit;
            using var w = Allocate(splits * g.M * g.N, DType.Float32);
            var q = p;
            q.KSplit = kSplit; q.OffsetC = 0; q.StrideC = g.M * g.N; q.LdC = g.N;
            q.VecC = g.N % 4 == 0 ? 1 : 0; q.Alpha = 1f; q.Beta = 0f;
            kernel(new KernelConfig(new Index3D(tilesX, tilesY, splits), group), F(a), F(b), F(w), q);
            var reduce = _splitKReduce ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, FastGemmParams, int>(GemmSplitKReduceKernel);
            reduce(Grid1D((long)g.M * g.N), F(w), F(c), p, splits);
            return;
        }
        for (int b0 = 0; b0 < g.Batch; b0 += 65535)
        {
            int nb = Math.Min(65535, g.Batch - b0);
            var q = p;
            q.OffsetA += b0 * g.StrideA; q.OffsetB += b0 * g.StrideB; q.OffsetC += b0 * g.StrideC;
            if (b0 > 0)
            {
                q.VecA = Vec(ldA, q.OffsetA, g.StrideA, g.Batch); q.VecB = Vec(ldB, q.OffsetB, g.StrideB, g.Batch);
                q.VecC = Vec(ldC, q.OffsetC, g.StrideC, g.Batch);
            }
            kernel(new KernelConfig(new Index3D(tilesX, tilesY, nb), group), F(a), F(b), F(c), q);
        }
    }
}
