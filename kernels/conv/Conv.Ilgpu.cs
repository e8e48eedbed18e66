using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// im2col and col2im as ILGPU kernels (layout and index mapping: Conv.cs).
//
// Im2Col: a grid-stride loop over the col elements k of the chunk, k = (r·count + l)·OHW + q. Each thread
// splits k into (r = (c, kh, kw), l, oh, ow), computes the source pixel and copies it (or writes 0 in the
// padding). Adjacent threads write adjacent q, so the writes are coalesced and the reads (adjacent ow,
// stride SW apart) nearly so.
//
// Col2Im as a GATHER, one thread per input pixel (n, c, ih, iw), so that no two threads write the same
// dx element and no atomics are needed (the result is deterministic). The col entries copied from pixel
// ih are those (kh, oh) with oh·SH − PH + kh = ih, i.e. kh ≡ ih + PH (mod SH) and oh = (ih + PH − kh)/SH
// in [0, OH); the thread walks only those kh (start at (ih + PH) mod SH, step SH, stop when oh < 0),
// likewise for (kw, ow), and adds the sum of the matching entries to dx.
public sealed partial class IlgpuBackend
{
    static void Im2ColKernel(ArrayView<float> x, ArrayView<float> col, ConvGeometry g, int n0, int count, int total)
    {
        int ohw = g.OH * g.OW, kk = g.KH * g.KW;
        for (int k = Grid.GlobalIndex.X; k < total; k += Grid.DimX * Group.DimX)
        {
            int q = k % ohw, rl = k / ohw;              // rl = r·count + l
            int l = rl % count, r = rl / count;
            int ow = q % g.OW, oh = q / g.OW;
            int kw = r % g.KW, kh = r / g.KW % g.KH, c = r / kk;
            int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
            bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            col[k] = inside ? x[((n0 + l) * g.C + c) * g.H * g.W + ih * g.W + iw] : 0f;
        }
    }

    static void Col2ImKernel(ArrayView<float> col, ArrayView<float> dx, ConvGeometry g, int n0, int count, int total)
    {
        int ohw = g.OH * g.OW;
        for (int k = Grid.GlobalIndex.X; k < total; k += Grid.DimX * Group.DimX)
        {
            int iw = k % g.W, ih = k / g.W % g.H;
            int lc = k / (g.H * g.W);                   // lc = l·C + c
            int l = lc / g.C, c = lc % g.C;
            float s = 0f;
            for (int kh = (ih + g.PadH) % g.StrideH; kh < g.KH; kh += g.StrideH)
            {
                int oh = (ih + g.PadH - kh) / g.StrideH;
                if (oh < 0) break;                      // larger kh only lowers oh further
                if (oh >= g.OH) continue;
                for (int kw = (iw + g.PadW) % g.StrideW; kw < g.KW; kw += g.StrideW)
                {
                    int ow = (iw + g.PadW - kw) / g.StrideW;
                    if (ow < 0) break;
                    if (ow >= g.OW) continue;
                    // element (r, l, q) with r = (c·KH + kh)·KW + kw
                    s += col[((((c * g.KH + kh) * g.KW + kw) * count) + l) * ohw + oh * g.OW + ow];
                }
            }
            dx[n0 * g.C * g.H * g.W + k] += s;
        }
    }

    // dst[dOff + (j·a + i)·p + q] = src[sOff + (i·b + j)·p + q]: consecutive threads take consecutive q, so
    // both the reads and the writes are coalesced runs of p floats.
    static void SwapAxes01Kernel(ArrayView<float> src, int srcOffset, ArrayView<float> dst, int dstOffset, int a, int b, int p, int total)
    {
        for (int k = Grid.GlobalIndex.X; k < total; k += Grid.DimX * Group.DimX)
        {
            int q = k % p, ij = k / p, j = ij % b, i = ij / b;
            dst[dstOffset + (j * a + i) * p + q] = src[srcOffset + k];
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ConvGeometry, int, int, int>? _im2col, _col2im;
    Action<KernelConfig, ArrayView<float>, int, ArrayView<float>, int, int, int, int, int>? _swap01;

    /// <inheritdoc />
    public void SwapAxes01(Storage src, int srcOffset, Storage dst, int dstOffset, int a, int b, int p)
    {
        int total = a * b * p;
        if (total == 0) return;
        (_swap01 ??= Accelerator.LoadStreamKernel<ArrayView<float>, int, ArrayView<float>, int, int, int, int, int>(SwapAxes01Kernel))(
            Grid1D(total), F(src), srcOffset, F(dst), dstOffset, a, b, p, total);
    }

    /// <inheritdoc />
    public void Im2Col(in ConvGeometry g, Storage x, int n0, int count, Storage col)
    {
        g.ValidateCols("im2col", x, n0, count, col);
        int total = count * g.ColRows * g.ColCols;
        (_im2col ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ConvGeometry, int, int, int>(Im2ColKernel))(
            Grid1D(total), F(x), F(col), g, n0, count, total);
    }

    /// <inheritdoc />
    public void Col2Im(in ConvGeometry g, Storage col, int n0, int count, Storage dx)
    {
        g.ValidateCols("col2im", dx, n0, count, col);
        int total = count * g.InputImage;
        (_col2im ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ConvGeometry, int, int, int>(Col2ImKernel))(
            Grid1D(total), F(col), F(dx), g, n0, count, total);
    }
}
