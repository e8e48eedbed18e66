namespace ScratchNet;

// CONTRACT STUB (replaced by the loss/reduce/optim work): signatures only.
public static partial class F
{
    /// <summary>Mean over the batch of −log softmax(logits)[label]; logits [N, C], labels Int32 [N] → scalar [1].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels) => throw new NotImplementedException("F.CrossEntropy pending");
    /// <summary>Row-wise softmax of [N, C].</summary>
    public static Tensor Softmax(Tensor x) => throw new NotImplementedException("F.Softmax pending");
}
