namespace ScratchNet.Kernels;

// ── pool ── 2-D pooling over NCHW planes: max (with the winner's index), average, adaptive average; forward and backward
//   definition  Pool.Reference.cs   (the oracle of the tests, `scratchnet check` and gradcheck)
//   cpu         Pool.Cpu.cs: the reference loops with --kernels reference, else Pool.Cpu.Simd.cs (avx512 | avx2 | vector):
//               max forward and backward, average forward and backward; adaptive average runs the reference loops on every
//               path (Pool.Cpu.cs says why)
//   gpu         Pool.Ilgpu.cs
//   tests       tests/PoolTests.cs (max), tests/AvgPoolTests.cs (average, adaptive, ceil_mode), tests/CpuSimdTests.cs,
//               tests/LayersTorchTests.cs (against PyTorch)
//   check/bench bench/ops/PoolOp.cs: scratchnet check --op pool, scratchnet bench --op pool (GB/s)
//
// Every (n, c) plane of H×W is pooled independently. Output (oh, ow) looks at the window of KH×KW input rows/columns starting
// at (oh·StrideH − PadH, ow·StrideW − PadW); positions outside the image are the padding.
//
// OUTPUT SIZE (torch's pooling_output_shape, dilation 1):
//     ceil_mode = False   OH = floor((H + 2·PadH − KH) / StrideH) + 1
//     ceil_mode = True    OH = ceil((H + 2·PadH − KH) / StrideH) + 1, minus one if the last window would start at or past
//                         H + PadH (inside the right padding), so every window holds at least one real input
// OW likewise. ceil_mode keeps the partial window at the bottom/right edge that floor drops; that window may reach past the
// padded image (the kernels clip every window to the image anyway). As torch, padding is at most half the kernel.
//
// MAX (torch.nn.MaxPool2d, dilation 1):
//     y[n, c, oh, ow] = max over the window of x, padding counting as −∞ (it never wins)
// argmax (Int32, same shape as y) records WHICH input won, as a flat index WITHIN THE IMAGE PLANE:
// argmax[n, c, oh, ow] = ih·W + iw (the same convention as PyTorch's return_indices). The global index
// of that input is (n·C + c)·H·W + argmax. Windows are scanned row-major and only a strictly greater
// value replaces the current best, so among equal values the FIRST one in the window wins (as PyTorch).
// A NaN always replaces the best, so NaNs propagate (as PyTorch).
// Backward: max is a selector, so the gradient of y[o] flows only to the input that won:
//     dx[(n·C + c)·H·W + argmax[o]] += dy[o].
//
// AVERAGE (torch.nn.AvgPool2d, no divisor_override):
//     y[o] = (Σ over the window's positions inside the image of x) / divisor(o)
// the sum in float, row-major over the window (ih, then iw), then one division; with the window's rows
// [h0, h0 + KH) clipped to the padded image [−PadH, H + PadH) and then to the image [0, H) (columns likewise):
//     count_include_pad = True    divisor = rows·cols of the window clipped to the PADDED image (padding counts as zeros)
//     count_include_pad = False   divisor = rows·cols clipped to the image (only real inputs count)
// (AvgDivisor below; a ceil_mode window past the padded edge is smaller in both cases, as torch's.)
// Backward: each input receives dy[o] / divisor(o) from every window o that contains it: dx[i] += Σ_o dy[o] / divisor(o).
//
// ADAPTIVE AVERAGE (torch.nn.AdaptiveAvgPool2d((OH, OW))): output row oh averages input rows
//     [floor(oh·H / OH), ceil((oh + 1)·H / OH))            (AdaptivePoolGeometry.Start / End)
// and columns likewise: the windows tile the image, overlapping by one row/column where OH does not divide H, and an
// output larger than the input repeats inputs. y[o] = Σ window / (rows·cols); backward dx[i] += Σ_{o ∋ i} dy[o] / (rows·cols).
// When OH divides H and OW divides W it is the average pooling with kernel = stride = H/OH (the op takes that path).
//
// ORDER. Windows overlap when stride < kernel (and in adaptive pooling), so an input may receive gradient from several
// outputs; every backward adds the contributions to dx[i] in increasing output order, on every device (the GPU kernels
// gather them in that order), so each version gives the reference's bits.
public partial interface IBackend
{
    /// <summary>y = max over each window; argmax = index within the H×W plane of the winning input.
    /// x [N, C, H, W], y and argmax (Int32) [N, C, OH, OW].</summary>
    void MaxPool2dForward(in PoolGeometry geometry, Storage x, Storage y, Storage argmax);

    /// <summary>dx[plane·H·W + argmax[o]] += dy[o] for every output o (ACCUMULATES into dx).</summary>
    void MaxPool2dBackward(in PoolGeometry geometry, Storage dy, Storage argmax, Storage dx);

