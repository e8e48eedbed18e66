using ScratchNet.Kernels;

namespace ScratchNet;

// 2-D convolution by im2col + GEMM: kernels/conv/ (Conv.cs explains the method and the layout, ConvIm2Col.cs
// composes the kernels, Conv.Cpu.PerImage.cs is the cpu device's image-parallel plan). Forward first, backward
// right below; the backward accumulates.
public static partial class F
{
    /// <summary>2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], w [O, C, kh, kw], b [O] → [N, O, OH, OW].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? b, int stride = 1, int padding = 0)
        => Conv2d(x, w, b, stride, stride, padding, padding);

    /// <summary>
    /// 2-D convolution with separate vertical and horizontal stride and padding:
    /// OH = (H + 2·padH − kh) / strideH + 1, OW = (W + 2·padW − kw) / strideW + 1.
    /// Backward: dx (col2im of Wᵀ·dy), dW += Σ_n dy[n]·col[n]ᵀ, db += Σ_{n,oh,ow} dy.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? b, int strideH, int strideW, int padH, int padW)
    {
        const string op = "conv2d";
        Check.SameDevice(op, x, w, b);
        Check.Float(op, x); Check.Float(op, w); if (b is not null) Check.Float(op, b);
        Check.Rank(op, "input", x, 4); Check.Rank(op, "weight", w, 4); if (b is not null) Check.Rank(op, "bias", b, 1);
        if (x.Shape[1] != w.Shape[1])
            throw new ArgumentException($"{op}: channel mismatch: input {x.ShapeString} has {x.Shape[1]} channels, weight {w.ShapeString} expects {w.Shape[1]}");
        if (b is not null && b.Shape[0] != w.Shape[0])
            throw new ArgumentException($"{op}: bias {b.ShapeString} does not match the {w.Shape[0]} output channels of weight {w.ShapeString}");
        // Validates stride > 0, padding >= 0 and kernel <= padded input (ArgumentException naming conv2d and the shapes).
        var g = new ConvGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w.Shape[0], w.Shape[2], w.Shape[3],
            strideH, strideW, padH, padW);

        var be = x.Backend;
        var y = Tensor.Empty([g.N, g.O, g.OH, g.OW], x.Device);
        be.Conv2dForward(g, x.Storage, w.Storage, b?.Storage, y.Storage);

        return y.SetBackward(op, [x, w, b], () =>
        {
            var dy = y.Grad!.Storage;
            if (x.RequiresGrad) be.Conv2dBackwardData(g, w.Storage, dy, x.GradStorage());
            if (w.RequiresGrad) be.Conv2dBackwardWeights(g, x.Storage, dy, w.GradStorage());
            if (b is not null && b.RequiresGrad) be.BiasBackward(dy, b.GradStorage(), g.N, g.O, g.ColCols);
        });
    }
}
