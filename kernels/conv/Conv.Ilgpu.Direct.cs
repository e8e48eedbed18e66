using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Direct convolution: the definition (Conv.Reference.cs) as ILGPU kernels, one thread per OUTPUT element of each
// pass. The first rung of the GPU conv ladder:
//   direct (this file) → im2col + GEMM (Conv2dDriver.cs, Conv.Ilgpu.cs) → implicit GEMM (Conv.Ilgpu.Implicit.cs).
//
//   forward           thread k ↦ y[n, o, oh, ow]   = bias[o] + Σ_{kh, kw, c} w[o, c, kh, kw] · x[n, c, ih, iw]
//   backward data     thread k ↦ dx[n, c, ih, iw] += Σ_{kh, kw, o} w[o, c, kh, kw] · dy[n, o, oh, ow]
//   backward weights  thread k ↦ dw[o, c, kh, kw] += Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, c, ih, iw]
//   with ih = oh·SH − PH + kh, iw = ow·SW − PW + kw throughout.
//
// Index mapping: k runs over the flat index of the pass's output in its stored layout (NCHW, or OCKK for dw),
// in a grid-stride loop, and is split back into its four coordinates by divisions. Adjacent threads take adjacent
// ow (forward), iw (backward data) or kw (backward weights), so their writes are coalesced. At one step of their
// sums, adjacent forward threads read x SW apart and, away from the image edges, the same weight (one broadcast
// load); backward-data threads read dy and w at taps that depend on iw mod SW; backward-weights threads read
// adjacent x and the same dy.
//
// Each thread computes its element's whole sum, so no two threads write the same element: no atomics, no
// barriers, no shared memory, and every sum runs in one fixed order (the same bits on every run). The sums run
// over the taps that land inside the image only, so the zero padding costs no test per term:
//   forward           taps kh ∈ [max(0, −ih0), min(KH, H − ih0)) with ih0 = oh·SH − PH (likewise kw); then the
//                     channels c innermost: two loads H·W and KH·KW floats apart and one multiply-add per step;
//   backward data     the taps that reached pixel ih satisfy kh ≡ ih + PH (mod SH), oh = (ih + PH − kh)/SH in
//                     [0, OH): start at kh = (ih + PH) mod SH and step by SH, as the Col2Im gather (Conv.Ilgpu.cs)
//                     does; likewise kw; then the output channels o innermost (loads OH·OW and C·KH·KW apart);
//   backward weights  the outputs whose tap kh lands inside: 0 ≤ oh·SH − PH + kh < H, i.e. oh from
//                     ⌈(PH − kh)/SH⌉ to ⌈(H + PH − kh)/SH⌉ (exclusive), clipped to [0, OH); likewise ow.
// The reference sums in its own order (and in double); the tests allow for the float round-off.
//
// Cost model. A forward output needs C·KH·KW multiply-adds and reads as many inputs and as many weights from
// global memory: about one FMA per two loads, where the GPU can do tens of FMAs in the time of one load. There is
// no reuse through shared memory or registers: an input pixel is read by up to O·⌈KH/SH⌉·⌈KW/SW⌉ threads and a
// weight by all N·OH·OW threads of its output channel, and only what the L1/L2 caches happen to keep is not
// fetched again. Backward data is the same with the roles of C and O swapped. Backward weights has only
// O·C·KH·KW outputs, each a sum of N·OH·OW terms: few threads with long serial loops, most of a large GPU idle.
//
// Why it is still the right first rung: it is the definition with threads in place of the outer loops, so it is
// correct by construction for every geometry (any stride, padding, rectangular kernel, kernel larger than the
// image); it needs no col buffer and no workspace; and it is deterministic without atomics. It is the GPU
// baseline the faster rungs must agree with and beat.
//
// What the next rung adds: im2col + GEMM (Conv2dDriver) lays the patches out as a matrix, so each pass becomes
// one product run by the tiled GEMM (Gemm.Ilgpu*.cs). A 128×128 tile of C loads 256 floats per step of K into
// shared memory and does 128·128 multiply-adds with them: 64 FMAs per float loaded instead of ½, and the weight
// gradient's long sum is split over K across the device. The price is the col buffer and its copy; the implicit
// GEMM (Conv.Ilgpu.Implicit.cs) then gathers the patches inside the GEMM and drops that too.
public sealed partial class IlgpuBackend
{
    static void Conv2dForwardDirectKernel(ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y,
        ConvGeometry g, int hasBias, int total)
    {
        int hw = g.H * g.W, kk = g.KH * g.KW;
        for (int k = Grid.GlobalIndex.X; k < total; k += Grid.DimX * Group.DimX)
        {
            int ow = k % g.OW, t = k / g.OW;
            int oh = t % g.OH; t /= g.OH;
            int o = t % g.O, n = t / g.O;
            int ih0 = oh * g.StrideH - g.PadH, iw0 = ow * g.StrideW - g.PadW;      // input pixel under tap (0, 0)
            int khEnd = Math.Min(g.KH, g.H - ih0), kwBegin = Math.Max(0, -iw0), kwEnd = Math.Min(g.KW, g.W - iw0);
            int xImage = n * g.C * hw, wFilter = o * g.C * kk;
            float s = hasBias != 0 ? bias[o] : 0f;
            for (int kh = Math.Max(0, -ih0); kh < khEnd; kh++)
                for (int kw = kwBegin; kw < kwEnd; kw++)
                {
                    // x[n, c, ih0 + kh, iw0 + kw] and w[o, c, kh, kw] for c = 0, 1, …: one plane (H·W) / one kernel (KH·KW) apart
                    int xi = xImage + (ih0 + kh) * g.W + iw0 + kw, wi = wFilter + kh * g.KW + kw;
                    for (int c = 0; c < g.C; c++, xi += hw, wi += kk)
                        s += w[wi] * x[xi];
                }
            y[k] = s;
        }
    }

