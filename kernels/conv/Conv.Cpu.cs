namespace ScratchNet.Kernels;

// im2col and col2im on the cpu device (layout and index mapping: Conv.cs). CpuReference holds the plain
// loops. Both run in parallel over (image, channel) pairs: the rows r = (c·KH + kh)·KW + kw of channel c read
// (im2col) or write (col2im) only plane c of that image, so the tasks never touch the same memory.
// col2im is written as the scatter it is mathematically: each col entry is added to the pixel it came from.
// CpuBackend runs ConvSimd (Conv.Cpu.Simd.cs: the same loops, with whole rows copied or added at once)
// unless CpuSimd.ForcedPath is Reference.
public static partial class CpuReference
{
    public static void Im2Col(in ConvGeometry g, float[] X, int n0, int count, float[] COL)
    {
        var G = g;
        CpuBackend.For(count * G.C, lc =>
        {
            int l = lc / G.C, c = lc % G.C;
            int plane = ((n0 + l) * G.C + c) * G.H * G.W;
            for (int kh = 0; kh < G.KH; kh++)
                for (int kw = 0; kw < G.KW; kw++)
                {
                    int r = (c * G.KH + kh) * G.KW + kw;
                    int dst = (r * count + l) * G.OH * G.OW;              // element (r, l, 0)
                    for (int oh = 0; oh < G.OH; oh++)
                    {
                        int ih = oh * G.StrideH - G.PadH + kh;
                        for (int ow = 0; ow < G.OW; ow++)
                        {
                            int iw = ow * G.StrideW - G.PadW + kw;
                            bool inside = ih >= 0 && ih < G.H && iw >= 0 && iw < G.W;
                            COL[dst++] = inside ? X[plane + ih * G.W + iw] : 0f;
                        }
                    }
                }
        }, costPerItem: (long)G.KH * G.KW * G.OH * G.OW);
    }

    public static void Col2Im(in ConvGeometry g, float[] COL, int n0, int count, float[] DX)
    {
        var G = g;
        CpuBackend.For(count * G.C, lc =>
        {
            int l = lc / G.C, c = lc % G.C;
            int plane = ((n0 + l) * G.C + c) * G.H * G.W;
            for (int kh = 0; kh < G.KH; kh++)
                for (int kw = 0; kw < G.KW; kw++)
                {
                    int src = (((c * G.KH + kh) * G.KW + kw) * count + l) * G.OH * G.OW;
                    for (int oh = 0; oh < G.OH; oh++)
                    {
                        int ih = oh * G.StrideH - G.PadH + kh;
                        for (int ow = 0; ow < G.OW; ow++, src++)
                        {
                            int iw = ow * G.StrideW - G.PadW + kw;
                            if (ih >= 0 && ih < G.H && iw >= 0 && iw < G.W) DX[plane + ih * G.W + iw] += COL[src];
                        }
                    }
                }
        }, costPerItem: (long)G.KH * G.KW * G.OH * G.OW);
    }

    /// <summary>D[dstOffset + (j·a + i)·p + q] = S[srcOffset + (i·b + j)·p + q]: one block copy per (i, j).</summary>
    public static void SwapAxes01(float[] S, int srcOffset, float[] D, int dstOffset, int a, int b, int p)
    {
        CpuBackend.For(a * b, ij =>
        {
            int i = ij / b, j = ij % b;
            Array.Copy(S, srcOffset + (i * b + j) * p, D, dstOffset + (j * a + i) * p, p);
        }, costPerItem: p);
    }
}

public sealed partial class CpuBackend
{
    public void Im2Col(in ConvGeometry g, Storage x, int n0, int count, Storage col)
    {
        g.ValidateCols("im2col", x, n0, count, col);
        ConvSimd.Im2Col(CpuSimd.Resolve(), g, F(x), n0, count, F(col));
    }

    public void Col2Im(in ConvGeometry g, Storage col, int n0, int count, Storage dx)
    {
        g.ValidateCols("col2im", dx, n0, count, col);
        ConvSimd.Col2Im(CpuSimd.Resolve(), g, F(col), n0, count, F(dx));
    }

    public void SwapAxes01(Storage src, int srcOffset, Storage dst, int dstOffset, int a, int b, int p) =>
        ConvSimd.SwapAxes01(CpuSimd.Resolve(), F(src), srcOffset, F(dst), dstOffset, a, b, p);

    /// <summary>Conv algorithm of the cpu device: Auto (image-parallel when every core gets an image and the col
    /// buffers fit ConvImages.MaxColElements: ConvImages.Prefers), Chunked (always Conv2dDriver) or Images
    /// (image-parallel whenever the shape allows). For tests and benchmarks.</summary>
    public static CpuConvAlgorithm ConvAlgorithm { get; set; } = CpuConvAlgorithm.Auto;

    /// <summary>Whether a convolution runs image-parallel (Conv.Cpu.Images.cs). The reference paths (plain GEMM or
    /// scalar kernels) always run Conv2dDriver: they are the oracle.</summary>
    public static bool RunsImageParallel(in ConvGeometry g) =>
        !UseReferenceGemm && CpuSimd.Resolve() != CpuSimdPath.Reference && !g.IsPointwise && g.N >= 2 && ConvAlgorithm switch
        {
            CpuConvAlgorithm.Images => ConvImages.BuffersFit(g),
            CpuConvAlgorithm.Chunked => false,
            _ => ConvImages.Prefers(g),
        };

    public void Conv2dForward(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        if (!RunsImageParallel(g)) { Conv2dDriver.Forward(this, g, x, w, bias, y); return; }
        g.ValidateBuffers("conv2d", "storage", x.Length, w.Length, y.Length);
        using var cols = Allocate((int)ConvImages.ColBufferElements(g), DType.Float32);
        ConvImages.Forward(g, F(x), F(w), F(y), F(cols));
        if (bias is not null) BiasAdd(y, bias, g.N, g.O, g.ColCols);
    }

    public void Conv2dBackwardData(in ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        if (!RunsImageParallel(g)) { Conv2dDriver.BackwardData(this, g, w, dy, dx); return; }
        g.ValidateBuffers("conv2d backward (input)", "storage", dx.Length, w.Length, dy.Length);
        using var cols = Allocate((int)ConvImages.ColBufferElements(g), DType.Float32);
        ConvImages.BackwardData(g, F(w), F(dy), F(dx), F(cols));
    }

    public void Conv2dBackwardWeights(in ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        if (!RunsImageParallel(g)) { Conv2dDriver.BackwardWeights(this, g, x, dy, dw); return; }
        g.ValidateBuffers("conv2d backward (weight)", "storage", x.Length, dw.Length, dy.Length);
        int parts = ConvImages.Parts(g);
        using var cols = Allocate((int)ConvImages.ColBufferElements(g), DType.Float32);
        using var partials = Allocate(parts * g.O * g.ColRows, DType.Float32); // BuffersFit: no overflow
        ConvImages.BackwardWeights(g, F(x), F(dy), F(dw), F(cols), F(partials));
    }
}

/// <summary>How the cpu device runs a (non-pointwise) convolution; see CpuBackend.ConvAlgorithm.</summary>
public enum CpuConvAlgorithm { Auto, Chunked, Images }
