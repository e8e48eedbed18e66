namespace ScratchNet.Kernels;

// ── conv2d ── y = conv2d(x, w) + bias, dx += ∂L/∂x, dw += ∂L/∂w (cross-correlation, NCHW, any stride, zero padding)
//   definition  Conv.Reference.cs: the seven loops and their gradients, sums in double (the oracle)
//   algorithms  --conv direct     the definition's loops: Conv.Reference.cs (cpu), Conv.Ilgpu.Direct.cs (GPU)
//               --conv im2col     patches as columns, one GEMM per chunk of images: Conv.Im2Col.cs on every device,
//                                 with Conv.Cpu.Simd.cs / Conv.Ilgpu.cs for im2col and col2im
//               --conv per-image  cpu: im2col + GEMM image by image, one range of images per core: Conv.Cpu.PerImage.cs
//               --conv implicit   GPU: the GEMM gathers the patches itself, no col buffer: Conv.Ilgpu.Implicit.cs
//               --conv auto       the device's choice per shape: Conv.Cpu.cs, Conv.Ilgpu.Algorithm.cs
//   tests       tests/ConvTests.cs
//   check/bench bench/ops/ConvOp.cs: scratchnet check --op conv2d, scratchnet bench --op conv2d (GFLOP/s)
//
// The im2col algorithm: 2-D convolution (cross-correlation, as PyTorch) as GEMM.
//
//   y[n, o, oh, ow] = bias[o] + Σ_{c, kh, kw} w[o, c, kh, kw] · x[n, c, oh·SH − PH + kh, ow·SW − PW + kw]
//   (x read as 0 outside [0, H) × [0, W): zero padding),  OH = (H + 2·PH − KH) / SH + 1, same for OW.
//
// Why im2col + GEMM: the sum above is, for one image, a matrix product once the input patches are laid
// out as columns. im2col copies patch (oh, ow) into column q = oh·OW + ow of a matrix col [C·KH·KW, OH·OW]
// whose row r = (c·KH + kh)·KW + kw holds x[c, oh·SH − PH + kh, ow·SW − PW + kw] (0 in the padding). Then
//   y[n] [O, OH·OW] = W [O, C·KH·KW] · col[n]        (W is the weight tensor as stored: [O, C, KH, KW] is [O, C·KH·KW])
// and all the arithmetic runs in the tuned GEMM kernel; the copy costs KH·KW/(SH·SW) times the input in
// memory traffic, which is small next to the O·C·KH·KW multiply-adds per output pixel. Any kernel size,
// stride and (rectangular) padding goes through the same two kernels. The price is memory for col, which
// ConvIm2Col bounds by converting a chunk of images at a time.
//
// Layout: x is [N, C, H, W]. The col buffer of a chunk of images n0 .. n0+count−1 puts the patches of all
// of them side by side: it is [C·KH·KW, count·OH·OW], element (r, l, q) at (r·count + l)·OHW + q, image
// n = n0 + l. One GEMM then covers the whole chunk:
//   Yt [O, count·OHW] = W [O, CKK] · col [CKK, count·OHW]
// and Yt, which is [O, count, OHW], is swapped into y [N, O, OH·OW] (SwapAxes01). Rather than count small
// products (for AlexNet's 8×8 layers, N = OHW = 64 each, every one re-packing W), the GEMM sees
// N = count·OHW: it packs W once and runs at the speed of a large product.
//
// Backward (dYt = dy swapped to [O, count·OHW]):
//   dcol = Wᵀ · dYt          then  dx += col2im(dcol)   (col2im sums every column entry back into the input
//                                                       pixel it was copied from: the adjoint of im2col)
//   dW  += dYt · colᵀ         one GEMM whose K = count·OHW sums over the images (col recomputed by im2col)
//   dbias += Σ_{n, oh, ow} dy[n, :, oh, ow]
// The composition is Conv.Im2Col.cs (every device); the card above lists the other algorithms.

