using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// im2col and col2im with whole rows at a time (CpuSimd.cs; layout: Conv.cs). Row (r, l, oh) of col, for
// r = (c·KH + kh)·KW + kw, holds x[n0 + l, c, ih, ow·SW − PW + kw] for ow < OW, with ih = oh·SH − PH + kh.
// Along it the input column iw = ow·SW − PW + kw is inside [0, W) exactly for ow in [owLo, owHi), where
//     owLo = ⌈(PW − kw) / SW⌉ (at least 0),   owHi = ⌊(W − 1 + PW − kw) / SW⌋ + 1 (at most OW),
// the same for every oh. So a row is: zeros (left padding), then the inside part, then zeros (right padding),
// or all zeros when ih is outside [0, H); likewise ih is inside exactly for oh in [ohLo, ohHi) (InsideRows), so
// the rows of the vertical padding are two contiguous zero blocks. With stride 1 the inside part is a contiguous
// run of x, copied (im2col) or added (col2im) with vector moves: 16 lanes, then 8, then 4 on the AVX-512 path
// (rows are short: 4 to 64 floats); a row exactly one vector wide (the seed CNN's conv2: 8) is one load and one
// store. With a larger stride it is a strided loop without the
// per-element bounds test of the reference.
// col2im adds into each pixel in the reference's order (kh, kw, oh, ow ascending; within one row every ow
// hits a different pixel), so both give the reference's bits.
/// <summary>im2col, col2im and the axis swap of the im2col algorithm on the cpu device's vector paths: each col row split
/// once into left padding, the inside run and right padding, the inside run copied (or added) with vector moves when the
/// stride is 1. Both give the reference's bits: col2im adds in the reference's order.</summary>
public static class ConvSimd
{
    /// <summary>[owLo, owHi): the outputs of a row whose input column ow·SW − PW + kw is inside the image.</summary>
    static (int Lo, int Hi) Inside(in ConvGeometry g, int kw) => InsideRange(g.PadW, g.StrideW, g.W, g.OW, kw);

    /// <summary>[ohLo, ohHi): the output rows whose input row oh·SH − PH + kh is inside the image (the same for every kw).</summary>
    static (int Lo, int Hi) InsideRows(in ConvGeometry g, int kh) => InsideRange(g.PadH, g.StrideH, g.H, g.OH, kh);

    /// <summary>Along one axis: the outputs o in [0, outSize) whose input o·stride − pad + k lies in [0, size).</summary>
    static (int Lo, int Hi) InsideRange(int pad, int stride, int size, int outSize, int k)
    {
        int lo = Math.Clamp((pad - k + stride - 1) / stride, 0, outSize);   // a numerator ≤ 0 gives 0 or less: clamped
        int top = size - 1 + pad - k;
        int hi = top < 0 ? 0 : Math.Min(outSize, top / stride + 1);
        return (lo, Math.Max(lo, hi));
    }

    /// <summary>dst[d + i] = src[s + i] for i from i on, T.Count at a time; returns the first i not done.
    /// Rows here are 4 to 64 floats: register moves beat a call to a general block copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int CopyRun<T>(ref float dst, ref float src, int d, int s, int i, int n) where T : struct, ISimd<T>
    {
        for (; i <= n - T.Count; i += T.Count) T.Store(T.Load(ref src, s + i), ref dst, d + i);
        return i;
    }