    /// <summary>y[o] = (Σ of the window's inputs) / divisor(o) (see <see cref="PoolGeometry.AvgDivisor"/>). x [N, C, H, W], y [N, C, OH, OW].</summary>
    void AvgPool2dForward(in PoolGeometry geometry, bool countIncludePad, Storage x, Storage y);

    /// <summary>dx[i] += Σ over the windows o containing input i of dy[o] / divisor(o), in increasing o (ACCUMULATES into dx).</summary>
    void AvgPool2dBackward(in PoolGeometry geometry, bool countIncludePad, Storage dy, Storage dx);

    /// <summary>y[o] = the mean of output o's adaptive window (<see cref="AdaptivePoolGeometry"/>). x [N, C, H, W], y [N, C, OH, OW].</summary>
    void AdaptiveAvgPool2dForward(in AdaptivePoolGeometry geometry, Storage x, Storage y);

    /// <summary>dx[i] += Σ over the windows o containing input i of dy[o] / (window size of o), in increasing o (ACCUMULATES).</summary>
    void AdaptiveAvgPool2dBackward(in AdaptivePoolGeometry geometry, Storage dy, Storage dx);
}

/// <summary>
/// The sizes of one pooling: input [N, C, H, W], window KH×KW, strides, zero-based padding on each side, ceil_mode, and the
/// output size OH×OW (Pool.cs). A small unmanaged struct, so it is passed to GPU kernels as is. The constructor validates
/// everything, so a geometry that exists never makes a kernel read out of bounds.
/// </summary>
public readonly struct PoolGeometry
{
    /// <summary>Input sizes: images, channels, height, width.</summary>
    public readonly int N, C, H, W;
    /// <summary>Window height and width.</summary>
    public readonly int KH, KW;
    /// <summary>Steps between windows, per axis.</summary>
    public readonly int StrideH, StrideW;
    /// <summary>Padding on each side, per axis.</summary>
    public readonly int PadH, PadW;
    /// <summary>Output height and width.</summary>
    public readonly int OH, OW;
    // An int, not a bool: a struct passed to an ILGPU kernel must be blittable, and bool is not.
    private readonly int _ceilMode;
    /// <summary>Whether the output size rounds up (torch's ceil_mode): a partial last window is kept.</summary>
    public bool CeilMode => _ceilMode != 0;

    /// <param name="n">images</param> <param name="c">channels</param> <param name="h">input height</param> <param name="w">input width</param>
    /// <param name="kh">window height</param> <param name="kw">window width</param>
    /// <param name="strideH">vertical step</param> <param name="strideW">horizontal step</param>
    /// <param name="padH">rows of padding above and below</param> <param name="padW">columns of padding left and right</param>
    /// <param name="op">the op named in error messages</param>
    /// <param name="ceilMode">round the output size up (Pool.cs)</param>
    public PoolGeometry(int n, int c, int h, int w, int kh, int kw, int strideH, int strideW, int padH, int padW, string op = "max_pool2d", bool ceilMode = false)
    {
        string what = $"input [{n}, {c}, {h}, {w}], kernel ({kh}, {kw}), stride ({strideH}, {strideW}), padding ({padH}, {padW})"
                      + (ceilMode ? ", ceil_mode" : "");
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0) throw new ArgumentException($"{op}: input sizes must be positive, got {what}");
        if (kh <= 0 || kw <= 0) throw new ArgumentException($"{op}: kernel size must be positive, got {what}");
        if (strideH <= 0 || strideW <= 0) throw new ArgumentException($"{op}: stride must be positive, got {what}");
        if (padH < 0 || padW < 0) throw new ArgumentException($"{op}: padding must be >= 0, got {what}");
        // As PyTorch: padding at most half the window, so every window holds at least one real input.
        if (padH > kh / 2 || padW > kw / 2) throw new ArgumentException($"{op}: padding must be at most half the kernel size, got {what}");
        int oh = OutputExtent(h, kh, strideH, padH, ceilMode), ow = OutputExtent(w, kw, strideW, padW, ceilMode);
        if (oh < 1 || ow < 1) throw new ArgumentException($"{op}: kernel is larger than the padded input, got {what}");
        N = n; C = c; H = h; W = w; KH = kh; KW = kw; StrideH = strideH; StrideW = strideW; PadH = padH; PadW = padW; _ceilMode = ceilMode ? 1 : 0;
        OH = oh; OW = ow;
        if ((long)n * c * OH * OW > int.MaxValue || (long)n * c * h * w > int.MaxValue) throw new ArgumentException($"{op}: tensor is too large, {what}");
    }

    /// <summary>torch's pooling_output_shape with dilation 1 (Pool.cs); below 1 when the window does not fit.</summary>
    public static int OutputExtent(int size, int kernel, int stride, int pad, bool ceilMode)
    {
        long span = (long)size + 2 * pad - kernel + (ceilMode ? stride - 1 : 0);
        long o = (span < 0 ? (span - stride + 1) / stride : span / stride) + 1;   // floor division, as torch's div_rtn
        if (ceilMode && o >= 1 && (o - 1) * stride >= size + pad) o--;            // the last window must start inside image or left padding
        return (int)Math.Clamp(o, int.MinValue, int.MaxValue);
    }

    /// <summary>The divisor of average-pooling output (oh, ow): the window's rows·cols clipped to the padded image
    /// (count_include_pad) or to the image (Pool.cs). Shared by every device.</summary>
    public static int AvgDivisor(PoolGeometry g, int oh, int ow, bool countIncludePad)
    {
        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
        int h1 = Math.Min(h0 + g.KH, g.H + g.PadH), w1 = Math.Min(w0 + g.KW, g.W + g.PadW);
        if (countIncludePad) return (h1 - h0) * (w1 - w0);
        return (Math.Min(h1, g.H) - Math.Max(h0, 0)) * (Math.Min(w1, g.W) - Math.Max(w0, 0));
    }

    /// <summary>Elements of one input image, C·H·W.</summary>
    public int InputImage => C * H * W;
    /// <summary>Elements of one output image, C·OH·OW.</summary>
    public int OutputImage => C * OH * OW;
    /// <summary>Elements of the whole input, N·C·H·W.</summary>
    public int InputSize => N * C * H * W;
    /// <summary>Elements of the whole output, N·C·OH·OW.</summary>
    public int OutputSize => N * C * OH * OW;
    /// <summary>The output's shape [N, C, OH, OW].</summary>
    public int[] OutputShape => [N, C, OH, OW];
    /// <summary>"[N, C, H, W] -> [N, C, OH, OW], kernel (KH, KW), stride (..), padding (..)".</summary>
    public override string ToString() =>
        $"[{N}, {C}, {H}, {W}] -> [{N}, {C}, {OH}, {OW}], kernel ({KH}, {KW}), stride ({StrideH}, {StrideW}), padding ({PadH}, {PadW})"
        + (CeilMode ? ", ceil_mode" : "");
}

