using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// im2col and col2im with whole rows at a time (CpuSimd.cs; layout: Conv.cs). Row (r, l, oh) of col, for
// r = (c·KH + kh)·KW + kw, holds x[n0 + l, c, ih, ow·SW − PW + kw] for ow < OW, with ih = oh·SH − PH + kh.
// Along it the input column iw = ow·SW − PW + kw is inside [0, W) exactly for ow in [owLo, owHi), where
//     owLo = ⌈(PW − kw) / SW⌉ (at least 0),   owHi = ⌊(W − 1 + PW − kw) / SW⌋ + 1 (at most OW),
// the same for every oh. So a row is: zeros (left padding), then the inside part, then zeros (right padding),
// or all zeros when ih is outside [0, H). With stride 1 the inside part is a contiguous run of x: one block
// copy (im2col) or one vector addition (col2im: 16 lanes, then 8, then 4 on the AVX-512 path). With a larger stride it is a strided
// loop without the per-element bounds test of the reference.
// col2im adds into each pixel in the reference's order (kh, kw, oh, ow ascending; within one row every ow
// hits a different pixel), so both give the reference's bits.
public static class ConvSimd
{
    /// <summary>[owLo, owHi): the outputs of a row whose input column ow·SW − PW + kw is inside the image.</summary>
    static (int Lo, int Hi) Inside(in ConvGeometry g, int kw)
    {
        int lo = Math.Clamp((g.PadW - kw + g.StrideW - 1) / g.StrideW, 0, g.OW);   // a numerator ≤ 0 gives 0 or less: clamped
        int top = g.W - 1 + g.PadW - kw;
        int hi = top < 0 ? 0 : Math.Min(g.OW, top / g.StrideW + 1);
        return (lo, Math.Max(lo, hi));
    }

    struct Im2ColKernel : ICpuKernel
    {
        public float[] X, Col;
        public ConvGeometry G;
        public int N0, Count;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int lc0, int lc1)
        {
            var g = G;
            for (int lc = lc0; lc < lc1; lc++)
            {
                int l = lc / g.C, c = lc % g.C;
                int plane = ((N0 + l) * g.C + c) * g.H * g.W;
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        var (lo, hi) = Inside(g, kw);
                        int r = (c * g.KH + kh) * g.KW + kw;
                        int dst = (r * Count + l) * g.OH * g.OW;
                        for (int oh = 0; oh < g.OH; oh++, dst += g.OW)
                        {
                            var row = Col.AsSpan(dst, g.OW);
                            int ih = oh * g.StrideH - g.PadH + kh;
                            if (ih < 0 || ih >= g.H || hi == lo) { row.Clear(); continue; }
                            row[..lo].Clear();
                            row[hi..].Clear();
                            int src = plane + ih * g.W + lo * g.StrideW - g.PadW + kw;
                            if (g.StrideW == 1) X.AsSpan(src, hi - lo).CopyTo(row[lo..]);
                            else for (int ow = lo; ow < hi; ow++, src += g.StrideW) row[ow] = X[src];
                        }
                    }
            }
        }
    }

    /// <summary>dx[d ..] += col[s ..] for i &lt; n, from i on, T.Count lanes at a time; returns the first i not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int AddRun<T>(ref float dx, ref float col, int d, int s, int i, int n) where T : struct, ISimd<T>
    {
        for (; i <= n - T.Count; i += T.Count) T.Store(T.Load(ref dx, d + i) + T.Load(ref col, s + i), ref dx, d + i);
        return i;
    }

    /// <summary>TV is the main vector, T2 and T3 narrower ones for the rest of a row (rows are often 8 to 32 floats).</summary>
    struct Col2ImKernel<TV, T2, T3> : ICpuKernel where TV : struct, ISimd<TV> where T2 : struct, ISimd<T2> where T3 : struct, ISimd<T3>
    {
        public float[] Col, DX;
        public ConvGeometry G;
        public int N0, Count;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int lc0, int lc1)
        {
            var g = G;
            ref float col = ref MemoryMarshal.GetArrayDataReference(Col);
            ref float dx = ref MemoryMarshal.GetArrayDataReference(DX);
            for (int lc = lc0; lc < lc1; lc++)
            {
                int l = lc / g.C, c = lc % g.C;
                int plane = ((N0 + l) * g.C + c) * g.H * g.W;
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        var (lo, hi) = Inside(g, kw);
                        int src = (((c * g.KH + kh) * g.KW + kw) * Count + l) * g.OH * g.OW;
                        for (int oh = 0; oh < g.OH; oh++, src += g.OW)
                        {
                            int ih = oh * g.StrideH - g.PadH + kh;
                            if (ih < 0 || ih >= g.H || hi == lo) continue;
                            int d = plane + ih * g.W + lo * g.StrideW - g.PadW + kw, s = src + lo, n = hi - lo;
                            if (g.StrideW == 1)
                            {
                                int i = AddRun<TV>(ref dx, ref col, d, s, 0, n);
                                i = AddRun<T2>(ref dx, ref col, d, s, i, n);
                                i = AddRun<T3>(ref dx, ref col, d, s, i, n);
                                for (; i < n; i++) DX[d + i] += Col[s + i];
                            }
                            else for (int i = 0; i < n; i++, d += g.StrideW) DX[d] += Col[s + i];
                        }
                    }
            }
        }
    }

    static int Grain(in ConvGeometry g) => (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1L, (long)g.KH * g.KW * g.OH * g.OW));

    static void CheckSizes(string op, in ConvGeometry g, float[] images, int n0, int count, float[] col)
    {
        if (n0 < 0 || count <= 0 || n0 + count > g.N || (long)g.N * g.InputImage > images.Length || (long)count * g.ColRows * g.ColCols > col.Length)
            throw new ArgumentException($"{op}: images [{n0}, {n0 + count}) or buffers do not fit {g}");
    }

    /// <summary>Im2Col (Conv.cs) on the given path.</summary>
    public static void Im2Col(CpuSimdPath path, in ConvGeometry g, float[] x, int n0, int count, float[] col)
    {
        CheckSizes("im2col", g, x, n0, count, col);
        if (path == CpuSimdPath.Reference) { CpuReference.Im2Col(g, x, n0, count, col); return; }
        CpuSimd.For(count * g.C, Grain(g), new Im2ColKernel { X = x, Col = col, G = g, N0 = n0, Count = count }, align: 1);
    }

    /// <summary>Col2Im (Conv.cs, accumulating into dx) on the given path.</summary>
    public static void Col2Im(CpuSimdPath path, in ConvGeometry g, float[] col, int n0, int count, float[] dx)
    {
        CheckSizes("col2im", g, dx, n0, count, col);
        int grain = Grain(g);
        switch (path)
        {
            case CpuSimdPath.Reference: CpuReference.Col2Im(g, col, n0, count, dx); break;
            case CpuSimdPath.Avx512: CpuSimd.For(count * g.C, grain, new Col2ImKernel<V512, V256, V128> { Col = col, DX = dx, G = g, N0 = n0, Count = count }, align: 1); break;
            case CpuSimdPath.Avx2: CpuSimd.For(count * g.C, grain, new Col2ImKernel<V256, V128, V128> { Col = col, DX = dx, G = g, N0 = n0, Count = count }, align: 1); break;
            default: CpuSimd.For(count * g.C, grain, new Col2ImKernel<VecT, VecT, VecT> { Col = col, DX = dx, G = g, N0 = n0, Count = count }, align: 1); break;
        }
    }
}
