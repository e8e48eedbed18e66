namespace ScratchNet.Kernels;

// The pool kernels of the cpu device: the plain loops of Pool.Reference.cs when its options say Reference,
// else the vector code of Pool.Cpu.Simd.cs on the device's vector path. Adaptive average pooling runs the reference loops on
// every path: a network meets it once, at the end of its features, on maps of a few pixels, where a vector body would
// rarely have a full row of lanes.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void MaxPool2dForward(in PoolGeometry g, Storage x, Storage y, Storage argmax)
        { if (IsReference) Reference.MaxPool2dForward(g, F(x), F(y), I(argmax)); else PoolSimd.Forward(Path, g, F(x), F(y), I(argmax)); }

    /// <inheritdoc/>
    public void MaxPool2dBackward(in PoolGeometry g, Storage dy, Storage argmax, Storage dx)
        { if (IsReference) Reference.MaxPool2dBackward(g, F(dy), I(argmax), F(dx)); else PoolSimd.Backward(Path, g, F(dy), I(argmax), F(dx)); }

    /// <inheritdoc/>
    public void AvgPool2dForward(in PoolGeometry g, bool countIncludePad, Storage x, Storage y)
        { if (IsReference) Reference.AvgPool2dForward(g, countIncludePad, F(x), F(y)); else PoolSimd.AvgForward(Path, g, countIncludePad, F(x), F(y)); }

    /// <inheritdoc/>
    public void AvgPool2dBackward(in PoolGeometry g, bool countIncludePad, Storage dy, Storage dx)
        { if (IsReference) Reference.AvgPool2dBackward(g, countIncludePad, F(dy), F(dx)); else PoolSimd.AvgBackward(Path, g, countIncludePad, F(dy), F(dx)); }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dForward(in AdaptivePoolGeometry g, Storage x, Storage y) => Reference.AdaptiveAvgPool2dForward(g, F(x), F(y));

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dBackward(in AdaptivePoolGeometry g, Storage dy, Storage dx) => Reference.AdaptiveAvgPool2dBackward(g, F(dy), F(dx));
}
