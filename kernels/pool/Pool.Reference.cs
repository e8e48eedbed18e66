namespace ScratchNet.Kernels;

// Max pooling on the cpu device. Reference holds the plain loops: the N·C image planes are independent, so
// both run in parallel over planes; within a plane the code is the textbook definition (see Pool.cs for the
// math and the argmax convention). The cpu device runs them with --kernels reference; the tests, `scratchnet check` and the gradient checks compare every other version with them.
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
}
