using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// The shape family, vectorised (CpuSimd.cs). A copy moves bits, so every path gives the reference's result.
//
// STRIDED COPY as rows of the innermost (merged) dimension, as the broadcast family's binary ops (Broadcast.Cpu.Simd.cs): a row
// whose x and y strides are 1 is a block copy (or a vector add when accumulating), a row with x stride 0 (expand along the
// last dimension) a vector splat, anything else the scalar loop (a gather).
// TRANSPOSES (on the avx512 and avx2 paths: 8 × 8 register transposes, AVX; on the vector path: scalar tiles): when y's
// innermost stride is 1 and x's is not, but x is contiguous along the dimension before (a swap of the two
// innermost dimensions, the common permute), or the same with x and y exchanged (the permute's backward), the last two
// dimensions are copied in tiles of 16 rows × 8 columns, column tiles first: the strided side's 8 lines (one per column, all
// in one L1 set when the row length is a power of two: 8 ways) are used whole within a tile, the unit-stride side's half lines
// are completed by the next tile; instead of one cache miss per element.
// INDEX SELECT copies rows of inner floats; its adjoint adds rows, parallel over (o, a block of i), j in order: the reference's bits.
/// <summary>The shape family on the cpu device's vector paths: strided copies as rows of the innermost merged dimension
/// (block copies, splats or gathers), swaps of the two innermost dimensions as tiled 8 × 8 register transposes, and
/// index_select by rows. Copies move bits, so every path gives the reference's result.</summary>
public static class ShapeSimd
{
    const int RowTile = 16, ColTile = 8;

