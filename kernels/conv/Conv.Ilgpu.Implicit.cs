using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Implicit-GEMM convolution: the v5 GEMM kernel (Gemm.Ilgpu.Fast.cs) with operands that gather the im2col
// matrix from the images while loading each K slice, instead of materialising it (ConvIm2Col, Conv.cs).
//
//   forward          C = y       [O, N·OHW]  = W [O, CKK]     · col [CKK, N·OHW]       (col gathered from x)
//   backward data    C = dx      [C, N·HW]  += Wt [C, O·KK]   · dyp [O·KK, N·HW]       (dyp gathered from dy)
//   backward weights C = dW      [O, CKK]   += dy [O, N·OHW]  · colᵀ [N·OHW, CKK]      (colᵀ gathered from x)
//
// Column index j of the image-shaped matrices runs over (n, pixel): j = n·P + q, where P is OH·OW (or H·W)
// and q the pixel's row-major index; row index ch is the channel. So y[n, o, q] is C(o, n·P + q) and the sink
// (ImageMatrix) writes C straight into NCHW: no swap kernel, no col buffer, and the whole batch is one launch.
//
// What the gathers compute (K index k, the thread's fixed index j or r, see ISliceSource for which is which):
//   col(r, j)  r = (c, kh, kw), j = (n, oh, ow):  x[n, c, oh·SH − PH + kh, ow·SW − PW + kw], 0 in the padding
//   dyp(r, j)  r = (o, kh, kw), j = (n, ih, iw):  dy[n, o, oh, ow] with oh·SH − PH + kh = ih (likewise ow),
//              i.e. oh = (ih + PH − kh)/SH when that divides exactly and lands in [0, OH); else 0.
//              Σ_r Wt(c, r)·dyp(r, j) is then exactly col2im(Wᵀ·dY): every output pixel that read x[n, c, ih, iw].
//   Wt(c, (o, kh, kw)) = W[o, c, kh, kw]: the weights with their first two axes swapped (SwapAxes01, tiny).
// Every source loads along k (a thread's four values share its fixed j or r): the index math of the fixed
// index is done once per thread (ForThread), and per slice the thread splits one k into its parts with two
// divisions and then steps through its four k by increments (DyPatchSource also divides by a stride > 1,
// per element). Neighbouring threads (t, t+2) hold neighbouring
// j, so a warp's loads touch runs of adjacent pixels; each pixel is read KH·KW times, mostly from L1/L2.
//
// Compared with im2col (ConvIm2Col) on the same GEMM: no col buffer (up to 64 MiB) and no swap buffer
// (a chunk's output), no im2col/swap traffic, and one grid over the whole batch instead of one per
// chunk (AlexNet-CIFAR conv2 at batch 256 is 7 chunks of ≤ 40 images, each too small a grid to fill an H100).
// The price is the gather's integer work and the bounds checks per loaded element. IlgpuBackend.ConvAlgorithm
// picks per layer: Auto times both once per shape on a GPU (like cudnn.benchmark) and keeps the faster.
public sealed partial class IlgpuBackend
{
    /// <summary>A position (c, kh, kw) in a KH × KW kernel walked in row-major order (c is the input or output channel).</summary>
    public struct Tap
    {
        /// <summary>Channel: the input channel (forward, backward weights) or the output channel (backward data).</summary>
        public int C;
        /// <summary>Kernel row, 0 ≤ Kh &lt; KH.</summary>
        public int Kh;
        /// <summary>Kernel column, 0 ≤ Kw &lt; KW.</summary>
        public int Kw;

        /// <summary>The tap of flat index k = (c·KH + kh)·KW + kw, given <paramref name="kk"/> = KH·KW and
        /// <paramref name="kw"/> = KW: two divisions.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Tap Of(int k, int kk, int kw)
        {
            int c = k / kk, r = k - c * kk, kh = r / kw;
            return new Tap { C = c, Kh = kh, Kw = r - kh * kw };
        }

        /// <summary>The tap of flat index k + 1 in a <paramref name="kh"/> × <paramref name="kw"/> kernel (KH, KW): Kw + 1,
        /// carrying into Kh and then C, without a division.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Tap Next(int kh, int kw)
        {
            var n = this;
            if (++n.Kw == kw) { n.Kw = 0; if (++n.Kh == kh) { n.Kh = 0; n.C++; } }
            return n;
        }
    }