/// <summary>
/// The sizes of one 2-D convolution: input [N, C, H, W], weight [O, C, KH, KW], output [N, O, OH, OW] with
/// OH = (H + 2·PadH − KH) / StrideH + 1 and OW = (W + 2·PadW − KW) / StrideW + 1 (floor division).
/// The constructor validates everything (ArgumentException naming conv2d and the shapes).
/// </summary>
public readonly struct ConvGeometry
{
    /// <summary>Images in the batch.</summary>
    public readonly int N;
    /// <summary>Input channels.</summary>
    public readonly int C;
    /// <summary>Input height, in pixels.</summary>
    public readonly int H;
    /// <summary>Input width, in pixels.</summary>
    public readonly int W;
    /// <summary>Output channels: the number of filters.</summary>
    public readonly int O;
    /// <summary>Kernel height.</summary>
    public readonly int KH;
    /// <summary>Kernel width.</summary>
    public readonly int KW;
    /// <summary>Vertical stride: output row oh reads input rows from oh·StrideH − PadH.</summary>
    public readonly int StrideH;
    /// <summary>Horizontal stride: output column ow reads input columns from ow·StrideW − PadW.</summary>
    public readonly int StrideW;
    /// <summary>Zero rows added above and below the input.</summary>
    public readonly int PadH;
    /// <summary>Zero columns added left and right of the input.</summary>
    public readonly int PadW;
    /// <summary>Output height, (H + 2·PadH − KH) / StrideH + 1 (floor division).</summary>
    public readonly int OH;
    /// <summary>Output width, (W + 2·PadW − KW) / StrideW + 1 (floor division).</summary>
    public readonly int OW;

    /// <summary>The geometry of input [n, c, h, w] and weight [o, c, kh, kw] with the given strides and symmetric zero padding;
    /// computes OH and OW. ArgumentException when a size or stride is not positive, a padding is negative, the kernel is larger
    /// than the padded input, or a buffer (input, output, weight, one image's col matrix) would exceed int.MaxValue elements.</summary>
    /// <param name="n">Images in the batch.</param>
    /// <param name="c">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="o">Output channels.</param>
    /// <param name="kh">Kernel height.</param>
    /// <param name="kw">Kernel width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Zero rows on each side.</param>
    /// <param name="padW">Zero columns on each side.</param>
    public ConvGeometry(int n, int c, int h, int w, int o, int kh, int kw, int strideH = 1, int strideW = 1, int padH = 0, int padW = 0)
    {
        string shapes = $"input [{n}, {c}, {h}, {w}], weight [{o}, {c}, {kh}, {kw}]";
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || o <= 0 || kh <= 0 || kw <= 0)
            throw new ArgumentException($"conv2d: sizes must be positive, got {shapes}");
        if (strideH <= 0 || strideW <= 0)
            throw new ArgumentException($"conv2d: stride must be positive, got ({strideH}, {strideW}) for {shapes}");
        if (padH < 0 || padW < 0)
            throw new ArgumentException($"conv2d: padding must be >= 0, got ({padH}, {padW}) for {shapes}");
        if (kh > h + 2 * padH || kw > w + 2 * padW)
            throw new ArgumentException($"conv2d: kernel {kh}x{kw} is larger than the padded input {h + 2 * padH}x{w + 2 * padW} ({shapes}, padding ({padH}, {padW}))");
        N = n; C = c; H = h; W = w; O = o; KH = kh; KW = kw;
        StrideH = strideH; StrideW = strideW; PadH = padH; PadW = padW;
        OH = (h + 2 * padH - kh) / strideH + 1;
        OW = (w + 2 * padW - kw) / strideW + 1;
        foreach (long size in new[] { (long)n * c * h * w, (long)n * o * OH * OW, (long)o * c * kh * kw, (long)c * kh * kw * OH * OW })
            if (size > int.MaxValue)
                throw new ArgumentException($"conv2d: {shapes} with output {OH}x{OW} needs a buffer of {size} elements, more than {int.MaxValue}");
    }

    /// <summary>Rows of an image's col matrix: C·KH·KW (also the GEMM's K in forward).</summary>
    public int ColRows => C * KH * KW;
    /// <summary>Columns of an image's col matrix: OH·OW, one per output pixel.</summary>
    public int ColCols => OH * OW;
    /// <summary>Elements of one input image, C·H·W.</summary>
    public int InputImage => C * H * W;
    /// <summary>Elements of one output image, O·OH·OW.</summary>
    public int OutputImage => O * OH * OW;
    /// <summary>Elements of the whole input, N·C·H·W.</summary>
    public int InputSize => N * InputImage;
    /// <summary>Elements of the whole output, N·O·OH·OW.</summary>
    public int OutputSize => N * OutputImage;
    /// <summary>The output's shape [N, O, OH, OW].</summary>
    public int[] OutputShape => [N, O, OH, OW];
    /// <summary>A 1×1 kernel with stride 1 and no padding: col[n] is x[n] itself, so im2col is skipped.</summary>
    public bool IsPointwise => KH == 1 && KW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;

    /// <summary>The shapes, e.g. "input [N, C, H, W], weight [O, C, KH, KW], stride (SH, SW), padding (PH, PW) → output
    /// [N, O, OH, OW]" with the numbers; the form every conv2d error message quotes.</summary>
    public override string ToString() =>
        $"input [{N}, {C}, {H}, {W}], weight [{O}, {C}, {KH}, {KW}], stride ({StrideH}, {StrideW}), padding ({PadH}, {PadW}) → output [{N}, {O}, {OH}, {OW}]";

    /// <summary>
    /// Checks that images [N, C, H, W], weights [O, C, KH, KW] and outputs [N, O, OH, OW] fit buffers of the given
    /// lengths (ArgumentException naming the op, the buffer and the shapes). `noun` is "storage" or "buffer".
    /// </summary>
    internal void ValidateBuffers(string op, string noun, long images, long weights, long outputs)
    {
        if ((long)N * InputImage > images)
            throw new ArgumentException($"{op}: the input {noun} holds {images} elements, [{N}, {C}, {H}, {W}] needs {(long)N * InputImage} ({this})");
        if ((long)O * ColRows > weights)
            throw new ArgumentException($"{op}: the weight {noun} holds {weights} elements, [{O}, {C}, {KH}, {KW}] needs {(long)O * ColRows} ({this})");
        if ((long)N * OutputImage > outputs)
            throw new ArgumentException($"{op}: the output {noun} holds {outputs} elements, [{N}, {O}, {OH}, {OW}] needs {(long)N * OutputImage} ({this})");
    }

    /// <summary>Checks that a bias (or its gradient) [O] fits a buffer of the given length (ArgumentException naming the op and the shapes).</summary>
    internal void ValidateBias(string op, string noun, long bias)
    {
        if (O > bias)
            throw new ArgumentException($"{op}: the bias {noun} holds {bias} elements, [{O}] needs {O} ({this})");
    }

    /// <summary>Checks an image range and the sizes of the image and col buffers (ArgumentException).</summary>
    internal void ValidateCols(string op, Storage images, int n0, int count, Storage col)
    {
        if (n0 < 0 || count <= 0 || n0 + count > N)
            throw new ArgumentException($"{op}: images [{n0}, {n0 + count}) are not inside the batch of {N} ({this})");
        if ((long)N * InputImage > images.Length)
            throw new ArgumentException($"{op}: the image storage holds {images.Length} elements, [{N}, {C}, {H}, {W}] needs {(long)N * InputImage}");
        if ((long)count * ColRows * ColCols > col.Length)
            throw new ArgumentException($"{op}: the col storage holds {col.Length} elements, {count} images need {(long)count * ColRows * ColCols} ([{count}, {ColRows}, {ColCols}])");
    }
}

