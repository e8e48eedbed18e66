namespace ScratchNet.Kernels;

// 2-D convolution written straight from its definition: the first conv code to read, and the oracle the tests
// compare every other version with (the cpu kernels, im2col + GEMM, the direct and implicit ILGPU kernels).
//
//   forward           y[n, o, oh, ow]  = bias[o] + Σ_{c, kh, kw} w[o, c, kh, kw] · x[n, c, ih, iw]
//                                        with ih = oh·SH − PH + kh, iw = ow·SW − PW + kw, x = 0 outside the image
//   backward data     dx[n, c, ih, iw] += Σ_{o, kh, kw} w[o, c, kh, kw] · dy[n, o, oh, ow]
//                                        over the taps (kh, kw) and outputs (oh, ow) with oh·SH − PH + kh = ih,
//                                        ow·SW − PW + kw = iw
//   backward weights dw[o, c, kh, kw] += Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, c, ih, iw]   (ih, iw as in forward)
//   backward bias    db[o]            += Σ_{n, oh, ow} dy[n, o, oh, ow]
//
// Where the gradients come from: the forward is a sum of terms w[o, c, kh, kw] · x[n, c, ih, iw], one per
// (n, o, oh, ow, c, kh, kw) whose input pixel lies inside the image. The derivative of L by x[n, c, ih, iw] picks,
// from every output y[n, o, oh, ow], the terms that contain that pixel and weighs them with ∂L/∂y = dy; likewise
// for w. So each gradient is a sum over the forward's seven loops, restricted to the terms that contain it.
//
// Layouts (flat NCHW, as in Conv.cs): x [N, C, H, W], w [O, C, KH, KW], y and dy [N, O, OH, OW], bias [O].
// The three IBackend entry points behave the same: forward overwrites y, the backward passes ADD into dx, dw, db.
//
// Every output element is one sum, computed in double in a fixed order and rounded to float once. Why double:
// a product of two floats (24-bit significands) is exact in double (53 bits), so the only errors are the double
// additions, each about 1e-16 of the running sum, far below the 6e-8 of one float rounding. The result is the
// float nearest the exact sum (unless the sum lies within that tiny double error of a midpoint between two
// floats), whatever the summation order. A kernel's result then differs from it by the kernel's own round-off
// alone, which is what the tests' tolerances bound; a float oracle would add round-off of its own, in an order no
// kernel shares. The order is fixed anyway (the loops as written), so the oracle gives the same bits on every
// run. Speed does not matter here: one thread, no blocking, no vectors.
//
// Backward data is written as a GATHER: one sum per input pixel over the taps that reached it, found by
// inverting ih = oh·SH − PH + kh (oh = (ih + PH − kh)/SH must divide exactly and land in [0, OH)). The other
// form is the SCATTER: run the forward's seven loops and, where the forward added w·x into y, add w·dy into dx.
// Both add the same terms into each dx element; the scatter is the more literal adjoint and needs no division,
// but it spreads every pixel's sum over the whole loop nest (a double copy of dx would be needed to round once).
// The gather makes each dx element one sum, like the forward's y and like every kernel of this family: col2im
// and the direct ILGPU kernel (Conv.Ilgpu.cs, Conv.Ilgpu.Direct.cs) use the same inversion, with threads in place
// of the outer loops. The cpu device's col2im (Conv.Cpu.cs) is the scatter.

/// <summary>
/// Readable, single-threaded definitions of the ops on float arrays, used as the oracle of the tests.
/// Sums are accumulated in double in a fixed order and rounded once (see the header of each family's file).
/// </summary>
public static partial class Reference
{
    // Flat NCHW / OCKK indices.
    static int InputIndex(in ConvGeometry g, int n, int c, int ih, int iw) => ((n * g.C + c) * g.H + ih) * g.W + iw;
    static int WeightIndex(in ConvGeometry g, int o, int c, int kh, int kw) => ((o * g.C + c) * g.KH + kh) * g.KW + kw;
    static int OutputIndex(in ConvGeometry g, int n, int o, int oh, int ow) => ((n * g.O + o) * g.OH + oh) * g.OW + ow;

