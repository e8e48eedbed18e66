namespace ScratchNet;

// CONTRACT STUB (replaced by the gemm/conv work): signatures only.
public static partial class F
{
    /// <summary>y = x·Wᵀ + b, x [N, in], w [out, in], b [out] → y [N, out] (torch.nn.functional.linear).</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b) => throw new NotImplementedException("F.Linear pending");
    /// <summary>C = A·B, A [M, K], B [K, N] → [M, N].</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => throw new NotImplementedException("F.MatMul pending");
}