    /// <summary>A pixel j = (n, h, w) of an image batch, walked in row-major order.</summary>
    public struct Pixel
    {
        /// <summary>Image index in the batch.</summary>
        public int N;
        /// <summary>Row, 0 ≤ H &lt; height.</summary>
        public int H;
        /// <summary>Column, 0 ≤ W &lt; width.</summary>
        public int W;

        /// <summary>The pixel of flat index j = (n·height + h)·width + w: two divisions.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Pixel Of(int j, int height, int width)
        {
            int hw = height * width, n = j / hw, q = j - n * hw, h = q / width;
            return new Pixel { N = n, H = h, W = q - h * width };
        }

        /// <summary>The pixel of flat index j + 1: W + 1, carrying into H and then N, without a division.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Pixel Next(int height, int width)
        {
            var p = this;
            if (++p.W == width) { p.W = 0; if (++p.H == height) { p.H = 0; p.N++; } }
            return p;
        }
    }

    /// <summary>Forward's B = col [CKK, N·OHW]: thread's fixed column j = (n, oh, ow), four consecutive rows r = (c, kh, kw).</summary>
    public struct Im2ColSource : ISliceSource<Im2ColSource>
    {
        /// <summary>The convolution's sizes.</summary>
        public ConvGeometry G;
        /// <summary>Per thread: n·C·H·W, where the image of the thread's column j = (n, oh, ow) starts in x.</summary>
        public int Base;
        /// <summary>Per thread: oh·SH − PH, the input row of kernel row 0 (negative in the top padding).</summary>
        public int Ih0;
        /// <summary>Per thread: ow·SW − PW, the input column of kernel column 0 (negative in the left padding).</summary>
        public int Iw0;
        /// <summary>Per thread: 1 when j &lt; N·OH·OW, else 0 and every load reads 0.</summary>
        public int Valid;

        /// <summary>The source over x for geometry <paramref name="g"/>; <see cref="ForThread"/> fills the per-thread fields.</summary>
        public Im2ColSource(in ConvGeometry g) { G = g; Base = Ih0 = Iw0 = Valid = 0; }

        /// <inheritdoc />
        public readonly bool AlongI => false;

        /// <inheritdoc />
        public readonly Im2ColSource ForThread(int item, int i0, int t)
        {
            var s = this;
            int j = i0 + (t >> 1);
            var px = Pixel.Of(j, G.OH, G.OW);
            s.Valid = px.N < G.N ? 1 : 0;
            s.Base = px.N * G.C * G.H * G.W;
            s.Ih0 = px.H * G.StrideH - G.PadH;
            s.Iw0 = px.W * G.StrideW - G.PadW;
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly float At(ArrayView<float> x, bool inK, Tap r)
        {
            int ih = Ih0 + r.Kh, iw = Iw0 + r.Kw;
            return Valid != 0 && inK && ih >= 0 && ih < G.H && iw >= 0 && iw < G.W ? x[Base + (r.C * G.H + ih) * G.W + iw] : 0f;
        }

        /// <inheritdoc />
        public readonly Float4 Load(ArrayView<float> x, int k0, int kEnd, int t)
        {
            int k = k0 + 4 * (t & 1);
            var r0 = Tap.Of(k, G.KH * G.KW, G.KW);
            var r1 = r0.Next(G.KH, G.KW); var r2 = r1.Next(G.KH, G.KW); var r3 = r2.Next(G.KH, G.KW);
            return new Float4(At(x, k < kEnd, r0), At(x, k + 1 < kEnd, r1), At(x, k + 2 < kEnd, r2), At(x, k + 3 < kEnd, r3));
        }
    }

    /// <summary>Backward weights' B = colᵀ [N·OHW, CKK]: thread's fixed column r = (c, kh, kw), four consecutive rows j = (n, oh, ow).</summary>
    public struct Im2ColTSource : ISliceSource<Im2ColTSource>
    {
        /// <summary>The convolution's sizes.</summary>
        public ConvGeometry G;
        /// <summary>Per thread: c·H·W, the offset of the thread's channel plane within an image, for its column r = (c, kh, kw).</summary>
        public int ChOff;
        /// <summary>Per thread: kh − PH, so that output row oh reads input row oh·SH + Kh0.</summary>
        public int Kh0;
        /// <summary>Per thread: kw − PW, so that output column ow reads input column ow·SW + Kw0.</summary>
        public int Kw0;
        /// <summary>Per thread: 1 when r &lt; C·KH·KW, else 0 and every load reads 0.</summary>
        public int Valid;