    /// <summary>y[offset(y, i)] = x[offset(x, i)] (or += with <paramref name="accumulate"/>) for i &lt; d.N on a vector path;
    /// y's offsets must be distinct.</summary>
    public static void StridedCopy(KernelPath path, float[] x, float[] y, Dims6 d, Strides6 sx, Strides6 sy, bool accumulate)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        int r = d.Rank;
        // A swap of the two innermost dims (one side unit-stride along the last, the other along the one before): tiles.
        bool swap = r >= 2 && d.Size(r - 1) >= 8 && d.Size(r - 2) >= 8
            && ((sy.Stride(r - 1) == 1 && sx.Stride(r - 1) > 1 && sx.Stride(r - 2) == 1)
             || (sx.Stride(r - 1) == 1 && sy.Stride(r - 1) > 1 && sy.Stride(r - 2) == 1));
        if (swap)
        {
            var outer = Dims6.Of(d.ToArray().AsSpan(0, r - 2));
            if (Avx.IsSupported && path is KernelPath.Avx512 or KernelPath.Avx2)
            {
                // p indexes dst rows (unit stride along q in dst), q indexes src rows (unit stride along p in src)
                bool yRows = sy.Stride(r - 1) == 1;
                var t8 = new Transpose8Kernel
                {
                    Src = x, Dst = y, Outer = outer, SSrc = sx, SDst = sy, Accumulate = accumulate,
                    P = yRows ? d.Size(r - 2) : d.Size(r - 1), Q = yRows ? d.Size(r - 1) : d.Size(r - 2),
                    SrcRow = yRows ? sx.Stride(r - 1) : sx.Stride(r - 2), DstRow = yRows ? sy.Stride(r - 2) : sy.Stride(r - 1),
                };
                t8.PBlocks = (t8.P + 7) / 8;
                CpuSimd.For(outer.N * t8.PBlocks, Math.Max(1, CpuSimd.SerialElements / (8 * t8.Q)), t8, align: 1);
                return;
            }
            var k = new TransposeKernel
            {
                X = x, Y = y, Outer = outer, SX = sx, SY = sy, Accumulate = accumulate, Rows = d.Size(r - 2), Cols = d.Size(r - 1),
                XRow = sx.Stride(r - 2), XCol = sx.Stride(r - 1), YRow = sy.Stride(r - 2), YCol = sy.Stride(r - 1),
            };
            k.RowTiles = (k.Rows + RowTile - 1) / RowTile; k.ColTiles = (k.Cols + ColTile - 1) / ColTile;
            CpuSimd.For(outer.N * k.RowTiles * k.ColTiles, Math.Max(1, CpuSimd.SerialElements / (RowTile * ColTile)), k, align: 1);
            return;
        }
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(d.N, CpuSimd.SerialElements, new CopyKernel<V512> { X = x, Y = y, D = d, SX = sx, SY = sy, Accumulate = accumulate }); break;
            case KernelPath.Avx2: CpuSimd.For(d.N, CpuSimd.SerialElements, new CopyKernel<V256> { X = x, Y = y, D = d, SX = sx, SY = sy, Accumulate = accumulate }); break;
            default: CpuSimd.For(d.N, CpuSimd.SerialElements, new CopyKernel<VecT> { X = x, Y = y, D = d, SX = sx, SY = sy, Accumulate = accumulate }); break;
        }
    }

    /// <summary>y[o, j, i] = x[o, index[j], i] for y [outer, count, inner], a row of inner floats at a time; an index outside
    /// [0, dimIn) gives a row of NaN.</summary>
    public static void IndexSelect(KernelPath path, float[] x, int[] index, float[] y, int outer, int dimIn, int count, int inner)
    {
        CpuSimd.Resolve(path);
        CpuSimd.For(outer * count, Math.Max(1, CpuSimd.SerialElements / Math.Max(1, inner)), new SelectKernel { X = x, Index = index, Y = y, DimIn = dimIn, Count = count, Inner = inner }, align: 1);
    }

    /// <summary>dx[o, index[j], i] += dy[o, j, i] (accumulates), parallel over (o, blocks of 1024 columns i), j in order: the
    /// reference's bits. An index outside [0, dimIn) is dropped.</summary>
    public static void IndexSelectBackward(KernelPath path, int[] index, float[] dy, float[] dx, int outer, int dimIn, int count, int inner)
    {
        path = CpuSimd.Resolve(path);
        const int block = 1024;
        int blocks = (inner + block - 1) / block;
        int grain = (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1L, (long)count * Math.Min(inner, block)));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(outer * blocks, grain, new IndexAddKernel<V512> { Index = index, DY = dy, DX = dx, DimIn = dimIn, Count = count, Inner = inner, Blocks = blocks, Block = block }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(outer * blocks, grain, new IndexAddKernel<V256> { Index = index, DY = dy, DX = dx, DimIn = dimIn, Count = count, Inner = inner, Blocks = blocks, Block = block }, align: 1); break;
            default: CpuSimd.For(outer * blocks, grain, new IndexAddKernel<VecT> { Index = index, DY = dy, DX = dx, DimIn = dimIn, Count = count, Inner = inner, Blocks = blocks, Block = block }, align: 1); break;
        }
    }

    struct CopyKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X, Y;
        public Dims6 D;
        public Strides6 SX, SY;
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            int r = D.Rank;
            int row = r == 0 ? 1 : D.Size(r - 1);
            int ix = r == 0 ? 0 : SX.Stride(r - 1), iy = r == 0 ? 1 : SY.Stride(r - 1);
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
            for (int i = start; i < end;)
            {
                int col = i % row, len = Math.Min(row - col, end - i);
                int ox = StridedLayout.Offset(i - col, D, SX) + col * ix, oy = StridedLayout.Offset(i - col, D, SY) + col * iy;
                int k = 0;
                if (iy == 1 && ix == 1 && !Accumulate) { X.AsSpan(ox, len).CopyTo(Y.AsSpan(oy, len)); k = len; }
                else if (iy == 1 && (ix | 1) == 1)
                {
                    var splat = TV.Splat(X[ox]);
                    for (; k <= len - TV.Count; k += TV.Count)
                    {
                        var v = ix == 1 ? TV.Load(ref x, ox + k) : splat;
                        TV.Store(Accumulate ? TV.Load(ref y, oy + k) + v : v, ref y, oy + k);
                    }
                }
                for (; k < len; k++)
                {
                    int at = oy + k * iy;
                    float v = X[ox + k * ix];
                    Y[at] = Accumulate ? Y[at] + v : v;
                }
                i += len;
            }
        }
    }

    /// <summary>The two innermost dims in RowTile × ColTile blocks (16 × 8): item = (outer index, row tile, column tile). Inside a tile the inner
    /// loop runs along y's unit stride (a gather from x) or, when y is the transposed side, along x's (a scatter to y).</summary>
    struct TransposeKernel : ICpuKernel
    {
        public float[] X, Y;
        public Dims6 Outer;
        public Strides6 SX, SY;
        public bool Accumulate;
        public int Rows, Cols, XRow, XCol, YRow, YCol, RowTiles, ColTiles;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            for (int item = start; item < end; item++)
            {
                int o = item / (RowTiles * ColTiles), t = item % (RowTiles * ColTiles);
                int r0 = t / ColTiles * RowTile, c0 = t % ColTiles * ColTile;
                int r1 = Math.Min(Rows, r0 + RowTile), c1 = Math.Min(Cols, c0 + ColTile);
                int bx = StridedLayout.Offset(o, Outer, SX), by = StridedLayout.Offset(o, Outer, SY);
                for (int rr = r0; rr < r1; rr++)
                {
                    int xo = bx + rr * XRow, yo = by + rr * YRow;
                    if (Accumulate) for (int c = c0; c < c1; c++) Y[yo + c * YCol] += X[xo + c * XCol];
                    else for (int c = c0; c < c1; c++) Y[yo + c * YCol] = X[xo + c * XCol];
                }
            }
        }
    }

    /// <summary>
    /// A swap of the two innermost dims with 8 × 8 register transposes (AVX: unpack, shuffle, 128-bit permute): element (p, q) is
    /// src[q·SrcRow + p] and dst[p·DstRow + q]. Item = (outer index, 8 dst rows p0 .. p0 + 7), which it writes whole, left to right:
    /// eight src rows of 8 floats in, eight dst rows of 8 floats out per tile; the q tail and a last partial block of p are scalar.
    /// </summary>
    struct Transpose8Kernel : ICpuKernel
    {
        public float[] Src, Dst;
        public Dims6 Outer;
        public Strides6 SSrc, SDst;
        public bool Accumulate;
        public int P, Q, SrcRow, DstRow, PBlocks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float src = ref MemoryMarshal.GetArrayDataReference(Src);
            ref float dst = ref MemoryMarshal.GetArrayDataReference(Dst);
            for (int item = start; item < end; item++)
            {
                int o = item / PBlocks, p0 = item % PBlocks * 8;
                int bs = StridedLayout.Offset(o, Outer, SSrc), bd = StridedLayout.Offset(o, Outer, SDst);
                int q0 = 0;
                if (p0 + 8 <= P)
                    for (; q0 + 8 <= Q; q0 += 8)
                        Tile(ref Unsafe.Add(ref src, bs + q0 * SrcRow + p0), SrcRow, ref Unsafe.Add(ref dst, bd + p0 * DstRow + q0), DstRow, Accumulate);
                for (int p = p0; p < Math.Min(P, p0 + 8); p++)
                    for (int q = q0; q < Q; q++)
                    {
                        int at = bd + p * DstRow + q;
                        float v = Src[bs + q * SrcRow + p];
                        Dst[at] = Accumulate ? Dst[at] + v : v;
                    }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Tile(ref float s, int ss, ref float d, int ds, bool accumulate)
        {
            var a0 = Vector256.LoadUnsafe(ref s); var a1 = Vector256.LoadUnsafe(ref s, (nuint)ss);
            var a2 = Vector256.LoadUnsafe(ref s, (nuint)(2 * ss)); var a3 = Vector256.LoadUnsafe(ref s, (nuint)(3 * ss));
            var a4 = Vector256.LoadUnsafe(ref s, (nuint)(4 * ss)); var a5 = Vector256.LoadUnsafe(ref s, (nuint)(5 * ss));
            var a6 = Vector256.LoadUnsafe(ref s, (nuint)(6 * ss)); var a7 = Vector256.LoadUnsafe(ref s, (nuint)(7 * ss));
            var t0 = Avx.UnpackLow(a0, a1); var t1 = Avx.UnpackHigh(a0, a1); var t2 = Avx.UnpackLow(a2, a3); var t3 = Avx.UnpackHigh(a2, a3);
            var t4 = Avx.UnpackLow(a4, a5); var t5 = Avx.UnpackHigh(a4, a5); var t6 = Avx.UnpackLow(a6, a7); var t7 = Avx.UnpackHigh(a6, a7);
            var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE); var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE); var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
            Put(Avx.Permute2x128(u0, u4, 0x20), ref d, 0, accumulate);
            Put(Avx.Permute2x128(u1, u5, 0x20), ref d, ds, accumulate);
            Put(Avx.Permute2x128(u2, u6, 0x20), ref d, 2 * ds, accumulate);
            Put(Avx.Permute2x128(u3, u7, 0x20), ref d, 3 * ds, accumulate);
            Put(Avx.Permute2x128(u0, u4, 0x31), ref d, 4 * ds, accumulate);
            Put(Avx.Permute2x128(u1, u5, 0x31), ref d, 5 * ds, accumulate);
            Put(Avx.Permute2x128(u2, u6, 0x31), ref d, 6 * ds, accumulate);
            Put(Avx.Permute2x128(u3, u7, 0x31), ref d, 7 * ds, accumulate);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Put(Vector256<float> v, ref float d, int at, bool accumulate)
        {
            if (accumulate) v += Vector256.LoadUnsafe(ref d, (nuint)at);
            v.StoreUnsafe(ref d, (nuint)at);
        }
    }

    struct SelectKernel : ICpuKernel
    {
        public float[] X, Y;
        public int[] Index;
        public int DimIn, Count, Inner;

        public void Run(int start, int end)
        {
            for (int row = start; row < end; row++)
            {
                int o = row / Count, k = Index[row % Count];
                var dst = Y.AsSpan(row * Inner, Inner);
                if (k >= 0 && k < DimIn) X.AsSpan((o * DimIn + k) * Inner, Inner).CopyTo(dst);
                else dst.Fill(float.NaN);
            }
        }
    }

    struct IndexAddKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public int[] Index;
        public float[] DY, DX;
        public int DimIn, Count, Inner, Blocks, Block;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            ref float dx = ref MemoryMarshal.GetArrayDataReference(DX);
            for (int item = start; item < end; item++)
            {
                int o = item / Blocks, i0 = item % Blocks * Block, i1 = Math.Min(Inner, i0 + Block);
                for (int j = 0; j < Count; j++)
                {
                    int k = Index[j];
                    if (k < 0 || k >= DimIn) continue;
                    int src = (o * Count + j) * Inner, dst = (o * DimIn + k) * Inner;
                    int i = i0;
                    for (; i <= i1 - TV.Count; i += TV.Count)
                        TV.Store(TV.Load(ref dx, dst + i) + TV.Load(ref dy, src + i), ref dx, dst + i);
                    for (; i < i1; i++) DX[dst + i] += DY[src + i];
                }
            }
        }
    }
}
