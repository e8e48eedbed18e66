namespace ScratchNet;

// CONTRACT STUB (replaced by the loss/reduce/optim work): signatures only.
public static partial class F
{
    /// <summary>Sum of all elements → [1].</summary>
    public static Tensor Sum(Tensor x) => throw new NotImplementedException("F.Sum pending");
    /// <summary>Mean of all elements → [1].</summary>
    public static Tensor Mean(Tensor x) => throw new NotImplementedException("F.Mean pending");
    /// <summary>Index of the largest value of each row of [N, C] → Int32 [N].</summary>
    public static Tensor Argmax(Tensor x) => throw new NotImplementedException("F.Argmax pending");
    /// <summary>How many rows of logits [N, C] have their argmax equal to labels [N] (reads one int back).</summary>
    public static int CountCorrect(Tensor logits, Tensor labels) => throw new NotImplementedException("F.CountCorrect pending");
}