        /// <summary>The source over x for geometry <paramref name="g"/>; <see cref="ForThread"/> fills the per-thread fields.</summary>
        public Im2ColTSource(in ConvGeometry g) { G = g; ChOff = Kh0 = Kw0 = Valid = 0; }

        /// <inheritdoc />
        public readonly bool AlongI => false;

        /// <inheritdoc />
        public readonly Im2ColTSource ForThread(int item, int i0, int t)
        {
            var s = this;
            var r = Tap.Of(i0 + (t >> 1), G.KH * G.KW, G.KW);
            s.Valid = r.C < G.C ? 1 : 0;
            s.ChOff = r.C * G.H * G.W;
            s.Kh0 = r.Kh - G.PadH;
            s.Kw0 = r.Kw - G.PadW;
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly float At(ArrayView<float> x, bool inK, Pixel o)
        {
            int ih = o.H * G.StrideH + Kh0, iw = o.W * G.StrideW + Kw0;
            return Valid != 0 && inK && ih >= 0 && ih < G.H && iw >= 0 && iw < G.W ? x[o.N * G.C * G.H * G.W + ChOff + ih * G.W + iw] : 0f;
        }

        /// <inheritdoc />
        public readonly Float4 Load(ArrayView<float> x, int k0, int kEnd, int t)
        {
            int j = k0 + 4 * (t & 1);
            var o0 = Pixel.Of(j, G.OH, G.OW);
            var o1 = o0.Next(G.OH, G.OW); var o2 = o1.Next(G.OH, G.OW); var o3 = o2.Next(G.OH, G.OW);
            return new Float4(At(x, j < kEnd, o0), At(x, j + 1 < kEnd, o1), At(x, j + 2 < kEnd, o2), At(x, j + 3 < kEnd, o3));
        }
    }

    /// <summary>Backward data's B = dyp [O·KK, N·HW]: thread's fixed column j = (n, ih, iw), four consecutive rows r = (o, kh, kw).</summary>
    public struct DyPatchSource : ISliceSource<DyPatchSource>
    {
        /// <summary>The convolution's sizes.</summary>
        public ConvGeometry G;
        /// <summary>Per thread: n·O·OH·OW, where the image of the thread's column j = (n, ih, iw) starts in dy.</summary>
        public int Base;
        /// <summary>Per thread: ih + PH; tap kh reached this row from output row oh when oh·SH = Ihp − kh.</summary>
        public int Ihp;
        /// <summary>Per thread: iw + PW; tap kw reached this column from output column ow when ow·SW = Iwp − kw.</summary>
        public int Iwp;
        /// <summary>Per thread: 1 when j &lt; N·H·W, else 0 and every load reads 0.</summary>
        public int Valid;

        /// <summary>The source over dy for geometry <paramref name="g"/>; <see cref="ForThread"/> fills the per-thread fields.</summary>
        public DyPatchSource(in ConvGeometry g) { G = g; Base = Ihp = Iwp = Valid = 0; }

        /// <inheritdoc />
        public readonly bool AlongI => false;

        /// <inheritdoc />
        public readonly DyPatchSource ForThread(int item, int i0, int t)
        {
            var s = this;
            var px = Pixel.Of(i0 + (t >> 1), G.H, G.W);
            s.Valid = px.N < G.N ? 1 : 0;
            s.Base = px.N * G.O * G.OH * G.OW;
            s.Ihp = px.H + G.PadH;
            s.Iwp = px.W + G.PadW;
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly float At(ArrayView<float> dy, bool inK, Tap r)
        {
            int th = Ihp - r.Kh, tw = Iwp - r.Kw;   // = oh·SH, ow·SW when this tap reached pixel (ih, iw)
            int oh = G.StrideH == 1 ? th : th / G.StrideH, ow = G.StrideW == 1 ? tw : tw / G.StrideW;
            bool hit = th >= 0 && tw >= 0 && oh * G.StrideH == th && ow * G.StrideW == tw && oh < G.OH && ow < G.OW;
            return Valid != 0 && inK && hit ? dy[Base + (r.C * G.OH + oh) * G.OW + ow] : 0f;
        }

        /// <inheritdoc />
        public readonly Float4 Load(ArrayView<float> dy, int k0, int kEnd, int t)
        {
            int k = k0 + 4 * (t & 1);
            var r0 = Tap.Of(k, G.KH * G.KW, G.KW);
            var r1 = r0.Next(G.KH, G.KW); var r2 = r1.Next(G.KH, G.KW); var r3 = r2.Next(G.KH, G.KW);
            return new Float4(At(dy, k < kEnd, r0), At(dy, k + 1 < kEnd, r1), At(dy, k + 2 < kEnd, r2), At(dy, k + 3 < kEnd, r3));
        }
    }