    struct Im2ColKernel<TV, T2, T3> : ICpuKernel where TV : struct, ISimd<TV> where T2 : struct, ISimd<T2> where T3 : struct, ISimd<T3>
    {
        public float[] X, Col;
        public ConvGeometry G;
        public int N0, Count, ColBase; // col starts at Col[ColBase]

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int lc0, int lc1)
        {
            var g = G;
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float col = ref MemoryMarshal.GetArrayDataReference(Col);
            for (int lc = lc0; lc < lc1; lc++)
            {
                int l = lc / g.C, c = lc % g.C;
                int plane = ((N0 + l) * g.C + c) * g.H * g.W;
                for (int kh = 0; kh < g.KH; kh++)
                {
                    var (ohLo, ohHi) = InsideRows(g, kh);
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        var (lo, hi) = Inside(g, kw);
                        int r = (c * g.KH + kh) * g.KW + kw;
                        int dst = ColBase + (r * Count + l) * g.OH * g.OW;
                        if (hi == lo) { Col.AsSpan(dst, g.OH * g.OW).Clear(); continue; }   // every column in the padding
                        // Rows whose input row is in the vertical padding: zeros, one contiguous block at each end.
                        Col.AsSpan(dst, ohLo * g.OW).Clear();
                        Col.AsSpan(dst + ohHi * g.OW, (g.OH - ohHi) * g.OW).Clear();
                        int src = plane + (ohLo * g.StrideH - g.PadH + kh) * g.W + lo * g.StrideW - g.PadW + kw, n = hi - lo;
                        int srcStep = g.StrideH * g.W;
                        if (g.StrideW == 1 && lo == 0 && hi == g.OW)
                        {
                            // The common case (stride 1, this kw needs no horizontal padding): each row is one run of OW floats.
                            // A row exactly one vector wide (the seed CNN's 8-wide rows) is one load and one store.
                            int d0 = dst + ohLo * g.OW;
                            if (n == T2.Count)
                            {
                                for (int oh = ohLo, d = d0; oh < ohHi; oh++, d += n, src += srcStep) T2.Store(T2.Load(ref x, src), ref col, d);
                                continue;
                            }
                            if (n == TV.Count)
                            {
                                for (int oh = ohLo, d = d0; oh < ohHi; oh++, d += n, src += srcStep) TV.Store(TV.Load(ref x, src), ref col, d);
                                continue;
                            }
                            for (int oh = ohLo, d = d0; oh < ohHi; oh++, d += g.OW, src += srcStep)
                            {
                                int i = CopyRun<TV>(ref col, ref x, d, src, 0, n);
                                i = CopyRun<T2>(ref col, ref x, d, src, i, n);
                                i = CopyRun<T3>(ref col, ref x, d, src, i, n);
                                for (; i < n; i++) Unsafe.Add(ref col, d + i) = Unsafe.Add(ref x, src + i);
                            }
                            continue;
                        }
                        for (int oh = ohLo, row = dst + ohLo * g.OW; oh < ohHi; oh++, row += g.OW, src += srcStep)
                        {
                            for (int ow = 0; ow < lo; ow++) Col[row + ow] = 0f;
                            for (int ow = hi; ow < g.OW; ow++) Col[row + ow] = 0f;
                            int d = row + lo;
                            if (g.StrideW == 1)
                            {
                                int i = CopyRun<TV>(ref col, ref x, d, src, 0, n);
                                i = CopyRun<T2>(ref col, ref x, d, src, i, n);
                                i = CopyRun<T3>(ref col, ref x, d, src, i, n);
                                for (; i < n; i++) Col[d + i] = X[src + i];
                            }
                            else for (int i = 0, sc = src; i < n; i++, sc += g.StrideW) Col[d + i] = X[sc];
                        }
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
        public int N0, Count, ColBase; // col starts at Col[ColBase]

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
                {
                    var (ohLo, ohHi) = InsideRows(g, kh);
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        var (lo, hi) = Inside(g, kw);
                        if (hi == lo) continue;
                        int n = hi - lo, step = g.StrideH * g.W;
                        int s = ColBase + (((c * g.KH + kh) * g.KW + kw) * Count + l) * g.OH * g.OW + ohLo * g.OW + lo;
                        int d = plane + (ohLo * g.StrideH - g.PadH + kh) * g.W + lo * g.StrideW - g.PadW + kw;
                        if (g.StrideW == 1 && n == T2.Count)   // rows exactly one vector wide (the seed CNN's): one add each
                        {
                            for (int oh = ohLo; oh < ohHi; oh++, s += g.OW, d += step)
                                T2.Store(T2.Load(ref dx, d) + T2.Load(ref col, s), ref dx, d);
                            continue;
                        }
                        if (g.StrideW == 1 && n == TV.Count)
                        {
                            for (int oh = ohLo; oh < ohHi; oh++, s += g.OW, d += step)
                                TV.Store(TV.Load(ref dx, d) + TV.Load(ref col, s), ref dx, d);
                            continue;
                        }
                        for (int oh = ohLo; oh < ohHi; oh++, s += g.OW, d += step)
                        {
                            if (g.StrideW == 1)
                            {
                                int i = AddRun<TV>(ref dx, ref col, d, s, 0, n);
                                i = AddRun<T2>(ref dx, ref col, d, s, i, n);
                                i = AddRun<T3>(ref dx, ref col, d, s, i, n);
                                for (; i < n; i++) DX[d + i] += Col[s + i];
                            }
                            else for (int i = 0, di = d; i < n; i++, di += g.StrideW) DX[di] += Col[s + i];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Blocks (i, j) of SwapAxes01: each p floats copied from [i, j] to [j, i].</summary>
    struct SwapKernel<TV, T2, T3> : ICpuKernel where TV : struct, ISimd<TV> where T2 : struct, ISimd<T2> where T3 : struct, ISimd<T3>
    {
        public float[] S, D;
        public int SrcOffset, DstOffset, A, B, P;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int ij0, int ij1)
        {
            ref float src = ref MemoryMarshal.GetArrayDataReference(S);
            ref float dst = ref MemoryMarshal.GetArrayDataReference(D);
            for (int ij = ij0; ij < ij1; ij++)
            {
                int i = ij / B, j = ij % B;
                int s = SrcOffset + (i * B + j) * P, d = DstOffset + (j * A + i) * P;
                if (P > 256) { Array.Copy(S, s, D, d, P); continue; }
                int q = CopyRun<TV>(ref dst, ref src, d, s, 0, P);
                q = CopyRun<T2>(ref dst, ref src, d, s, q, P);
                q = CopyRun<T3>(ref dst, ref src, d, s, q, P);
                for (; q < P; q++) D[d + q] = S[s + q];
            }
        }
    }

    /// <summary>SwapAxes01 (Conv.cs) on the given path: a [a, b, p] block of src becomes [b, a, p] in dst.</summary>
    public static void SwapAxes01(KernelPath path, float[] src, int srcOffset, float[] dst, int dstOffset, int a, int b, int p)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        long n = (long)a * b * p;
        if (a <= 0 || b <= 0 || p <= 0 || srcOffset < 0 || dstOffset < 0 || srcOffset + n > src.Length || dstOffset + n > dst.Length)
            throw new ArgumentException($"swap_axes01: [{a}, {b}, {p}] at offsets {srcOffset}, {dstOffset} does not fit the buffers ({src.Length}, {dst.Length})");
        int grain = Math.Max(1, CpuSimd.SerialElements / p);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(a * b, grain, new SwapKernel<V512, V256, V128> { S = src, D = dst, SrcOffset = srcOffset, DstOffset = dstOffset, A = a, B = b, P = p }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(a * b, grain, new SwapKernel<V256, V128, V128> { S = src, D = dst, SrcOffset = srcOffset, DstOffset = dstOffset, A = a, B = b, P = p }, align: 1); break;
            default: CpuSimd.For(a * b, grain, new SwapKernel<VecT, VecT, VecT> { S = src, D = dst, SrcOffset = srcOffset, DstOffset = dstOffset, A = a, B = b, P = p }, align: 1); break;
        }
    }

    static int Grain(in ConvGeometry g) => (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1L, (long)g.KH * g.KW * g.OH * g.OW));

    static void CheckSizes(string op, in ConvGeometry g, float[] images, int n0, int count, float[] col)
    {
        if (n0 < 0 || count <= 0 || n0 + count > g.N || (long)g.N * g.InputImage > images.Length || (long)count * g.ColRows * g.ColCols > col.Length)
            throw new ArgumentException($"{op}: images [{n0}, {n0 + count}) or buffers do not fit {g}");
    }

    /// <summary>Im2Col (Conv.cs) on the given path.</summary>
    public static void Im2Col(KernelPath path, in ConvGeometry g, float[] x, int n0, int count, float[] col)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CheckSizes("im2col", g, x, n0, count, col);
        int grain = Grain(g);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(count * g.C, grain, new Im2ColKernel<V512, V256, V128> { X = x, Col = col, G = g, N0 = n0, Count = count }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(count * g.C, grain, new Im2ColKernel<V256, V128, V128> { X = x, Col = col, G = g, N0 = n0, Count = count }, align: 1); break;
            default: CpuSimd.For(count * g.C, grain, new Im2ColKernel<VecT, VecT, VecT> { X = x, Col = col, G = g, N0 = n0, Count = count }, align: 1); break;
        }
    }

    /// <summary>Col2Im (Conv.cs, accumulating into dx) on the given path.</summary>
    public static void Col2Im(KernelPath path, in ConvGeometry g, float[] col, int n0, int count, float[] dx)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CheckSizes("col2im", g, dx, n0, count, col);
        int grain = Grain(g);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(count * g.C, grain, new Col2ImKernel<V512, V256, V128> { Col = col, DX = dx, G = g, N0 = n0, Count = count }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(count * g.C, grain, new Col2ImKernel<V256, V128, V128> { Col = col, DX = dx, G = g, N0 = n0, Count = count }, align: 1); break;
            default: CpuSimd.For(count * g.C, grain, new Col2ImKernel<VecT, VecT, VecT> { Col = col, DX = dx, G = g, N0 = n0, Count = count }, align: 1); break;
        }
    }

