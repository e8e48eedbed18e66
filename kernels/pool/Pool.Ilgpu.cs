using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Max pooling as ILGPU kernels (see Pool.cs for the math and the argmax convention).
//
// Forward: one thread per OUTPUT element o (grid-stride loop over N·C·OH·OW). The flat index decodes as
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

    public void MaxPool2dForward(in PoolGeometry g, Storage x, Storage y, Storage argmax)
    {
        (_maxPoolForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>(MaxPool2dForwardKernel))(
            Grid1D(g.OutputSize), F(x), F(y), I(argmax), g);
    }

    public void MaxPool2dBackward(in PoolGeometry g, Storage dy, Storage argmax, Storage dx)
    {
        (_maxPoolBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>(MaxPool2dBackwardKernel))(
            Grid1D(g.InputSize), F(dy), I(argmax), F(dx), g);
    }
}