    static void Conv2dBackwardDataDirectKernel(ArrayView<float> w, ArrayView<float> dy, ArrayView<float> dx, ConvGeometry g, int total)
    {
        int ohw = g.OH * g.OW, kk = g.KH * g.KW, ckk = g.C * kk;
        for (int k = Grid.GlobalIndex.X; k < total; k += Grid.DimX * Group.DimX)
        {
            int iw = k % g.W, t = k / g.W;
            int ih = t % g.H; t /= g.H;
            int c = t % g.C, n = t / g.C;
            int dyImage = n * g.O * ohw;
            float s = 0f;
            for (int kh = (ih + g.PadH) % g.StrideH; kh < g.KH; kh += g.StrideH)
            {
                int oh = (ih + g.PadH - kh) / g.StrideH;                           // exact: kh ≡ ih + PH (mod SH)
                if (oh < 0) break;                                                  // larger kh only lowers oh further
                if (oh >= g.OH) continue;
                for (int kw = (iw + g.PadW) % g.StrideW; kw < g.KW; kw += g.StrideW)
                {
                    int ow = (iw + g.PadW - kw) / g.StrideW;
                    if (ow < 0) break;
                    if (ow >= g.OW) continue;
                    // dy[n, o, oh, ow] and w[o, c, kh, kw] for o = 0, 1, …: one output plane (OH·OW) / one filter (C·KH·KW) apart
                    int dyi = dyImage + oh * g.OW + ow, wi = c * kk + kh * g.KW + kw;
                    for (int o = 0; o < g.O; o++, dyi += ohw, wi += ckk)
                        s += w[wi] * dy[dyi];
                }
            }
            dx[k] += s;
        }
    }

    static void Conv2dBackwardWeightsDirectKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, ConvGeometry g, int total)
    {
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        for (int k = Grid.GlobalIndex.X; k < total; k += Grid.DimX * Group.DimX)
        {
            int kw = k % g.KW, t = k / g.KW;
            int kh = t % g.KH; t /= g.KH;
            int c = t % g.C, o = t / g.C;
            // Ceiling divisions written (a + S − 1)/S: C# division truncates toward zero, so a numerator below 0 gives
            // at most 0, which the clip to [0, OH) (or an empty range) absorbs.
            int ohBegin = Math.Max(0, (g.PadH - kh + g.StrideH - 1) / g.StrideH);
            int ohEnd = Math.Min(g.OH, (g.H + g.PadH - kh + g.StrideH - 1) / g.StrideH);
            int owBegin = Math.Max(0, (g.PadW - kw + g.StrideW - 1) / g.StrideW);
            int owEnd = Math.Min(g.OW, (g.W + g.PadW - kw + g.StrideW - 1) / g.StrideW);
            float s = 0f;
            for (int n = 0; n < g.N; n++)
            {
                int dyPlane = (n * g.O + o) * ohw, xPlane = (n * g.C + c) * hw;
                for (int oh = ohBegin; oh < ohEnd; oh++)
                {
                    // dy[n, o, oh, ow] and x[n, c, oh·SH − PH + kh, ow·SW − PW + kw] for ow = owBegin, …: 1 / SW apart
                    int dyi = dyPlane + oh * g.OW + owBegin;
                    int xi = xPlane + (oh * g.StrideH - g.PadH + kh) * g.W + owBegin * g.StrideW - g.PadW + kw;
                    for (int ow = owBegin; ow < owEnd; ow++, dyi++, xi += g.StrideW)
                        s += dy[dyi] * x[xi];
                }
            }
            dw[k] += s;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int, int>? _convFwdDirect;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int>? _convDataDirect, _convWeightsDirect;

    /// <summary>y = conv2d(x, w) (+ bias), one thread per output element (y overwritten); x [N, C, H, W], w [O, C, KH, KW], bias [O] or null.</summary>
    public void Conv2dForwardDirect(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        g.ValidateBuffers("conv2d forward", "storage", x.Length, w.Length, y.Length);
        if (bias is not null) g.ValidateBias("conv2d forward", "storage", bias.Length);
        int total = g.N * g.OutputImage;
        var kernel = _convFwdDirect ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int, int>(
            Conv2dForwardDirectKernel);
        // Without a bias the kernel never reads its bias view (hasBias = 0); w stands in for it.
        kernel(Grid1D(total), F(x), F(w), F(bias ?? w), F(y), g, bias is null ? 0 : 1, total);
    }

    /// <summary>dx += ∂L/∂x given w [O, C, KH, KW] and dy [N, O, OH, OW], one thread per element of dx (a gather: no atomics).</summary>
    public void Conv2dBackwardDataDirect(in ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        g.ValidateBuffers("conv2d backward data", "storage", dx.Length, w.Length, dy.Length);
        int total = g.N * g.InputImage;
        var kernel = _convDataDirect ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int>(
            Conv2dBackwardDataDirectKernel);
        kernel(Grid1D(total), F(w), F(dy), F(dx), g, total);
    }

    /// <summary>dw += ∂L/∂w given x [N, C, H, W] and dy [N, O, OH, OW], one thread per element of dw summing over the batch and the output pixels.</summary>
    public void Conv2dBackwardWeightsDirect(in ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        g.ValidateBuffers("conv2d backward weights", "storage", x.Length, dw.Length, dy.Length);
        int total = g.O * g.ColRows;
        var kernel = _convWeightsDirect ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int>(
            Conv2dBackwardWeightsDirectKernel);
        kernel(Grid1D(total), F(x), F(dy), F(dw), g, total);
    }
}