    /// <summary>
    /// An image batch [N, Ch, P] seen as the matrix (ch, j = n·P + q) → element (n·Ch + ch)·P + q. As a source
    /// (backward weights' A = dy [O, N·OHW]) a thread has a fixed row ch and reads four consecutive j: one float4
    /// when P is a multiple of 4 (then the four share n and are 16-byte aligned). As a sink it writes C into NCHW.
    /// </summary>
    public struct ImageMatrix : ISliceSource<ImageMatrix>, ITileSink
    {
        /// <summary>Channels per image: the matrix's rows.</summary>
        public int Ch;
        /// <summary>Pixels per channel plane (OH·OW or H·W); the matrix has Count·P columns.</summary>
        public int P;
        /// <summary>Images in the batch.</summary>
        public int Count;
        /// <summary>1 when P % 4 == 0: four columns from a multiple of 4 then lie in one image, 16-byte aligned (one float4 access).</summary>
        public int Vec;
        /// <summary>Per thread, as a source: ch·P, the offset of the thread's row ch within an image.</summary>
        public int RowOff;
        /// <summary>Per thread, as a source: 1 when ch &lt; Ch, else 0 and every load reads 0.</summary>
        public int Valid;

        /// <summary>The batch [<paramref name="images"/>, <paramref name="channels"/>, <paramref name="pixels"/>] as a
        /// channels × images·pixels matrix.</summary>
        public ImageMatrix(int channels, int pixels, int images)
        {
            Ch = channels; P = pixels; Count = images; Vec = pixels % 4 == 0 ? 1 : 0; RowOff = Valid = 0;
        }

        /// <inheritdoc />
        public readonly bool AlongI => false;

