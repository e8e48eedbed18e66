using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Pooling as ILGPU kernels (see Pool.cs for the math, the argmax convention and the divisors).
//
// Forward (max, average, adaptive average): one thread per OUTPUT element o (grid-stride loop over N·C·OH·OW). The flat index decodes as
//     o = ((plane · OH) + oh) · OW + ow,   plane = n·C + c,
// so consecutive threads compute neighbouring outputs of the same row and read overlapping windows.
//
// Backward: written as a GATHER, one thread per INPUT element i = (plane · H + ih) · W + iw. A scatter
// (dx[argmax[o]] += dy[o] per output thread) would need atomic adds wherever windows overlap
// (stride < kernel), and float atomics add in whatever order the hardware happens to run them, so the
// result would change from run to run. Instead each input visits the few output windows that can contain
// it and sums the dy whose argmax points at it:
//     window oh covers rows [oh·StrideH − PadH, oh·StrideH − PadH + KH − 1], so it contains row ih when
//     (ih + PadH − KH) / StrideH < oh ≤ (ih + PadH) / StrideH      (then clip to [0, OH − 1]);
// the same for columns. Every dx element has exactly one writer: no atomics, no races, and since the sum
// starts from the old dx and adds outputs in increasing order it is bit-identical to the CPU scatter.
// The average backward gathers the same way, adding dy[o] / divisor(o) for every window that contains the input (no argmax
// test); the adaptive one finds its windows from the inverse of Start/End (AdaptiveRange) and checks each.
public sealed partial class IlgpuBackend
{
    static void MaxPool2dForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, PoolGeometry g)
    {
        int total = g.N * g.C * g.OH * g.OW;
        for (int o = Grid.GlobalIndex.X; o < total; o += Grid.DimX * Group.DimX)
        {
            int ow = o % g.OW;
            int rest = o / g.OW;
            int oh = rest % g.OH;
            int plane = rest / g.OH;

            int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
            int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
            int wStart = Math.Max(w0, 0), wEnd = Math.Min(w0 + g.KW, g.W);
            int inBase = plane * g.H * g.W;
            float best = float.NegativeInfinity;
            int bestIndex = hStart * g.W + wStart;
            for (int ih = hStart; ih < hEnd; ih++)
            {
                for (int iw = wStart; iw < wEnd; iw++)
                {
                    float v = x[inBase + ih * g.W + iw];
                    if (v > best || float.IsNaN(v)) { best = v; bestIndex = ih * g.W + iw; }
                }
            }
            y[o] = best;
            argmax[o] = bestIndex;
        }
    }

    static void MaxPool2dBackwardKernel(ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, PoolGeometry g)
    {
        int total = g.N * g.C * g.H * g.W;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int iw = i % g.W;
            int rest = i / g.W;
            int ih = rest % g.H;
            int plane = rest / g.H;
            int local = ih * g.W + iw;  // the value argmax holds when this input won

            // Output rows/columns whose window contains (ih, iw); empty ranges when stride > kernel skips it.
            int ohStart = ih + g.PadH < g.KH ? 0 : (ih + g.PadH - g.KH) / g.StrideH + 1;
            int ohEnd = Math.Min((ih + g.PadH) / g.StrideH, g.OH - 1);
            int owStart = iw + g.PadW < g.KW ? 0 : (iw + g.PadW - g.KW) / g.StrideW + 1;
            int owEnd = Math.Min((iw + g.PadW) / g.StrideW, g.OW - 1);

            int outBase = plane * g.OH * g.OW;
            float sum = dx[i];
            for (int oh = ohStart; oh <= ohEnd; oh++)
            {
                for (int ow = owStart; ow <= owEnd; ow++)
                {
                    int o = outBase + oh * g.OW + ow;
                    if (argmax[o] == local) sum += dy[o];
                }
            }
            dx[i] = sum;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>? _maxPoolForward;
    Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>? _maxPoolBackward;

    /// <inheritdoc/>
    public void MaxPool2dForward(in PoolGeometry g, Storage x, Storage y, Storage argmax)
    {
        (_maxPoolForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>(MaxPool2dForwardKernel))(
            Grid1D(g.OutputSize), F(x), F(y), I(argmax), g);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(in PoolGeometry g, Storage dy, Storage argmax, Storage dx)
    {
        (_maxPoolBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>(MaxPool2dBackwardKernel))(
            Grid1D(g.InputSize), F(dy), I(argmax), F(dx), g);
    }

    static void AvgPool2dForwardKernel(ArrayView<float> x, ArrayView<float> y, PoolGeometry g, int countIncludePad)
    {
        int total = g.N * g.C * g.OH * g.OW;
        for (int o = Grid.GlobalIndex.X; o < total; o += Grid.DimX * Group.DimX)
        {
            int ow = o % g.OW;
            int rest = o / g.OW;
            int oh = rest % g.OH;
            int plane = rest / g.OH;
            int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
            int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
            int wStart = Math.Max(w0, 0), wEnd = Math.Min(w0 + g.KW, g.W);
            int inBase = plane * g.H * g.W;
            float sum = 0f;
            for (int ih = hStart; ih < hEnd; ih++)
                for (int iw = wStart; iw < wEnd; iw++)
                    sum += x[inBase + ih * g.W + iw];
            y[o] = sum / PoolGeometry.AvgDivisor(g, oh, ow, countIncludePad != 0);
        }
    }

    static void AvgPool2dBackwardKernel(ArrayView<float> dy, ArrayView<float> dx, PoolGeometry g, int countIncludePad)
    {
        int total = g.N * g.C * g.H * g.W;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int iw = i % g.W;
            int rest = i / g.W;
            int ih = rest % g.H;
            int plane = rest / g.H;
            int ohStart = ih + g.PadH < g.KH ? 0 : (ih + g.PadH - g.KH) / g.StrideH + 1;
            int ohEnd = Math.Min((ih + g.PadH) / g.StrideH, g.OH - 1);
            int owStart = iw + g.PadW < g.KW ? 0 : (iw + g.PadW - g.KW) / g.StrideW + 1;
            int owEnd = Math.Min((iw + g.PadW) / g.StrideW, g.OW - 1);
            int outBase = plane * g.OH * g.OW;
            float sum = dx[i];
            for (int oh = ohStart; oh <= ohEnd; oh++)
                for (int ow = owStart; ow <= owEnd; ow++)
                    sum += dy[outBase + oh * g.OW + ow] / PoolGeometry.AvgDivisor(g, oh, ow, countIncludePad != 0);
            dx[i] = sum;
        }
    }

    static void AdaptiveAvgPool2dForwardKernel(ArrayView<float> x, ArrayView<float> y, AdaptivePoolGeometry g)
    {
        int total = g.N * g.C * g.OH * g.OW;
        for (int o = Grid.GlobalIndex.X; o < total; o += Grid.DimX * Group.DimX)
        {
            int ow = o % g.OW;
            int rest = o / g.OW;
            int oh = rest % g.OH;
            int plane = rest / g.OH;
            int h0 = AdaptivePoolGeometry.Start(oh, g.OH, g.H), h1 = AdaptivePoolGeometry.End(oh, g.OH, g.H);
            int w0 = AdaptivePoolGeometry.Start(ow, g.OW, g.W), w1 = AdaptivePoolGeometry.End(ow, g.OW, g.W);
            int inBase = plane * g.H * g.W;
            float sum = 0f;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    sum += x[inBase + ih * g.W + iw];
            y[o] = sum / ((h1 - h0) * (w1 - w0));
        }
    }

    // The outputs whose adaptive window can contain input index i: Start(o) ≤ i ⟺ o ≤ ((i + 1)·out − 1) / size, and
    // End(o) > i ⟺ o ≥ i·out / size (the caller still checks each o).
    static int AdaptiveFirst(int i, int outSize, int size) => i * outSize / size;
    static int AdaptiveLast(int i, int outSize, int size) => Math.Min(((i + 1) * outSize - 1) / size, outSize - 1);

    static void AdaptiveAvgPool2dBackwardKernel(ArrayView<float> dy, ArrayView<float> dx, AdaptivePoolGeometry g)
    {
        int total = g.N * g.C * g.H * g.W;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int iw = i % g.W;
            int rest = i / g.W;
            int ih = rest % g.H;
            int plane = rest / g.H;
            int outBase = plane * g.OH * g.OW;
            int owFirst = AdaptiveFirst(iw, g.OW, g.W), owLast = AdaptiveLast(iw, g.OW, g.W);
            float sum = dx[i];
            for (int oh = AdaptiveFirst(ih, g.OH, g.H); oh <= AdaptiveLast(ih, g.OH, g.H); oh++)
            {
                int h0 = AdaptivePoolGeometry.Start(oh, g.OH, g.H), h1 = AdaptivePoolGeometry.End(oh, g.OH, g.H);
                if (ih < h0 || ih >= h1) continue;
                for (int ow = owFirst; ow <= owLast; ow++)
                {
                    int w0 = AdaptivePoolGeometry.Start(ow, g.OW, g.W), w1 = AdaptivePoolGeometry.End(ow, g.OW, g.W);
                    if (iw < w0 || iw >= w1) continue;
                    sum += dy[outBase + oh * g.OW + ow] / ((h1 - h0) * (w1 - w0));
                }
            }
            dx[i] = sum;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, PoolGeometry, int>? _avgPoolForward;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, PoolGeometry, int>? _avgPoolBackward;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, AdaptivePoolGeometry>? _adaptivePoolForward;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, AdaptivePoolGeometry>? _adaptivePoolBackward;

    /// <inheritdoc/>
    public void AvgPool2dForward(in PoolGeometry g, bool countIncludePad, Storage x, Storage y)
    {
        (_avgPoolForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, PoolGeometry, int>(AvgPool2dForwardKernel))(
            Grid1D(g.OutputSize), F(x), F(y), g, countIncludePad ? 1 : 0);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(in PoolGeometry g, bool countIncludePad, Storage dy, Storage dx)
    {
        (_avgPoolBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, PoolGeometry, int>(AvgPool2dBackwardKernel))(
            Grid1D(g.InputSize), F(dy), F(dx), g, countIncludePad ? 1 : 0);
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dForward(in AdaptivePoolGeometry g, Storage x, Storage y)
    {
        (_adaptivePoolForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, AdaptivePoolGeometry>(AdaptiveAvgPool2dForwardKernel))(
            Grid1D(g.OutputSize), F(x), F(y), g);
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dBackward(in AdaptivePoolGeometry g, Storage dy, Storage dx)
    {
        (_adaptivePoolBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, AdaptivePoolGeometry>(AdaptiveAvgPool2dBackwardKernel))(
            Grid1D(g.InputSize), F(dy), F(dx), g);
    }
}
