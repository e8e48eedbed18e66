namespace ScratchNet;

// CONTRACT STUB (replaced by the pool/activation work): signatures only.
public static partial class F
{
    /// <summary>Max pooling, x [N, C, H, W] → [N, C, OH, OW], OH = (H − k)/stride + 1 (floor), no padding.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int stride) => throw new NotImplementedException("F.MaxPool2d pending");
}