        /// <inheritdoc />
        public readonly ImageMatrix ForThread(int item, int i0, int t)
        {
            var s = this;
            int ch = i0 + (t >> 1);
            s.Valid = ch < Ch ? 1 : 0;
            s.RowOff = ch * P;
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly int Index(int j, int rowOff)
        {
            int n = j / P;
            return n * Ch * P + rowOff + (j - n * P);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly float At(ArrayView<float> v, int j, int kEnd) => j < kEnd ? v[Index(j, RowOff)] : 0f;

        /// <inheritdoc />
        public readonly Float4 Load(ArrayView<float> v, int k0, int kEnd, int t)
        {
            if (Valid == 0) return default;
            int j = k0 + 4 * (t & 1);
            // j is a multiple of 4 (k0 and every K split are multiples of FK = 8): with P % 4 == 0 the float4 is aligned.
            if (Vec != 0 && j + 4 <= kEnd) return v.Cast<Float4>()[Index(j, RowOff) >> 2];
            return new Float4(At(v, j, kEnd), At(v, j + 1, kEnd), At(v, j + 2, kEnd), At(v, j + 3, kEnd));
        }

        /// <inheritdoc />
        public readonly void Store4(ArrayView<float> c, in FastGemmParams p, int item, int row, int col, Float4 v)
        {
            if (row >= p.M || col >= p.N) return;
            int rowOff = row * P;
            // col is a multiple of 4 and N = Count·P: with P % 4 == 0 the four columns lie in one image and col + 4 ≤ N.
            if (Vec != 0) { StoreVec4(c, p, Index(col, rowOff), v); return; }
            Store1(c, p, Index(col, rowOff), col, v.X);
            if (col + 1 < p.N) Store1(c, p, Index(col + 1, rowOff), col + 1, v.Y);
            if (col + 2 < p.N) Store1(c, p, Index(col + 2, rowOff), col + 2, v.Z);
            if (col + 3 < p.N) Store1(c, p, Index(col + 3, rowOff), col + 3, v.W);
        }
    }

    /// <summary>The (A, B, C) operand types the implicit conv instantiates the v5 kernel with.</summary>
    static readonly (Type A, Type B, Type C)[] ImplicitConvOperandTypes =
    [
        (typeof(MatrixSource), typeof(Im2ColSource), typeof(ImageMatrix)),    // forward
        (typeof(MatrixSource), typeof(DyPatchSource), typeof(ImageMatrix)),   // backward data
        (typeof(ImageMatrix), typeof(Im2ColTSource), typeof(MatrixSink)),     // backward weights
    ];

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, Im2ColSource, ImageMatrix>? _convFwdImplicit;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, DyPatchSource, ImageMatrix>? _convDataImplicit;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, ImageMatrix, Im2ColTSource, MatrixSink>? _convWeightsImplicit;

    /// <summary>y = conv2d(x, w) (+ bias): one v5 launch over the whole batch, y written in NCHW.</summary>
    public void Conv2dForwardImplicit(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        g.ValidateBuffers("conv2d forward", "storage", x.Length, w.Length, y.Length);
        int ckk = g.ColRows, cols = g.N * g.ColCols;
        var p = new FastGemmParams { M = g.O, N = cols, K = ckk, Alpha = 1f, Beta = 0f };
        var kernel = _convFwdImplicit ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, Im2ColSource, ImageMatrix>(
            GemmDoubleBufferKernel<MatrixSource, Im2ColSource, ImageMatrix>);
        kernel(TileGrid(g.O, cols, 1), F(w), F(x), F(y), p,
            new MatrixSource(false, g.O, ckk, 0, 0, 1), new Im2ColSource(g), new ImageMatrix(g.O, g.ColCols, g.N));
        if (bias is not null) BiasAdd(y, bias, g.N, g.O, g.ColCols);
    }

    /// <summary>dx += ∂L/∂x: Wt = W with axes 0, 1 swapped, then one v5 launch that gathers dy and accumulates into dx.</summary>
    public void Conv2dBackwardDataImplicit(in ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        g.ValidateBuffers("conv2d backward data", "storage", dx.Length, w.Length, dy.Length);
        int kk = g.KH * g.KW, okk = g.O * kk, cols = g.N * g.H * g.W;
        using var wt = Allocate(g.O * g.C * kk, DType.Float32);
        SwapAxes01(w, 0, wt, 0, g.O, g.C, kk);                          // [O, C, KK] → [C, O, KK]
        var p = new FastGemmParams { M = g.C, N = cols, K = okk, Alpha = 1f, Beta = 1f };
        var kernel = _convDataImplicit ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, MatrixSource, DyPatchSource, ImageMatrix>(
            GemmDoubleBufferKernel<MatrixSource, DyPatchSource, ImageMatrix>);
        kernel(TileGrid(g.C, cols, 1), F(wt), F(dy), F(dx), p,
            new MatrixSource(false, g.C, okk, 0, 0, 1), new DyPatchSource(g), new ImageMatrix(g.C, g.H * g.W, g.N));
    }

    /// <summary>dw += ∂L/∂w: one v5 launch, or, when the O × CKK tiles alone would leave the device idle, v5 over slices of
    /// K = N·OHW into a workspace and a reduce kernel (GemmSplitK).</summary>
    public void Conv2dBackwardWeightsImplicit(in ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        g.ValidateBuffers("conv2d backward weights", "storage", x.Length, dw.Length, dy.Length);
        int ckk = g.ColRows, k = g.N * g.ColCols;
        var p = new FastGemmParams { M = g.O, N = ckk, K = k, Alpha = 1f, Beta = 1f };
        var kernel = _convWeightsImplicit ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, FastGemmParams, ImageMatrix, Im2ColTSource, MatrixSink>(
            GemmDoubleBufferKernel<ImageMatrix, Im2ColTSource, MatrixSink>);
        var srcA = new ImageMatrix(g.O, g.ColCols, g.N);
        var srcB = new Im2ColTSource(g);
        var sink = new MatrixSink(ckk, 0, 0, 1);
        int splits = SplitKFor(g.O, ckk, k, 1);
        if (splits > 1) GemmSplitK(kernel, p, splits, F(dy), F(x), F(dw), srcA, srcB, sink);
        else kernel(TileGrid(g.O, ckk, 1), F(dy), F(x), F(dw), p, srcA, srcB, sink);
    }
}
