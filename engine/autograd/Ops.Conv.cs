namespace ScratchNet;

// CONTRACT STUB (replaced by the gemm/conv work): signatures only.
public static partial class F
{
    /// <summary>2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], w [O, C, kh, kw], b [O] → [N, O, OH, OW].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? b, int stride = 1, int padding = 0) => throw new NotImplementedException("F.Conv2d pending");
}
