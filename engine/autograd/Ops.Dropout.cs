namespace ScratchNet;

// CONTRACT STUB (replaced by the pool/activation work): signatures only.
public static partial class F
{
    /// <summary>Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1−p);
    /// the mask is a pure function of (seed, step, index). Identity when !training.</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, ulong seed, long step) => throw new NotImplementedException("F.Dropout pending");
}
