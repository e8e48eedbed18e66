namespace ScratchNet.Kernels;

// ── pool ── 2-D max pooling with the winner's index, and the backward that sends each gradient to it
//   definition  Pool.Reference.cs   (the oracle of the tests, `scratchnet check` and gradcheck)
//   cpu         Pool.Cpu.cs: the reference loops with --kernels reference, else Pool.Cpu.Simd.cs (avx512 | avx2 | vector)
//   gpu         Pool.Ilgpu.cs
//   tests       tests/PoolTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/PoolOp.cs: scratchnet check --op pool, scratchnet bench --op pool (GB/s)
//
// 2-D max pooling over NCHW images (torch.nn.MaxPool2d with dilation 1, ceil_mode=False).
//
// Every (n, c) plane of H×W is pooled independently. Output (oh, ow) looks at the window of KH×KW
// input rows/columns starting at (oh·StrideH − PadH, ow·StrideW − PadW):
//     y[n, c, oh, ow] = max over kh < KH, kw < KW of x[n, c, oh·StrideH − PadH + kh, ow·StrideW − PadW + kw]
// where positions outside the image (the padding) count as −∞, so they never win.
//     OH = floor((H + 2·PadH − KH) / StrideH) + 1,   OW likewise.
//
// argmax (Int32, same shape as y) records WHICH input won, as a flat index WITHIN THE IMAGE PLANE:
// argmax[n, c, oh, ow] = ih·W + iw (the same convention as PyTorch's return_indices). The global index
// of that input is (n·C + c)·H·W + argmax. Windows are scanned row-major and only a strictly greater
// value replaces the current best, so among equal values the FIRST one in the window wins (as PyTorch).
// A NaN always replaces the best, so NaNs propagate (as PyTorch).
//
// Backward: max is a selector, so the gradient of y[o] flows only to the input that won:
//     dx[(n·C + c)·H·W + argmax[o]] += dy[o].
// Windows overlap when stride < kernel, so one input may receive gradient from several outputs;
// the contributions are summed, in increasing output order on every device.
public partial interface IBackend
{
    /// <summary>y = max over each window; argmax = index within the H×W plane of the winning input.
    /// x [N, C, H, W], y and argmax (Int32) [N, C, OH, OW].</summary>
    void MaxPool2dForward(in PoolGeometry geometry, Storage x, Storage y, Storage argmax);

    /// <summary>dx[plane·H·W + argmax[o]] += dy[o] for every output o (ACCUMULATES into dx).</summary>
    void MaxPool2dBackward(in PoolGeometry geometry, Storage dy, Storage argmax, Storage dx);
}

/// <summary>
/// The sizes of one pooling: input [N, C, H, W], window KH×KW, strides, zero-based padding on each side,
/// and the output size OH×OW (ceil_mode=False). A small unmanaged struct, so it is passed to GPU kernels as is.
/// The constructor validates everything, so a geometry that exists never makes a kernel read out of bounds.
/// </summary>
public readonly struct PoolGeometry
{
    public readonly int N, C, H, W;
    public readonly int KH, KW;
    public readonly int StrideH, StrideW;
    public readonly int PadH, PadW;
    public readonly int OH, OW;

    /// <param name="op">the op named in error messages</param>
    public PoolGeometry(int n, int c, int h, int w, int kh, int kw, int strideH, int strideW, int padH, int padW, string op = "max_pool2d")
    {
        string what = $"input [{n}, {c}, {h}, {w}], kernel ({kh}, {kw}), stride ({strideH}, {strideW}), padding ({padH}, {padW})";
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0) throw new ArgumentException($"{op}: input sizes must be positive, got {what}");
        if (kh <= 0 || kw <= 0) throw new ArgumentException($"{op}: kernel size must be positive, got {what}");
        if (strideH <= 0 || strideW <= 0) throw new ArgumentException($"{op}: stride must be positive, got {what}");
        if (padH < 0 || padW < 0) throw new ArgumentException($"{op}: padding must be >= 0, got {what}");
        // As PyTorch: padding at most half the window, so every window holds at least one real input.
        if (padH > kh / 2 || padW > kw / 2) throw new ArgumentException($"{op}: padding must be at most half the kernel size, got {what}");
        if (h + 2 * padH < kh || w + 2 * padW < kw) throw new ArgumentException($"{op}: kernel is larger than the padded input, got {what}");
        N = n; C = c; H = h; W = w; KH = kh; KW = kw; StrideH = strideH; StrideW = strideW; PadH = padH; PadW = padW;
        OH = (h + 2 * padH - kh) / strideH + 1;
        OW = (w + 2 * padW - kw) / strideW + 1;
        if ((long)n * c * OH * OW > int.MaxValue) throw new ArgumentException($"{op}: output is too large, {what}");
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
    public override string ToString() =>
        $"[{N}, {C}, {H}, {W}] -> [{N}, {C}, {OH}, {OW}], kernel ({KH}, {KW}), stride ({StrideH}, {StrideW}), padding ({PadH}, {PadW})";
}
