namespace ScratchNet.Kernels;

// im2col and col2im on the cpu device (layout and index mapping: Conv.cs). Reference holds the plain
// loops. Both run in parallel over (image, channel) pairs: the rows r = (c·KH + kh)·KW + kw of channel c read
// (im2col) or write (col2im) only plane c of that image, so the tasks never touch the same memory.
// col2im is written as the scatter it is mathematically: each col entry is added to the pixel it came from.
// Conv.Cpu.Simd.cs runs the same loops with whole rows copied or added at once.
public static partial class Reference
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