/// <summary>
/// The sizes of one adaptive average pooling: input [N, C, H, W] to output [N, C, OH, OW] (Pool.cs): output row oh averages the
/// input rows [<see cref="Start"/>(oh, OH, H), <see cref="End"/>(oh, OH, H)), columns likewise. Validated by the constructor.
/// </summary>
public readonly struct AdaptivePoolGeometry
{
    /// <summary>Input sizes: images, channels, height, width.</summary>
    public readonly int N, C, H, W;
    /// <summary>Output height and width.</summary>
    public readonly int OH, OW;

    /// <param name="n">images</param> <param name="c">channels</param> <param name="h">input height</param> <param name="w">input width</param>
    /// <param name="oh">output height</param> <param name="ow">output width</param>
    /// <param name="op">the op named in error messages</param>
    public AdaptivePoolGeometry(int n, int c, int h, int w, int oh, int ow, string op = "adaptive_avg_pool2d")
    {
        string what = $"input [{n}, {c}, {h}, {w}], output size ({oh}, {ow})";
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0) throw new ArgumentException($"{op}: input sizes must be positive, got {what}");
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"{op}: output size must be positive, got {what}");
        if ((long)n * c * oh * ow > int.MaxValue || (long)n * c * h * w > int.MaxValue
            || (long)(oh + 1) * h > int.MaxValue || (long)(ow + 1) * w > int.MaxValue)
            throw new ArgumentException($"{op}: tensor is too large, {what}");
        N = n; C = c; H = h; W = w; OH = oh; OW = ow;
    }

    /// <summary>First input index of output o: floor(o·size / outSize).</summary>
    public static int Start(int o, int outSize, int size) => o * size / outSize;

    /// <summary>One past the last input index of output o: ceil((o + 1)·size / outSize).</summary>
    public static int End(int o, int outSize, int size) => ((o + 1) * size + outSize - 1) / outSize;

    /// <summary>Elements of the whole input, N·C·H·W.</summary>
    public int InputSize => N * C * H * W;
    /// <summary>Elements of the whole output, N·C·OH·OW.</summary>
    public int OutputSize => N * C * OH * OW;
    /// <summary>The output's shape [N, C, OH, OW].</summary>
    public int[] OutputShape => [N, C, OH, OW];
    /// <summary>"[N, C, H, W] -> [N, C, OH, OW]".</summary>
    public override string ToString() => $"[{N}, {C}, {H}, {W}] -> [{N}, {C}, {OH}, {OW}], adaptive";
}
