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
//       at the thread's values, so each load is base + constant. (All 8 k-steps written out is slower:
//       ILGPU hoists all 32 shared loads to the top, the registers pass 128 and half the groups fit.)
//
// What each version gains, measured side by side with cuBLAS: bench/results/h100/gemm-versions.md
// (`scratchnet bench --op gemm` runs every version on the devices you have).
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
// Operands as type parameters. The kernels never index A, B or C themselves: a slice source (ISliceSource)
// hands each thread its float4 of a K slice, and a tile sink (ITileSink) stores the finished C. MatrixSource and
// MatrixSink read and write stored matrices (everything above); the implicit-GEMM convolution
// (kernels/conv/Conv.Ilgpu.Implicit.cs) plugs in sources that gather im2col patches straight from the images and
// a sink that writes NCHW, and runs the very same v5 loop. Sources and sinks are structs and ILGPU compiles one
// kernel per combination, so the indirection costs nothing at run time.
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
        /// <summary>Element 0, at the lowest address.</summary>
        public float X;
        /// <summary>Element 1.</summary>
        public float Y;
        /// <summary>Element 2.</summary>
        public float Z;
        /// <summary>Element 3, at the highest address.</summary>
        public float W;
        /// <summary>The four elements in address order.</summary>
        public Float4(float x, float y, float z, float w) { X = x; Y = y; Z = z; W = w; }
    }

    /// <summary>One row of a thread's 8×8 accumulator block: columns 4tx … 4tx+3 in C0 … C3, 64+4tx … in C4 … C7.</summary>
    public struct Row8
    {
        /// <summary>Column 4tx of the tile.</summary>
        public float C0;
        /// <summary>Column 4tx + 1.</summary>
        public float C1;
        /// <summary>Column 4tx + 2.</summary>
        public float C2;
        /// <summary>Column 4tx + 3.</summary>
        public float C3;
        /// <summary>Column 64 + 4tx.</summary>
        public float C4;
        /// <summary>Column 64 + 4tx + 1.</summary>
        public float C5;
        /// <summary>Column 64 + 4tx + 2.</summary>
        public float C6;
        /// <summary>Column 64 + 4tx + 3.</summary>
        public float C7;

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
        /// <summary>Row 4ty of the tile.</summary>
        public Row8 R0;
        /// <summary>Row 4ty + 1.</summary>
        public Row8 R1;
        /// <summary>Row 4ty + 2.</summary>
        public Row8 R2;
        /// <summary>Row 4ty + 3.</summary>
        public Row8 R3;
        /// <summary>Row 64 + 4ty.</summary>
        public Row8 R4;
        /// <summary>Row 64 + 4ty + 1.</summary>
        public Row8 R5;
        /// <summary>Row 64 + 4ty + 2.</summary>
        public Row8 R6;
        /// <summary>Row 64 + 4ty + 3.</summary>
        public Row8 R7;

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

    /// <summary>What the fast kernels need besides their operands: the product's sizes, the K split and the scalars.</summary>
    public struct FastGemmParams
    {
        /// <summary>Rows of op(A) and C.</summary>
        public int M;
        /// <summary>Columns of op(B) and C.</summary>
        public int N;
        /// <summary>The summed dimension: columns of op(A), rows of op(B).</summary>
        public int K;
        /// <summary>0: Grid.IdxZ is the batch item and sums all of K. &gt; 0: split K (one batch item), group z sums k in
        /// [z·KSplit, (z+1)·KSplit) into slice z of the workspace.</summary>
        public int KSplit;
        /// <summary>Scale of the product.</summary>
        public float Alpha;
        /// <summary>Scale of the old C; 0 means C is written without being read.</summary>
        public float Beta;
    }

    /// <summary>
    /// One operand of the tiled kernels, seen as op(A) (i = row, the M axis) or op(B) (i = column, the N axis),
    /// both indexed (i, k). Per K slice of 8, thread t of 256 supplies one float4 of the group's 128 × 8 block:
    /// along i (AlongI: i = i0 + 4(t%32) … +3 at k = k0 + t/32) or along k (i = i0 + t/2, k = k0 + 4(t%2) … +3).
    /// Values outside the operand (i past its extent, k ≥ kEnd) must read as 0.
    /// </summary>
    public interface ISliceSource<TSelf> where TSelf : struct, ISliceSource<TSelf>
    {
        /// <summary>True when a thread's float4 runs along i (one float4 shared store), false when along k (four scalar stores).</summary>
        bool AlongI { get; }

        /// <summary>A copy prepared for thread t of the group whose tile starts at i0, for batch item `item`: the per-thread index math, done once.</summary>
        TSelf ForThread(int item, int i0, int t);

        /// <summary>Thread t's float4 of the slice that starts at k0 (k ≥ kEnd reads 0).</summary>
        Float4 Load(ArrayView<float> v, int k0, int kEnd, int t);
    }

    /// <summary>Where the finished C goes: C(row, col … col+3) = Alpha·v + Beta·C for the elements inside M × N (col is a multiple of 4).</summary>
    public interface ITileSink
    {
        /// <summary>Stores C(row, col … col+3) = Alpha·v + Beta·C(…) for batch item (or K split) <paramref name="item"/>,
        /// skipping the elements outside M × N; <paramref name="col"/> is a multiple of 4.</summary>
        void Store4(ArrayView<float> c, in FastGemmParams p, int item, int row, int col, Float4 v);
    }

    /// <summary>
    /// A stored row-major matrix as a slice source. Stored [K, I] (i contiguous: op(A) = Aᵀ, or B not transposed)
    /// it is read along i, stored [I, K] along k, so that consecutive threads read consecutive addresses.
    /// </summary>
    public struct MatrixSource : ISliceSource<MatrixSource>
    {
        /// <summary>1: stored [K, I], i contiguous (read along i); 0: stored [I, K] (read along k).</summary>
        public int StoredKI;
        /// <summary>I, the extent of the i axis: M for op(A), N for op(B).</summary>
        public int Extent;
        /// <summary>Leading dimension as stored: Extent when stored [K, I], K when stored [I, K].</summary>
        public int Ld;
        /// <summary>Element offset of batch item 0's first element.</summary>
        public int Offset;
        /// <summary>Elements between consecutive batch items (0: one matrix shared by all).</summary>
        public int Stride;
        /// <summary>1 when Ld, Offset and (with a batch) Stride are multiples of 4, so every in-bounds float4 is 16-byte
        /// aligned and loads as one 128-bit access.</summary>
        public int Vec;
        /// <summary>Set by ForThread: the element index of the tile's (i0, 0) in the batch item.</summary>
        public int Start;
        /// <summary>Set by ForThread: Extent − i0, the rows (or columns) left from the tile's start.</summary>
        public int Rest;

        /// <summary>A matrix of <paramref name="extent"/> × <paramref name="k"/> (op view) stored [k, extent] when
        /// <paramref name="storedKI"/>, else [extent, k]; batch item z at <paramref name="offset"/> + z·<paramref name="stride"/>
        /// for <paramref name="batch"/> items.</summary>
        public MatrixSource(bool storedKI, int extent, int k, int offset, int stride, int batch)
        {
            StoredKI = storedKI ? 1 : 0; Extent = extent; Ld = storedKI ? extent : k;
            Offset = offset; Stride = stride; Start = offset; Rest = extent;
            Vec = Ld % 4 == 0 && offset % 4 == 0 && (batch == 1 || stride % 4 == 0) ? 1 : 0;
        }

        /// <inheritdoc />
        public readonly bool AlongI => StoredKI != 0;

        /// <inheritdoc />
        public readonly MatrixSource ForThread(int item, int i0, int t)
        {
            var s = this;
            s.Start = Offset + item * Stride + (StoredKI != 0 ? i0 : i0 * Ld);
            s.Rest = Extent - i0;
            return s;
        }

        /// <inheritdoc />
        public readonly Float4 Load(ArrayView<float> v, int k0, int kEnd, int t) =>
            StoredKI != 0
                ? Load4(v, Start, Ld, kEnd, Rest, k0 + (t >> 5), 4 * (t & 31), Vec)
                : Load4(v, Start, Ld, Rest, kEnd, t >> 1, k0 + 4 * (t & 1), Vec);
    }

    /// <summary>A stored row-major matrix C [M, N] with leading dimension Ld as the sink; batch item z at Offset + z·Stride.</summary>
    public struct MatrixSink : ITileSink
    {
        /// <summary>Leading dimension: elements between rows of C.</summary>
        public int Ld;
        /// <summary>Element offset of batch item 0's C.</summary>
        public int Offset;
        /// <summary>Elements between consecutive batch items (or K-split slices of the workspace).</summary>
        public int Stride;
        /// <summary>1 when Ld, Offset and (with a batch) Stride are multiples of 4: rows of four store as one 128-bit access.</summary>
        public int Vec;

        /// <summary>C with leading dimension <paramref name="ld"/>, batch item z at <paramref name="offset"/> +
        /// z·<paramref name="stride"/>, for <paramref name="batch"/> items.</summary>
        public MatrixSink(int ld, int offset, int stride, int batch)
        {
            Ld = ld; Offset = offset; Stride = stride;
            Vec = ld % 4 == 0 && offset % 4 == 0 && (batch == 1 || stride % 4 == 0) ? 1 : 0;
        }

        /// <inheritdoc />
        public readonly void Store4(ArrayView<float> c, in FastGemmParams p, int item, int row, int col, Float4 v)
        {
            if (row >= p.M) return;
            int idx = Offset + item * Stride + row * Ld + col;
            if (Vec != 0 && col + 4 <= p.N) StoreVec4(c, p, idx, v);
            else StoreScalars(c, p, idx, col, v);
        }
    }

    const int FT = 128;              // C tile edge
    const int FK = 8;                // K slice
    const int FPad = FT + 4;         // padded row stride (floats) of the k-major shared slices
    const int FPad4 = FPad / 4;      // … in float4
    const int FThreads = 256;

    // ------------------------------------------------------------------ helpers shared by v3 … v5 and the conv operands

    /// <summary>
    /// The batch item the sources read and the K range group z sums: all of K of batch item z, or split z of K
    /// (batch item 0). The sink is always indexed by z: with split K it is the workspace W [S, M, N].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (int Item, int KBegin, int KEnd) SliceRange(in FastGemmParams p, int z)
    {
        if (p.KSplit == 0) return (z, 0, p.K);
        int kBegin = z * p.KSplit;
        return (0, kBegin, Math.Min(p.K, kBegin + p.KSplit));
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
    /// Stores thread t's float4 (from a source's Load) into a k-major slice S[k][i] (row stride FPad, starting at
    /// float4 `base4`). Loaded along i it is one float4 store; loaded along k it is four scalar stores down a
    /// column (the transpose), at i = t/2, k = 4(t%2) … +3.
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

    /// <summary>C[idx … idx+3] = Alpha·v + Beta·C as one 128-bit load and store (C is not read when Beta = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreVec4(ArrayView<float> c, in FastGemmParams p, int idx, Float4 v)
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
    }

    /// <summary>C[idx + e] = Alpha·v.e + Beta·C[idx + e] for the e with col + e &lt; N.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreScalars(ArrayView<float> c, in FastGemmParams p, int idx, int col, Float4 v)
    {
        Store1(c, p, idx, col, v.X); Store1(c, p, idx + 1, col + 1, v.Y);
        Store1(c, p, idx + 2, col + 2, v.Z); Store1(c, p, idx + 3, col + 3, v.W);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store1(ArrayView<float> c, in FastGemmParams p, int idx, int col, float v)
    {
        if (col >= p.N) return;
        c[idx] = p.Beta == 0f ? p.Alpha * v : p.Alpha * v + p.Beta * c[idx];
    }

    /// <summary>Thread (tx, ty)'s 8×8 block: rows r, r+1, r+2, r+3, r+64 … at columns q … q+3 and q+64 … q+67.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreTile<TC>(ArrayView<float> c, in FastGemmParams p, TC sink, int item, int row0, int col0, int tx, int ty, Acc8x8 acc)
        where TC : struct, ITileSink
    {
        int r = row0 + 4 * ty, q = col0 + 4 * tx;
        StoreRow(c, p, sink, item, r, q, acc.R0); StoreRow(c, p, sink, item, r + 1, q, acc.R1);
        StoreRow(c, p, sink, item, r + 2, q, acc.R2); StoreRow(c, p, sink, item, r + 3, q, acc.R3);
        StoreRow(c, p, sink, item, r + 64, q, acc.R4); StoreRow(c, p, sink, item, r + 65, q, acc.R5);
        StoreRow(c, p, sink, item, r + 66, q, acc.R6); StoreRow(c, p, sink, item, r + 67, q, acc.R7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<TC>(ArrayView<float> c, in FastGemmParams p, TC sink, int item, int row, int col, Row8 r)
        where TC : struct, ITileSink
    {
        sink.Store4(c, p, item, row, col, new Float4(r.C0, r.C1, r.C2, r.C3));
        sink.Store4(c, p, item, row, col + 64, new Float4(r.C4, r.C5, r.C6, r.C7));
    }

    // ------------------------------------------------------------------ v3: 128-bit loads, 8×8 per thread

    static void GemmVec4Kernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, FastGemmParams p,
        MatrixSource srcA, MatrixSource srcB, MatrixSink sink)
    {
        // As[m][k]: k contiguous, 8 floats per row (= 2 float4); Bs[k][j]: k-major, padded rows.
        var As4 = SharedMemory.Allocate<Float4>(FT * FK / 4);
        var Bs4 = SharedMemory.Allocate<Float4>(FK * FPad4);
        var As = As4.Cast<float>();
        int t = Group.IdxX, tx = t & 15, ty = t >> 4;
        int row0 = Grid.IdxY * FT, col0 = Grid.IdxX * FT;
        var (item, kBegin, kEnd) = SliceRange(p, Grid.IdxZ);
        var sa = srcA.ForThread(item, row0, t);
        var sb = srcB.ForThread(item, col0, t);
        var acc = default(Acc8x8);

        for (int k0 = kBegin; k0 < kEnd; k0 += FK)
        {
            var va = sa.Load(a, k0, kEnd, t);
            if (!sa.AlongI) As4[t] = va;       // row t/2, k 4(t%2) … : exactly float4 number t of As[m][k]
            else
            {
                int k = t >> 5, m = 4 * (t & 31);
                As[m * FK + k] = va.X; As[(m + 1) * FK + k] = va.Y; As[(m + 2) * FK + k] = va.Z; As[(m + 3) * FK + k] = va.W;
            }
            StoreSliceKMajor(Bs4, 0, sb.Load(b, k0, kEnd, t), sb.AlongI, t);
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
        StoreTile(c, p, sink, Grid.IdxZ, row0, col0, tx, ty, acc);   // split K: partial z into W[z]
    }

    // ------------------------------------------------------------------ v4: + transposed A tile

    static void GemmTransposedATileKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, FastGemmParams p,
        MatrixSource srcA, MatrixSource srcB, MatrixSink sink)
    {
        var As4 = SharedMemory.Allocate<Float4>(FK * FPad4);   // As[k][m], k-major
        var Bs4 = SharedMemory.Allocate<Float4>(FK * FPad4);   // Bs[k][j]
        int t = Group.IdxX, tx = t & 15, ty = t >> 4;
        int row0 = Grid.IdxY * FT, col0 = Grid.IdxX * FT;
        var (item, kBegin, kEnd) = SliceRange(p, Grid.IdxZ);
        var sa = srcA.ForThread(item, row0, t);
        var sb = srcB.ForThread(item, col0, t);
        var acc = default(Acc8x8);

        for (int k0 = kBegin; k0 < kEnd; k0 += FK)
        {
            StoreSliceKMajor(As4, 0, sa.Load(a, k0, kEnd, t), sa.AlongI, t);
            StoreSliceKMajor(Bs4, 0, sb.Load(b, k0, kEnd, t), sb.AlongI, t);
            Group.Barrier();

            for (int k = 0; k < FK; k++)
            {
                int o = k * FPad4;
                acc = Acc8x8.Outer(acc, As4[o + ty], As4[o + 16 + ty], Bs4[o + tx], Bs4[o + 16 + tx]);
            }
            Group.Barrier();
        }
        StoreTile(c, p, sink, Grid.IdxZ, row0, col0, tx, ty, acc);   // split K: partial z into W[z]
    }

    // ------------------------------------------------------------------ v5: + double buffering

    /// <summary>v5, generic over its operands: the GEMM runs it with MatrixSource/MatrixSink, the implicit conv with its gathers.</summary>
    static void GemmDoubleBufferKernel<TA, TB, TC>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, FastGemmParams p,
        TA srcA, TB srcB, TC sink)
        where TA : struct, ISliceSource<TA> where TB : struct, ISliceSource<TB> where TC : struct, ITileSink
    {
        const int Slice4 = FK * FPad4;                            // one k-major slice, in float4
        var As4 = SharedMemory.Allocate<Float4>(2 * Slice4);     // two copies: [buffer][k][m]
        var Bs4 = SharedMemory.Allocate<Float4>(2 * Slice4);
        int t = Group.IdxX, tx = t & 15, ty = t >> 4;
        int row0 = Grid.IdxY * FT, col0 = Grid.IdxX * FT;
        var (item, kBegin, kEnd) = SliceRange(p, Grid.IdxZ);
        var sa = srcA.ForThread(item, row0, t);
        var sb = srcB.ForThread(item, col0, t);
        var acc = default(Acc8x8);

        StoreSliceKMajor(As4, 0, sa.Load(a, kBegin, kEnd, t), sa.AlongI, t);
        StoreSliceKMajor(Bs4, 0, sb.Load(b, kBegin, kEnd, t), sb.AlongI, t);
        Group.Barrier();

        int cur = 0;
        for (int k0 = kBegin; k0 < kEnd; k0 += FK)
        {
            // Issue the next slice's global loads now; they complete while the math below runs.
            bool more = k0 + FK < kEnd;
            Float4 na = default, nb = default;
            if (more)
            {
                na = sa.Load(a, k0 + FK, kEnd, t);
                nb = sb.Load(b, k0 + FK, kEnd, t);
            }

            // Two k-steps per iteration, read through views that start at the thread's values, so every
            // shared load is base + constant (fewer integer instructions per multiply-add).
            for (int k = 0; k < FK; k += 2)
            {
                int o = cur + k * FPad4;
                var va = As4.SubView(o + ty, FPad4 + 17);
                var vb = Bs4.SubView(o + tx, FPad4 + 17);
                acc = Acc8x8.Outer(acc, va[0], va[16], vb[0], vb[16]);
                acc = Acc8x8.Outer(acc, va[FPad4], va[FPad4 + 16], vb[FPad4], vb[FPad4 + 16]);
            }

            // The other copy was last read before the previous barrier, so it can be overwritten now.
            cur = Slice4 - cur;
            if (more)
            {
                StoreSliceKMajor(As4, cur, na, sa.AlongI, t);
                StoreSliceKMajor(Bs4, cur, nb, sb.AlongI, t);
            }
            Group.Barrier();
        }
        StoreTile(c, p, sink, Grid.IdxZ, row0, col0, tx, ty, acc);   // split K: partial z into W[z]
    }

    // ------------------------------------------------------------------ split-K reduction

    /// <summary>C = Alpha·Σ_s W[s] + Beta·C over the M×N matrix, C a stored matrix (W: S partial products [S, M, N]).</summary>
    static void GemmSplitKReduceKernel(ArrayView<float> w, ArrayView<float> c, FastGemmParams p, MatrixSink sink, int splits)
    {
        int mn = p.M * p.N;
        for (int i = Grid.GlobalIndex.X; i < mn; i += Grid.DimX * Group.DimX)
        {
            float s = 0f;
            for (int k = 0; k < splits; k++) s += w[k * mn + i];
            int col = i % p.N;
            Store1(c, p, sink.Offset + (i / p.N) * sink.Ld + col, col, s);
        }
    }

    // ------------------------------------------------------------------ launch

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, MatrixSource, MatrixSink>? _gemm3, _gemm4, _gemm5;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSink, int>? _splitKReduce;

    /// <summary>The generic kernels instantiated for the operand types in use (for `scratchnet ptx` and the tests).</summary>
    public static IEnumerable<System.Reflection.MethodInfo> GenericKernelInstances()
    {
        var v5 = typeof(IlgpuBackend).GetMethod(nameof(GemmDoubleBufferKernel), System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!;
        yield return v5.MakeGenericMethod(typeof(MatrixSource), typeof(MatrixSource), typeof(MatrixSink));
        foreach (var (a, b, c) in ImplicitConvOperandTypes) yield return v5.MakeGenericMethod(a, b, c);
    }

    /// <summary>Groups wanted in flight before K is split: the options' SplitKTargetGroups, else two 256-thread groups per
    /// multiprocessor (CPU simulator: 1, never split).</summary>
    public int SplitKTargetGroups =>
        Options.SplitKTargetGroups ?? (Accelerator.AcceleratorType == AcceleratorType.CPU ? 1 : 2 * Accelerator.NumMultiprocessors);

    /// <summary>
    /// How many K slices a Batch = 1 GEMM is split into (1 = none): enough groups to fill the device, slices of at
    /// least 128. Conv1's weight gradient (64×27 outputs, K = 65,536 at batch 64) becomes ~264 groups instead of 1.
    /// </summary>
    public int SplitKFor(in GemmArgs g) => SplitKFor(g.M, g.N, g.K, g.Batch);

    int SplitKFor(int m, int n, int k, int batch)
    {
        if (batch != 1) return 1;
        long tiles = (long)((m + FT - 1) / FT) * ((n + FT - 1) / FT);
        if (2 * tiles > SplitKTargetGroups) return 1;
        // Round down: groups beyond one full wave would start a second, nearly empty wave, which costs as much as a
        // full one (bench/results/h100).
        int byFill = (int)(SplitKTargetGroups / tiles);
        int byDepth = Math.Max(1, k / 128);
        return Math.Min(byFill, byDepth);
    }

    void GemmFast(in GemmArgs g, Storage a, Storage b, Storage c, int version)
    {
        var p = new FastGemmParams { M = g.M, N = g.N, K = g.K, Alpha = g.Alpha, Beta = g.Beta };
        var kernel = version switch
        {
            3 => _gemm3 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, MatrixSource, MatrixSink>(GemmVec4Kernel),
            4 => _gemm4 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, MatrixSource, MatrixSink>(GemmTransposedATileKernel),
            _ => _gemm5 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, MatrixSource, MatrixSink>(GemmDoubleBufferKernel),
        };
        int splits = SplitKFor(g);
        if (splits > 1)
        {
            var srcA = new MatrixSource(g.TransA, g.M, g.K, g.OffsetA, 0, 1);
            var srcB = new MatrixSource(!g.TransB, g.N, g.K, g.OffsetB, 0, 1);
            var sink = new MatrixSink(g.N, g.OffsetC, 0, 1);
            GemmSplitK(kernel, p, splits, F(a), F(b), F(c), srcA, srcB, sink);
            return;
        }
        for (int b0 = 0; b0 < g.Batch; b0 += 65535)
        {
            int nb = Math.Min(65535, g.Batch - b0);
            var srcA = new MatrixSource(g.TransA, g.M, g.K, g.OffsetA + b0 * g.StrideA, g.StrideA, g.Batch);
            var srcB = new MatrixSource(!g.TransB, g.N, g.K, g.OffsetB + b0 * g.StrideB, g.StrideB, g.Batch);
            var sink = new MatrixSink(g.N, g.OffsetC + b0 * g.StrideC, g.StrideC, g.Batch);
            kernel(TileGrid(g.M, g.N, nb), F(a), F(b), F(c), p, srcA, srcB, sink);
        }
    }

    static KernelConfig TileGrid(int m, int n, int z) =>
        new(new Index3D((n + FT - 1) / FT, (m + FT - 1) / FT, z), new Index3D(FThreads, 1, 1));

    /// <summary>
    /// Split K into `splits` slices (multiples of FK): partial products of the tiles into a workspace W [S, M, N],
    /// then C = Alpha·ΣW + Beta·C into the stored matrix described by `sink`.
    /// </summary>
    void GemmSplitK<TA, TB>(Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, TA, TB, MatrixSink> kernel,
        FastGemmParams p, int splits, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, TA srcA, TB srcB, MatrixSink sink)
        where TA : struct, ISliceSource<TA> where TB : struct, ISliceSource<TB>
    {
        int kSplit = ((p.K + splits - 1) / splits + FK - 1) / FK * FK;
        splits = (p.K + kSplit - 1) / kSplit;
        using var w = Allocate(splits * p.M * p.N, DType.Float32);
        var q = p;
        q.KSplit = kSplit; q.Alpha = 1f; q.Beta = 0f;
        kernel(TileGrid(p.M, p.N, splits), a, b, F(w), q, srcA, srcB, new MatrixSink(p.N, 0, p.M * p.N, 2));
        var reduce = _splitKReduce ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSink, int>(GemmSplitKReduceKernel);
        reduce(Grid1D((long)p.M * p.N), F(w), c, p, sink, splits);
    }
}
