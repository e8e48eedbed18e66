namespace ScratchNet;

// CONTRACT STUB (replaced by the pool/activation work): signatures only.
public static partial class F
{
    public static Tensor Relu(Tensor x) => throw new NotImplementedException("F.Relu pending");
    public static Tensor Sigmoid(Tensor x) => throw new NotImplementedException("F.Sigmoid pending");
    public static Tensor Tanh(Tensor x) => throw new NotImplementedException("F.Tanh pending");
    /// <summary>Heaviside step H(x) = 1 if x > 0 else 0 (gradient 0 almost everywhere).</summary>
    public static Tensor Step(Tensor x) => throw new NotImplementedException("F.Step pending");
}
