using ScratchNet.Kernels;

namespace ScratchNet;

// Max pooling (torch.nn.functional.max_pool2d, dilation 1, ceil_mode=False). Forward first, backward right below.
// Kernels: kernels/pool/ (the math, the argmax convention and why the GPU backward is a gather).
public static partial class F
{
    /// <summary>Max pooling, x [N, C, H, W] → [N, C, OH, OW], OH = (H − k)/stride + 1 (floor), no padding.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int stride) => MaxPool2d(x, kernelSize, kernelSize, stride, stride, 0, 0);

    /// <summary>Max pooling with zero-sized padding on every side (padded positions count as −∞ and never win):
    /// OH = (H + 2·padding − k)/stride + 1 (floor). As PyTorch, padding must be at most k/2.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int stride, int padding) =>
        MaxPool2d(x, kernelSize, kernelSize, stride, stride, padding, padding);

    /// <summary>Max pooling with a rectangular window, strides and padding given per axis (height, width).</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW)
    {
        Check.SameDevice("max_pool2d", x); Check.Float("max_pool2d", x); Check.Rank("max_pool2d", "input", x, 4);
        // The geometry validates the sizes (positive kernel and stride, padding ≤ kernel/2, window fits) with
        // an ArgumentException naming max_pool2d and the input shape.
        var g = new PoolGeometry(x.Size(0), x.Size(1), x.Size(2), x.Size(3), kernelH, kernelW, strideH, strideW, padH, padW, "max_pool2d");
        var y = Tensor.Empty(g.OutputShape, x.Device);
        var argmax = Tensor.Empty(g.OutputShape, x.Device, DType.Int32);
        x.Backend.MaxPool2dForward(g, x.Storage, y.Storage, argmax.Storage);
        // dL/dx[winner of window o] += dL/dy[o]: the gradient goes only to the input that was the max.
        return y.SetBackward("max_pool2d", [x], () =>
            x.Backend.MaxPool2dBackward(g, y.Grad!.Storage, argmax.Storage, x.GradStorage()));
    }
}

public sealed partial class Tensor
{
    public Tensor MaxPool2d(int kernelSize, int stride) => F.MaxPool2d(this, kernelSize, stride);
    public Tensor MaxPool2d(int kernelSize, int stride, int padding) => F.MaxPool2d(this, kernelSize, stride, padding);
}
