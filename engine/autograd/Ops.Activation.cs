using ScratchNet.Kernels;

namespace ScratchNet;

// Activation functions, element-wise. Forward first, backward right below: dL/dx += dL/dy ⊙ f'(x).
// Kernels: kernels/activation/ (the formulas, the numerically safe sigmoid and tanh).
public static partial class F
{
    /// <summary>y = max(x, 0).  dL/dx += dL/dy where x &gt; 0.</summary>
    public static Tensor Relu(Tensor x) => Activation("relu", ActivationKind.Relu, x);

    /// <summary>y = 1 / (1 + e^−x) (no overflow for large |x|).  dL/dx += dL/dy ⊙ y(1 − y).</summary>
    public static Tensor Sigmoid(Tensor x) => Activation("sigmoid", ActivationKind.Sigmoid, x);

    /// <summary>y = tanh x.  dL/dx += dL/dy ⊙ (1 − y²).</summary>
    public static Tensor Tanh(Tensor x) => Activation("tanh", ActivationKind.Tanh, x);

    /// <summary>Heaviside step H(x) = 1 if x > 0 else 0 (gradient 0 almost everywhere).</summary>
    public static Tensor Step(Tensor x) => Activation("step", ActivationKind.Step, x);

    private static Tensor Activation(string op, ActivationKind kind, Tensor x)
    {
        Check.SameDevice(op, x); Check.Float(op, x);
        var y = Tensor.Empty(x.Shape, x.Device);
        x.Backend.ActivationForward(kind, x.Storage, y.Storage, x.Numel);
        // Relu reads x, sigmoid and tanh read y; step adds 0 (but x still gets a gradient of zeros).
        return y.SetBackward(op, [x], () =>
            x.Backend.ActivationBackward(kind, x.Storage, y.Storage, y.Grad!.Storage, x.GradStorage(), x.Numel));
    }
}

public sealed partial class Tensor
{
    public Tensor Relu() => F.Relu(this);
    public Tensor Sigmoid() => F.Sigmoid(this);
    public Tensor Tanh() => F.Tanh(this);
    public Tensor Step() => F.Step(this);
}
