using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// Packing: copying a block of A or B into the exact order in which the micro-kernel will read it.
//
// Packed A block (mc × kc, from A at row ic, column pc): ceil(mc/MR) slivers one after another, each
// MR rows × kc, stored column by column:
//
//     sliver s, element (r, p)  →  ap[s·MR·kc + p·MR + r]       (rows past mc are zero)
//
// Packed B block (kc × nc, from B at row pc, column jc): ceil(nc/NR) slivers, each kc × NR, stored
// row by row:
//
//     sliver s, element (p, j)  →  bp[s·kc·NR + p·NR + j]       (columns past nc are zero)
//
// So the micro-kernel reads both slivers with unit stride, whatever the layout of the caller's
// matrices. This is also where the transposes disappear: op(A)(i, k) is A[i·lda + k], or A[k·lda + i]
// when transA; op(B)(k, j) is B[k·ldb + j], or B[j·ldb + k] when transB. The zero padding of the last
// sliver lets the kernel always compute a full MR×NR tile; the driver writes only the valid part.
public static unsafe partial class Sgemm
{
    /// <summary>Packs op(A)[0..mc, 0..kc] (a points at its first element) into MR-row slivers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackA<TK>(bool transA, float* a, nint lda, int mc, int kc, float* ap) where TK : ISgemmKernel
    {
        int MR = TK.MR;
        int w = Vector<float>.Count;
        for (int i0 = 0; i0 < mc; i0 += MR, ap += (nint)MR * kc)
        {
            int rows = Math.Min(MR, mc - i0);
            if (!transA)
            {
                // Row r of the sliver is contiguous in A, column p must become contiguous: a transpose.
                Transpose(a + i0 * lda, lda, rows, kc, ap, MR);
            }
            else
            {
                // Column p of the sliver is contiguous in the stored Aᵀ: a straight copy of `rows` floats.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + p * lda + i0;
                    float* dst = ap + p * MR;
                    if (rows == MR && MR % w == 0)
                        for (int r = 0; r < MR; r += w) Vector.Store(Vector.Load(src + r), dst + r);
                    else
                        for (int r = 0; r < rows; r++) dst[r] = src[r];
                }
            }
            for (int r = rows; r < MR; r++)
                for (int p = 0; p < kc; p++) ap[p * MR + r] = 0f;
        }
    }

    /// <summary>Packs op(B)[0..kc, 0..cols] (b points at its first element, cols ≤ NR) into one NR-column sliver.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackBSliver<TK>(bool transB, float* b, nint ldb, int kc, int cols, float* bp) where TK : ISgemmKernel
    {
        int NR = TK.NR;
        int w = Vector<float>.Count; // NR is a multiple of the Vector<float> width for every kernel
        if (!transB)
        {
            // Row p of the sliver is contiguous in B: copy NR floats per row.
            for (int p = 0; p < kc; p++)
            {
                float* src = b + p * ldb;
                float* dst = bp + p * NR;
                if (cols == NR)
                    for (int j = 0; j < NR; j += w) Vector.Store(Vector.Load(src + j), dst + j);
                else
                {
                    for (int j = 0; j < cols; j++) dst[j] = src[j];
                    for (int j = cols; j < NR; j++) dst[j] = 0f;
                }
            }
        }
        else
        {
            // Column j of the sliver is row j of the stored Bᵀ, row p must become contiguous: a transpose.
            Transpose(b, ldb, cols, kc, bp, NR);
            for (int j = cols; j < NR; j++)
                for (int p = 0; p < kc; p++) bp[p * NR + j] = 0f;
        }
    }

    /// <summary>Prefetches op(B)[0..kc, 0..cols] (b points at its first element) into L2: one request per 64-byte line.</summary>
    static void PrefetchBSliver(bool transB, float* b, nint ldb, int kc, int cols)
    {
        if (!Sse.IsSupported) return;
        int rows = transB ? cols : kc, length = transB ? kc : cols; // contiguous runs of `length` floats
        for (int r = 0; r < rows; r++)
        {
            float* run = b + r * ldb;
            for (int j = 0; j < length; j += 16) Sse.Prefetch1(run + j);
            Sse.Prefetch1(run + length - 1); // a run that does not start on a line boundary ends on one more line
        }
    }

    /// <summary>
    /// dst[c·dstStride + r] = src[r·srcStride + c] for r &lt; rows, c &lt; cols. Done in 4×4 blocks held in
    /// four SSE registers (load 4 rows of 4, transpose in registers, store 4 rows of 4) where SSE exists,
    /// which is several times faster than moving one float at a time with a strided store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Transpose(float* src, nint srcStride, int rows, int cols, float* dst, nint dstStride)
    {
        int r = 0;
        if (Sse.IsSupported)
        {
            for (; r + 4 <= rows; r += 4)
            {
                float* s0 = src + r * srcStride, s1 = s0 + srcStride, s2 = s1 + srcStride, s3 = s2 + srcStride;
                float* d = dst + r;
                int c = 0;
                for (; c + 4 <= cols; c += 4)
                {
                    // rows (a, b, c, d) of the block → columns, as in _MM_TRANSPOSE4_PS
                    var ab01 = Sse.UnpackLow(Sse.LoadVector128(s0 + c), Sse.LoadVector128(s1 + c));  // a0 b0 a1 b1
                    var cd01 = Sse.UnpackLow(Sse.LoadVector128(s2 + c), Sse.LoadVector128(s3 + c));  // c0 d0 c1 d1
                    var ab23 = Sse.UnpackHigh(Sse.LoadVector128(s0 + c), Sse.LoadVector128(s1 + c)); // a2 b2 a3 b3
                    var cd23 = Sse.UnpackHigh(Sse.LoadVector128(s2 + c), Sse.LoadVector128(s3 + c)); // c2 d2 c3 d3
                    Sse.Store(d + (c + 0) * dstStride, Sse.MoveLowToHigh(ab01, cd01));  // a0 b0 c0 d0
                    Sse.Store(d + (c + 1) * dstStride, Sse.MoveHighToLow(cd01, ab01));  // a1 b1 c1 d1
                    Sse.Store(d + (c + 2) * dstStride, Sse.MoveLowToHigh(ab23, cd23));  // a2 b2 c2 d2
                    Sse.Store(d + (c + 3) * dstStride, Sse.MoveHighToLow(cd23, ab23));  // a3 b3 c3 d3
                }
                for (; c < cols; c++)
                {
                    d[c * dstStride + 0] = s0[c]; d[c * dstStride + 1] = s1[c];
                    d[c * dstStride + 2] = s2[c]; d[c * dstStride + 3] = s3[c];
                }
            }
        }
        for (; r < rows; r++)
        {
            float* s = src + r * srcStride;
            for (int c = 0; c < cols; c++) dst[c * dstStride + r] = s[c];
        }
    }

    /// <summary>
    /// One thread's pack buffers, 64-byte aligned native memory grown on demand and then reused by every
    /// later call on that thread (no allocation in steady state). Freed by the finalizer when the thread
    /// that owned it is gone.
    /// </summary>
    sealed class PackBuffers
    {
        [ThreadStatic] static PackBuffers? t_current;

        public float* A, B;
        nint _aCapacity, _bCapacity;

        public static PackBuffers Get(nint aFloats, nint bFloats)
        {
            var buffers = t_current ??= new PackBuffers();
            buffers.A = Grow(buffers.A, ref buffers._aCapacity, aFloats);
            buffers.B = Grow(buffers.B, ref buffers._bCapacity, bFloats);
            return buffers;
        }

        static float* Grow(float* p, ref nint capacity, nint needed)
        {
            if (needed <= capacity) return p;
            NativeMemory.AlignedFree(p);
            capacity = needed;
            return (float*)NativeMemory.AlignedAlloc((nuint)needed * sizeof(float), 64);
        }

        ~PackBuffers()
        {
            NativeMemory.AlignedFree(A);
            NativeMemory.AlignedFree(B);
        }
    }
}