    /// <summary>
    /// y = conv2d(x, w) + bias: x [N, C, H, W], w [O, C, KH, KW], bias [O] or null, y [N, O, OH, OW] (overwritten).
    /// The seven loops of the definition; an input pixel outside the image (the zero padding) adds nothing.
    /// </summary>
    public static void Conv2dForward(in ConvGeometry g, float[] x, float[] w, float[]? bias, float[] y)
    {
        g.ValidateBuffers("conv2d forward", "buffer", x.Length, w.Length, y.Length);
        if (bias is not null) g.ValidateBias("conv2d forward", "buffer", bias.Length);
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        double s = bias is null ? 0.0 : bias[o];
                        for (int c = 0; c < g.C; c++)
                            for (int kh = 0; kh < g.KH; kh++)
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;    // zero padding
                                    s += (double)w[WeightIndex(g, o, c, kh, kw)] * x[InputIndex(g, n, c, ih, iw)];
                                }
                        y[OutputIndex(g, n, o, oh, ow)] = (float)s;
                    }
    }

    /// <summary>
    /// dx += ∂L/∂x given w [O, C, KH, KW] and dy = ∂L/∂y [N, O, OH, OW]; dx is [N, C, H, W]. A gather: for every input
    /// pixel, the sum of w·dy over the (o, kh, kw) and the output pixel whose window put tap (kh, kw) on it.
    /// </summary>
    public static void Conv2dBackwardData(in ConvGeometry g, float[] w, float[] dy, float[] dx)
    {
        g.ValidateBuffers("conv2d backward data", "buffer", dx.Length, w.Length, dy.Length);
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int ih = 0; ih < g.H; ih++)
                    for (int iw = 0; iw < g.W; iw++)
                    {
                        double s = 0.0;
                        for (int o = 0; o < g.O; o++)
                            for (int kh = 0; kh < g.KH; kh++)
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    // Tap (kh, kw) of output (oh, ow) reads (ih, iw) when oh·SH = ih + PH − kh and ow·SW = iw + PW − kw.
                                    int th = ih + g.PadH - kh, tw = iw + g.PadW - kw;
                                    if (th < 0 || tw < 0 || th % g.StrideH != 0 || tw % g.StrideW != 0) continue;
                                    int oh = th / g.StrideH, ow = tw / g.StrideW;
                                    if (oh >= g.OH || ow >= g.OW) continue;                  // past the last window
                                    s += (double)w[WeightIndex(g, o, c, kh, kw)] * dy[OutputIndex(g, n, o, oh, ow)];
                                }
                        int i = InputIndex(g, n, c, ih, iw);
                        dx[i] = (float)(dx[i] + s);
                    }
    }

    /// <summary>
    /// dw += ∂L/∂w given x [N, C, H, W] and dy = ∂L/∂y [N, O, OH, OW]; dw is [O, C, KH, KW]. For every weight, the sum over
    /// the batch and the output pixels of dy times the input pixel that weight multiplied in the forward.
    /// </summary>
    public static void Conv2dBackwardWeights(in ConvGeometry g, float[] x, float[] dy, float[] dw)
    {
        g.ValidateBuffers("conv2d backward weights", "buffer", x.Length, dw.Length, dy.Length);
        for (int o = 0; o < g.O; o++)
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        double s = 0.0;
                        for (int n = 0; n < g.N; n++)
                            for (int oh = 0; oh < g.OH; oh++)
                                for (int ow = 0; ow < g.OW; ow++)
                                {
                                    int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;    // multiplied a padding zero
                                    s += (double)dy[OutputIndex(g, n, o, oh, ow)] * x[InputIndex(g, n, c, ih, iw)];
                                }
                        int i = WeightIndex(g, o, c, kh, kw);
                        dw[i] = (float)(dw[i] + s);
                    }
    }

    /// <summary>db += ∂L/∂bias given dy = ∂L/∂y [N, O, OH, OW]; db is [O]: bias[o] is added to every y[n, o, :, :].</summary>
    public static void Conv2dBackwardBias(in ConvGeometry g, float[] dy, float[] db)
    {
        if ((long)g.N * g.OutputImage > dy.Length)
            throw new ArgumentException($"conv2d backward bias: the output buffer holds {dy.Length} elements, [{g.N}, {g.O}, {g.OH}, {g.OW}] needs {(long)g.N * g.OutputImage} ({g})");
        g.ValidateBias("conv2d backward bias", "buffer", db.Length);
        for (int o = 0; o < g.O; o++)
        {
            double s = 0.0;
            for (int n = 0; n < g.N; n++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                        s += dy[OutputIndex(g, n, o, oh, ow)];
            db[o] = (float)(db[o] + s);
        }
    }
}

// The primitives of the im2col algorithm (Conv.Im2Col.cs) as plain loops: im2col, col2im and the axis swap
// (layout and index mapping: Conv.cs). im2col and col2im run in parallel over (image, channel) pairs: the rows
// r = (c·KH + kh)·KW + kw of channel c read
// (im2col) or write (col2im) only plane c of that image, so the tasks never touch the same memory.
// col2im is written as the scatter it is mathematically: each col entry is added to the pixel it came from.
// Conv.Cpu.Simd.cs runs the same loops with whole rows copied or added at once.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.Im2Col"/>: COL[(r·count + l)·OH·OW + oh·OW + ow] =
    /// X[n0 + l, c, oh·SH − PH + kh, ow·SW − PW + kw] with r = (c·KH + kh)·KW + kw, 0 in the padding; in parallel over
    /// (image, channel) pairs.</summary>
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

    /// <summary>The definition of <see cref="IBackend.Col2Im"/>: every COL entry inside the image is added to the pixel of
    /// DX it was copied from (the adjoint of Im2Col; padding entries are dropped), in the order kh, kw, oh, ow; in parallel over
    /// (image, channel) pairs, which write disjoint planes.</summary>
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
