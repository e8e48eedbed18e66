using ScratchNet.Kernels;

namespace ScratchNet;

// Activation functions, element-wise (relu, sigmoid, tanh, step, leaky_relu, gelu). Forward first, backward right below: dL/dx += dL/dy ⊙ f'(x).
// Kernels: kernels/activation/ (the formulas, the numerically safe sigmoid and tanh).
/// <summary>
/// The differentiable ops, torch.nn.functional and torch's tensor functions in one class: each checks its inputs (an
/// ArgumentException naming the op, the shapes and the dim), runs one kernel family on the inputs' device and records its
/// backward for autograd. One file per family, engine/autograd/Ops.*.cs; the Tensor methods of the same names call these.
/// </summary>
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

    /// <summary>torch.nn.functional.leaky_relu: y = x if x &gt; 0 else negativeSlope·x.  dL/dx += dL/dy where x &gt; 0, else
    /// negativeSlope·dL/dy (the slope at 0, as torch).</summary>
    public static Tensor LeakyRelu(Tensor x, float negativeSlope = 0.01f)
    {
        if (!float.IsFinite(negativeSlope))
            throw new ArgumentException($"leaky_relu: negative_slope must be finite, got {negativeSlope.ToString(System.Globalization.CultureInfo.InvariantCulture)} (input {x.ShapeString})");
        return Activation("leaky_relu", ActivationKind.LeakyRelu, x, negativeSlope);
    }

    /// <summary>
    /// torch.nn.functional.gelu: approximate "none" (torch's default) is the exact y = x·Φ(x), Φ the standard normal CDF
    /// (dL/dx += dL/dy·(Φ(x) + x·φ(x))); "tanh" is y = ½x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) and its derivative.
    /// kernels/activation/Activation.cs says how Φ is evaluated.
    /// </summary>
    public static Tensor Gelu(Tensor x, string approximate = "none") => approximate switch
    {
        "none" => Activation("gelu", ActivationKind.Gelu, x),
        "tanh" => Activation("gelu", ActivationKind.GeluTanh, x),
        _ => throw new ArgumentException($"gelu: approximate must be 'none' or 'tanh', got '{approximate}' (input {x.ShapeString})"),
    };

    private static Tensor Activation(string op, ActivationKind kind, Tensor x, float alpha = 0f)
    {
        Check.SameDevice(op, x); Check.Float(op, x);
        var y = Tensor.Empty(x.Shape, x.Device);
        x.Backend.ActivationForward(kind, x.Storage, y.Storage, x.Numel, alpha);
        // Relu, leaky relu and the GELUs read x, sigmoid and tanh read y; step adds 0 (but x still gets a gradient of zeros).
        return y.SetBackward(op, [x], () =>
            x.Backend.ActivationBackward(kind, x.Storage, y.Storage, y.Grad!.Storage, x.GradStorage(), x.Numel, alpha));
    }
}

public sealed partial class Tensor
{
    /// <summary>F.Relu(this): max(x, 0), as torch.Tensor.relu.</summary>
    public Tensor Relu() => F.Relu(this);
    /// <summary>F.Sigmoid(this): 1 / (1 + e^−x), as torch.Tensor.sigmoid.</summary>
    public Tensor Sigmoid() => F.Sigmoid(this);
    /// <summary>F.Tanh(this), as torch.Tensor.tanh.</summary>
    public Tensor Tanh() => F.Tanh(this);
    /// <summary>F.Step(this): the Heaviside step, 1 where x &gt; 0 else 0 (gradient 0).</summary>
    public Tensor Step() => F.Step(this);
    /// <summary>F.LeakyRelu(this, negativeSlope).</summary>
    public Tensor LeakyRelu(float negativeSlope = 0.01f) => F.LeakyRelu(this, negativeSlope);
    /// <summary>F.Gelu(this, approximate).</summary>
    public Tensor Gelu(string approximate = "none") => F.Gelu(this, approximate);
}