    static void CheckOne(string op, KernelPath path, in ConvGeometry g, float[] images, int n, float[] col, int colBase)
    {
        if (path is not (KernelPath.Avx512 or KernelPath.Avx2 or KernelPath.Vector))
            throw new ArgumentException($"{op} of one image: path {path} is not a vector path (the scalar reference converts whole chunks: Im2Col / Col2Im)");
        if (n < 0 || n >= g.N || (long)g.N * g.InputImage > images.Length || colBase < 0 || colBase + (long)g.ColRows * g.ColCols > col.Length)
            throw new ArgumentException($"{op}: image {n} with col at offset {colBase} does not fit the buffers ({images.Length} and {col.Length} floats) of {g}");
    }

    /// <summary>im2col of image n alone into col[colBase ..] ([CKK, OHW]), on the calling thread (ConvPerImage).</summary>
    public static void Im2ColOne(KernelPath path, in ConvGeometry g, float[] x, int n, float[] col, int colBase)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CheckOne("im2col", path, g, x, n, col, colBase);
        switch (path)
        {
            case KernelPath.Avx512: new Im2ColKernel<V512, V256, V128> { X = x, Col = col, G = g, N0 = n, Count = 1, ColBase = colBase }.Run(0, g.C); break;
            case KernelPath.Avx2: new Im2ColKernel<V256, V128, V128> { X = x, Col = col, G = g, N0 = n, Count = 1, ColBase = colBase }.Run(0, g.C); break;
            default: new Im2ColKernel<VecT, VecT, VecT> { X = x, Col = col, G = g, N0 = n, Count = 1, ColBase = colBase }.Run(0, g.C); break;
        }
    }

    /// <summary>dx[n] += col2im(col[colBase ..]) for image n alone, on the calling thread (ConvPerImage); the reference's order.</summary>
    public static void Col2ImOne(KernelPath path, in ConvGeometry g, float[] col, int colBase, int n, float[] dx)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CheckOne("col2im", path, g, dx, n, col, colBase);
        switch (path)
        {
            case KernelPath.Avx512: new Col2ImKernel<V512, V256, V128> { Col = col, DX = dx, G = g, N0 = n, Count = 1, ColBase = colBase }.Run(0, g.C); break;
            case KernelPath.Avx2: new Col2ImKernel<V256, V128, V128> { Col = col, DX = dx, G = g, N0 = n, Count = 1, ColBase = colBase }.Run(0, g.C); break;
            default: new Col2ImKernel<VecT, VecT, VecT> { Col = col, DX = dx, G = g, N0 = n, Count = 1, ColBase = colBase }.Run(0, g.C); break;
        }
    }
}
