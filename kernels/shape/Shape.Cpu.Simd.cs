using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// The shape family, vectorised (CpuSimd.cs). A copy moves bits, so every path gives the reference's result.
//
// STRIDED COPY as rows of the innermost (merged) dimension, as the broadcast family's binary ops (Broadcast.Cpu.Simd.cs): a row
// whose x and y strides are 1 is a block copy (or a vector add when accumulating), a row with x stride 0 (expand along the
// last dimension) a vector splat, anything else the scalar loop (a gather).
// TRANSPOSES: when y's innermost stride is 1 and x's is not, but x is contiguous along the dimension before (a swap of the two
// innermost dimensions, the common permute), or the same with x and y exchanged (the permute's backward), the last two
// dimensions are copied in 32 × 32 tiles: the tile's lines stay in L1 while the strided side walks them, instead of one cache
// miss per element.
// INDEX SELECT copies rows of inner floats; its adjoint adds rows, parallel over (o, a block of i), j in order: the reference's bits.
public static class ShapeSimd
{
    const int Tile = 32;

    public static void StridedCopy(KernelPath path, float[] x, float[] y, Dims6 d, Strides6 sx, Strides6 sy, bool accumulate)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        int r = d.Rank;
        // A swap of the two innermost dims (one side unit-stride along the last, the other along the one before): tiles.
        bool swap = r >= 2 && d.Size(r - 1) >= 8 && d.Size(r - 2) >= 8
            && ((sy.Stride(r - 1) == 1 && sx.Stride(r - 1) != 1 && sx.Stride(r - 2) == 1)
             || (sx.Stride(r - 1) == 1 && sy.Stride(r - 1) != 1 && sy.Stride(r - 2) == 1));
        if (swap)
        {
            var outer = Dims6.Of(d.ToArray().AsSpan(0, r - 2));
            var k = new TransposeKernel
            {
                X = x, Y = y, Outer = outer, SX = sx, SY = sy, Accumulate = accumulate, Rows = d.Size(r - 2), Cols = d.Size(r - 1),
                XRow = sx.Stride(r - 2), XCol = sx.Stride(r - 1), YRow = sy.Stride(r - 2), YCol = sy.Stride(r - 1),
            };
            k.RowTiles = (k.Rows + Tile - 1) / Tile; k.ColTiles = (k.Cols + Tile - 1) / Tile;
            CpuSimd.For(outer.N * k.RowTiles * k.ColTiles, Math.Max(1, CpuSimd.SerialElements / (Tile * Tile)), k, align: 1);
            return;
        }
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(d.N, CpuSimd.SerialElements, new CopyKernel<V512> { X = x, Y = y, D = d, SX = sx, SY = sy, Accumulate = accumulate }); break;
            case KernelPath.Avx2: CpuSimd.For(d.N, CpuSimd.SerialElements, new CopyKernel<V256> { X = x, Y = y, D = d, SX = sx, SY = sy, Accumulate = accumulate }); break;
            default: CpuSimd.For(d.N, CpuSimd.SerialElements, new CopyKernel<VecT> { X = x, Y = y, D = d, SX = sx, SY = sy, Accumulate = accumulate }); break;
        }
    }

    public static void IndexSelect(KernelPath path, float[] x, int[] index, float[] y, int outer, int dimIn, int count, int inner)
    {
        CpuSimd.Resolve(path);
        CpuSimd.For(outer * count, Math.Max(1, CpuSimd.SerialElements / Math.Max(1, inner)), new SelectKernel { X = x, Index = index, Y = y, DimIn = dimIn, Count = count, Inner = inner }, align: 1);
    }

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

    /// <summary>The two innermost dims in Tile × Tile blocks: item = (outer index, row tile, column tile). Inside a tile the inner
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
                int r0 = t / ColTiles * Tile, c0 = t % ColTiles * Tile;
                int r1 = Math.Min(Rows, r0 + Tile), c1 = Math.Min(Cols, c0 + Tile);
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
