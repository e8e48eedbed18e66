using ScratchNet.Kernels;

namespace ScratchNet;

// Pooling: max (torch.nn.functional.max_pool2d, dilation 1), average (avg_pool2d) and adaptive average (adaptive_avg_pool2d).
// Forward first, backward right below. Kernels: kernels/pool/ (the math, the argmax convention, the divisors, ceil_mode, and why
// the GPU backward is a gather).
public static partial class F
{
    /// <summary>Max pooling, x [N, C, H, W] → [N, C, OH, OW], OH = (H − k)/stride + 1 (floor), no padding.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int stride) => MaxPool2d(x, kernelSize, kernelSize, stride, stride, 0, 0);

    /// <summary>Max pooling with zero-sized padding on every side (padded positions count as −∞ and never win):
    /// OH = (H + 2·padding − k)/stride + 1, rounded down, or up with <paramref name="ceilMode"/> (kernels/pool/Pool.cs).
    /// As PyTorch, padding must be at most k/2.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int stride, int padding, bool ceilMode = false) =>
        MaxPool2d(x, kernelSize, kernelSize, stride, stride, padding, padding, ceilMode);

    /// <summary>Max pooling with a rectangular window, strides and padding given per axis (height, width).</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, bool ceilMode = false)
    {
        Check.SameDevice("max_pool2d", x); Check.Float("max_pool2d", x); Check.Rank("max_pool2d", "input", x, 4);
        // The geometry validates the sizes (positive kernel and stride, padding ≤ kernel/2, window fits) with
        // an ArgumentException naming max_pool2d and the input shape.
        var g = new PoolGeometry(x.Size(0), x.Size(1), x.Size(2), x.Size(3), kernelH, kernelW, strideH, strideW, padH, padW, "max_pool2d", ceilMode);
        var y = Tensor.Empty(g.OutputShape, x.Device);
        var argmax = Tensor.Empty(g.OutputShape, x.Device, DType.Int32);
        x.Backend.MaxPool2dForward(g, x.Storage, y.Storage, argmax.Storage);
        // dL/dx[winner of window o] += dL/dy[o]: the gradient goes only to the input that was the max.
        return y.SetBackward("max_pool2d", [x], () =>
            x.Backend.MaxPool2dBackward(g, y.Grad!.Storage, argmax.Storage, x.GradStorage()));
    }

    /// <summary>
    /// Average pooling (torch.nn.functional.avg_pool2d), x [N, C, H, W] → [N, C, OH, OW]: each output is the mean of its
    /// kernelSize×kernelSize window, moved by <paramref name="stride"/> (default: kernelSize), over an input padded by
    /// <paramref name="padding"/> on every side (at most kernelSize/2). With <paramref name="countIncludePad"/> (torch's default)
    /// the padding counts as zeros in the mean, else only real inputs are counted; <paramref name="ceilMode"/> keeps a partial last
    /// window. dL/dx[i] += Σ over the windows o containing i of dL/dy[o] / divisor(o).
    /// </summary>
    public static Tensor AvgPool2d(Tensor x, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
        AvgPool2d(x, kernelSize, kernelSize, stride ?? kernelSize, stride ?? kernelSize, padding, padding, ceilMode, countIncludePad);

    /// <summary>Average pooling with a rectangular window, strides and padding given per axis (height, width).</summary>
    public static Tensor AvgPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, bool ceilMode = false, bool countIncludePad = true)
    {
        const string op = "avg_pool2d";
        Check.SameDevice(op, x); Check.Float(op, x); Check.Rank(op, "input", x, 4);
        var g = new PoolGeometry(x.Size(0), x.Size(1), x.Size(2), x.Size(3), kernelH, kernelW, strideH, strideW, padH, padW, op, ceilMode);
        var y = Tensor.Empty(g.OutputShape, x.Device);
        x.Backend.AvgPool2dForward(g, countIncludePad, x.Storage, y.Storage);
        return y.SetBackward(op, [x], () => x.Backend.AvgPool2dBackward(g, countIncludePad, y.Grad!.Storage, x.GradStorage()));
    }

    /// <summary>
    /// Adaptive average pooling (torch.nn.functional.adaptive_avg_pool2d), x [N, C, H, W] → [N, C, outputHeight, outputWidth]:
    /// output row oh averages input rows [⌊oh·H/OH⌋, ⌈(oh + 1)·H/OH⌉), columns likewise (an output larger than the input repeats
    /// inputs). When the output size divides the input size it is <see cref="AvgPool2d(Tensor, int, int, int, int, int, int, bool, bool)"/>
    /// with kernel = stride = H/OH, and runs as that (the same values: the same windows, sums and divisors); the identity when
    /// the input already has the output size. dL/dx[i] += Σ over the windows o containing i of dL/dy[o] / |window o|.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputHeight, int outputWidth)
    {
        const string op = "adaptive_avg_pool2d";
        Check.SameDevice(op, x); Check.Float(op, x); Check.Rank(op, "input", x, 4);
        var g = new AdaptivePoolGeometry(x.Size(0), x.Size(1), x.Size(2), x.Size(3), outputHeight, outputWidth, op);
        if (g.H == g.OH && g.W == g.OW) return x;   // every window is one input: as torch, the values pass through
        if (g.H % g.OH == 0 && g.W % g.OW == 0)
            return AvgPool2d(x, g.H / g.OH, g.W / g.OW, g.H / g.OH, g.W / g.OW, 0, 0);
        var y = Tensor.Empty(g.OutputShape, x.Device);
        x.Backend.AdaptiveAvgPool2dForward(g, x.Storage, y.Storage);
        return y.SetBackward(op, [x], () => x.Backend.AdaptiveAvgPool2dBackward(g, y.Grad!.Storage, x.GradStorage()));
    }
}

public sealed partial class Tensor
{
    /// <summary>F.MaxPool2d(this, kernelSize, stride).</summary>
    public Tensor MaxPool2d(int kernelSize, int stride) => F.MaxPool2d(this, kernelSize, stride);
    /// <summary>F.MaxPool2d(this, kernelSize, stride, padding, ceilMode).</summary>
    public Tensor MaxPool2d(int kernelSize, int stride, int padding, bool ceilMode = false) => F.MaxPool2d(this, kernelSize, stride, padding, ceilMode);
    /// <summary>F.AvgPool2d(this, kernelSize, stride, padding, ceilMode, countIncludePad).</summary>
    public Tensor AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
        F.AvgPool2d(this, kernelSize, stride, padding, ceilMode, countIncludePad);
    /// <summary>F.AdaptiveAvgPool2d(this, outputHeight, outputWidth).</summary>
    public Tensor AdaptiveAvgPool2d(int outputHeight, int outputWidth) => F.AdaptiveAvgPool2d(this, outputHeight, outputWidth);
}
