namespace ScratchNet.Kernels;

// Pooling on the cpu device. Reference holds the plain loops: the N·C image planes are independent, so
// every loop runs in parallel over planes; within a plane the code is the textbook definition (see Pool.cs for the
// math, the argmax convention and the divisors). The cpu device runs them with --kernels reference; the tests, `scratchnet check` and the gradient checks compare every other version with them.
public static partial class Reference
{
    /// <summary>Output (oh, ow) of one plane (x and y/argmax offsets of the plane given): the window clipped to
    /// the image, scanned row-major; padding is −∞ and can never be the max.</summary>
    public static void MaxPoolOne(float[] X, float[] Y, int[] A, in PoolGeometry g, int inBase, int outBase, int oh, int ow)
    {
        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
        int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
        int wStart = Math.Max(w0, 0), wEnd = Math.Min(w0 + g.KW, g.W);
        float best = float.NegativeInfinity;
        int bestIndex = hStart * g.W + wStart;
        for (int ih = hStart; ih < hEnd; ih++)
        for (int iw = wStart; iw < wEnd; iw++)
        {
            float v = X[inBase + ih * g.W + iw];
            if (v > best || float.IsNaN(v)) { best = v; bestIndex = ih * g.W + iw; }  // strict >: first max wins
        }
        Y[outBase + oh * g.OW + ow] = best;
        A[outBase + oh * g.OW + ow] = bestIndex;
    }

    /// <summary>Max pooling of every plane, in parallel over planes (Pool.cs).</summary>
    public static void MaxPool2dForward(in PoolGeometry geometry, float[] X, float[] Y, int[] A)
    {
        var g = geometry; // lambdas cannot capture an `in` parameter
        CpuBackend.For(g.N * g.C, plane =>
        {
            int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
            for (int oh = 0; oh < g.OH; oh++)
            for (int ow = 0; ow < g.OW; ow++)
                MaxPoolOne(X, Y, A, g, inBase, outBase, oh, ow);
        }, costPerItem: (long)g.OH * g.OW * g.KH * g.KW);
    }

    // Scatter: each output sends its gradient to the input that won. Planes are disjoint, so parallel
    // planes never write the same dx element; within a plane outputs are visited in increasing order.
    /// <summary>dx[plane·H·W + argmax[o]] += dy[o] (ACCUMULATES), in parallel over planes.</summary>
    public static void MaxPool2dBackward(in PoolGeometry geometry, float[] DY, int[] A, float[] DX)
    {
        var g = geometry;
        CpuBackend.For(g.N * g.C, plane =>
        {
            int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
            for (int o = outBase; o < outBase + g.OH * g.OW; o++)
                DX[inBase + A[o]] += DY[o];
        }, costPerItem: (long)g.OH * g.OW);
    }

    /// <summary>Average-pooling output (oh, ow) of one plane: the window clipped to the image, summed row-major in float, divided
    /// once by its divisor (Pool.cs).</summary>
    public static float AvgPoolOne(float[] X, in PoolGeometry g, int inBase, int oh, int ow, bool countIncludePad)
    {
        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
        int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
        int wStart = Math.Max(w0, 0), wEnd = Math.Min(w0 + g.KW, g.W);
        float sum = 0f;
        for (int ih = hStart; ih < hEnd; ih++)
        for (int iw = wStart; iw < wEnd; iw++)
            sum += X[inBase + ih * g.W + iw];
        return sum / PoolGeometry.AvgDivisor(g, oh, ow, countIncludePad);
    }

    /// <summary>Average pooling of every plane (Pool.cs: the divisors), in parallel over planes.</summary>
    public static void AvgPool2dForward(in PoolGeometry geometry, bool countIncludePad, float[] X, float[] Y)
    {
        var g = geometry;
        CpuBackend.For(g.N * g.C, plane =>
        {
            int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
            for (int oh = 0; oh < g.OH; oh++)
            for (int ow = 0; ow < g.OW; ow++)
                Y[outBase + oh * g.OW + ow] = AvgPoolOne(X, g, inBase, oh, ow, countIncludePad);
        }, costPerItem: (long)g.OH * g.OW * g.KH * g.KW);
    }

    /// <summary>The scatter of one average-pooling output: dy[o] / divisor(o) added to each input of its window.</summary>
    public static void AvgPoolBackOne(float[] DX, in PoolGeometry g, int inBase, int oh, int ow, float dy, bool countIncludePad)
    {
        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
        int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
        int wStart = Math.Max(w0, 0), wEnd = Math.Min(w0 + g.KW, g.W);
        float share = dy / PoolGeometry.AvgDivisor(g, oh, ow, countIncludePad);
        for (int ih = hStart; ih < hEnd; ih++)
        for (int iw = wStart; iw < wEnd; iw++)
            DX[inBase + ih * g.W + iw] += share;
    }

    // Scatter in increasing output order within a plane (Pool.cs, ORDER); planes are disjoint, so they run in parallel.
    /// <summary>Each output's dy/divisor added to its window's inputs, outputs in increasing order (ACCUMULATES).</summary>
    public static void AvgPool2dBackward(in PoolGeometry geometry, bool countIncludePad, float[] DY, float[] DX)
    {
        var g = geometry;
        CpuBackend.For(g.N * g.C, plane =>
        {
            int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
            for (int oh = 0; oh < g.OH; oh++)
            for (int ow = 0; ow < g.OW; ow++)
                AvgPoolBackOne(DX, g, inBase, oh, ow, DY[outBase + oh * g.OW + ow], countIncludePad);
        }, costPerItem: (long)g.OH * g.OW * g.KH * g.KW);
    }

    /// <summary>Adaptive average pooling of every plane (Pool.cs: the windows), in parallel over planes.</summary>
    public static void AdaptiveAvgPool2dForward(in AdaptivePoolGeometry geometry, float[] X, float[] Y)
    {
        var g = geometry;
        CpuBackend.For(g.N * g.C, plane =>
        {
            int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
            for (int oh = 0; oh < g.OH; oh++)
            {
                int h0 = AdaptivePoolGeometry.Start(oh, g.OH, g.H), h1 = AdaptivePoolGeometry.End(oh, g.OH, g.H);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int w0 = AdaptivePoolGeometry.Start(ow, g.OW, g.W), w1 = AdaptivePoolGeometry.End(ow, g.OW, g.W);
                    float sum = 0f;
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        sum += X[inBase + ih * g.W + iw];
                    Y[outBase + oh * g.OW + ow] = sum / ((h1 - h0) * (w1 - w0));
                }
            }
        }, costPerItem: (long)g.H * g.W + g.OH * g.OW);
    }

    /// <summary>Each output's dy/|window| added to its window's inputs, outputs in increasing order (ACCUMULATES).</summary>
    public static void AdaptiveAvgPool2dBackward(in AdaptivePoolGeometry geometry, float[] DY, float[] DX)
    {
        var g = geometry;
        CpuBackend.For(g.N * g.C, plane =>
        {
            int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
            for (int oh = 0; oh < g.OH; oh++)
            {
                int h0 = AdaptivePoolGeometry.Start(oh, g.OH, g.H), h1 = AdaptivePoolGeometry.End(oh, g.OH, g.H);
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int w0 = AdaptivePoolGeometry.Start(ow, g.OW, g.W), w1 = AdaptivePoolGeometry.End(ow, g.OW, g.W);
                    float share = DY[outBase + oh * g.OW + ow] / ((h1 - h0) * (w1 - w0));
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        DX[inBase + ih * g.W + iw] += share;
                }
            }
        }, costPerItem: (long)g.H * g.W + g.OH * g.OW);
    }
}