/// <summary>The three passes of a convolution, each its own kernel: y from x and w; dx from dy and w; dw from x and dy.</summary>
public enum ConvPass
{
    /// <summary>y = conv2d(x, w) + bias.</summary>
    Forward,
    /// <summary>dx += ∂L/∂x, from dy and w.</summary>
    BackwardData,
    /// <summary>dw += ∂L/∂w, from x and dy.</summary>
    BackwardWeights,
}

public partial interface IBackend
{
    /// <summary>
    /// col[(c·KH + kh)·KW + kw, l·OHW + oh·OW + ow] = x[n0 + l, c, oh·SH − PH + kh, ow·SW − PW + kw] (0 in the padding)
    /// for l = 0 .. count−1: the patches of `count` images side by side in one [C·KH·KW, count·OH·OW] matrix.
    /// </summary>
    void Im2Col(in ConvGeometry g, Storage x, int n0, int count, Storage col);

    /// <summary>
    /// Swaps the first two axes of a [a, b, p] block: dst[dstOffset + (j·a + i)·p + q] = src[srcOffset + (i·b + j)·p + q].
    /// Turns the GEMM output [O, count, OHW] into images [count, O, OHW] and dy back into [O, count, OHW].
    /// </summary>
    void SwapAxes01(Storage src, int srcOffset, Storage dst, int dstOffset, int a, int b, int p);

    /// <summary>
    /// The adjoint of Im2Col, ACCUMULATING: dx[n0 + l, c, ih, iw] += Σ of every col entry that Im2Col copied from
    /// that pixel (entries that fell in the padding are dropped).
    /// </summary>
    void Col2Im(in ConvGeometry g, Storage col, int n0, int count, Storage dx);

    // The three conv entry points autograd calls (engine/autograd/Ops.Conv.cs), one per ConvPass. Each device runs
    // the algorithm its options name (--conv; the card at the top of this file lists them), Auto choosing per shape:
    // Conv.Cpu.cs on the cpu, Conv.Ilgpu.Algorithm.cs on the ILGPU devices.

    /// <summary>y = conv2d(x, w) + bias: x [N, C, H, W], w [O, C, KH, KW], bias [O] or null, y [N, O, OH, OW] (overwritten).</summary>
    void Conv2dForward(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y);

    /// <summary>dx += ∂L/∂x given dy [N, O, OH, OW] and w [O, C, KH, KW].</summary>
    void Conv2dBackwardData(in ConvGeometry g, Storage w, Storage dy, Storage dx);

    /// <summary>dw += ∂L/∂w given x [N, C, H, W] and dy [N, O, OH, OW].</summary>
    void Conv2dBackwardWeights(in ConvGeometry g, Storage x, Storage dy, Storage dw);
}
