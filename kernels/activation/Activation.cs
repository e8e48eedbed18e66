namespace ScratchNet.Kernels;

// ── activation ── y = f(x) element-wise (ReLU, sigmoid, tanh, step) and dx += f'(x)·dy
//   definition  Activation.Reference.cs   (the oracle of the tests, `scratchnet check` and gradcheck)
//   cpu         Activation.Cpu.cs: the reference loops with --kernels reference, else Activation.Cpu.Simd.cs
//               (avx512 | avx2 | vector; sigmoid and tanh stay scalar: a vector exp would not round like MathF.Exp)
//   gpu         Activation.Ilgpu.cs: one grid-stride kernel per pass
//   tests       tests/ActivationTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/ActivationOp.cs: scratchnet check --op activation, scratchnet bench --op activation (GB/s)
//
// Element-wise activation functions over n contiguous floats, forward and backward. The scalar math below is shared by
// both (ILGPU compiles these static methods into the kernel), so every device evaluates the same formulas.
//
//   kind      forward y = f(x)                 derivative f'(x), written with what backward has at hand
//   Relu      max(x, 0)                        1 if x > 0 else 0           (x)
//   Sigmoid   1 / (1 + e^−x)                   y · (1 − y)                 (y)
//   Tanh      tanh x                           1 − y²                      (y)
//   Step      H(x) = 1 if x > 0 else 0         0 (almost everywhere)       (—)
//
// Backward ACCUMULATES: dx[i] += dy[i] · f'(x[i]).
//
// Sigmoid is evaluated so that the exponential never overflows: for x ≥ 0 as 1 / (1 + e^−x) (e^−x ≤ 1), and
// for x < 0 as e^x / (1 + e^x) (e^x < 1). The one-line 1 / (1 + e^−x) reaches its limit 0 only by way of
// e^−x = +∞ (for x < −88.7 in float), which flushes σ(−100) ≈ 3.7e−44 to 0 and relies on 1/∞ being
// handled exactly by every device's division; the split form needs neither. Both are within a few ulps elsewhere.
/// <summary>The element-wise activation an <see cref="IBackend.ActivationForward"/> applies. The numeric values are the
/// kind argument of the GPU kernels and of <see cref="Activations.Forward"/>.</summary>
public enum ActivationKind
{
    /// <summary>max(x, 0); backward reads x.</summary>
    Relu = 0,
    /// <summary>1 / (1 + e^−x); backward reads the output y.</summary>
    Sigmoid = 1,
    /// <summary>tanh x; backward reads the output y.</summary>
    Tanh = 2,
    /// <summary>H(x): 1 if x &gt; 0 else 0; its gradient is 0, so backward adds nothing.</summary>
    Step = 3,
}

public partial interface IBackend
{
    /// <summary>y[i] = f(x[i]) for the activation <paramref name="kind"/>.</summary>
    void ActivationForward(ActivationKind kind, Storage x, Storage y, int n);

    /// <summary>dx[i] += dy[i] · f'(x[i]) (ACCUMULATES). Relu reads x; Sigmoid and Tanh read the forward output y.</summary>
    void ActivationBackward(ActivationKind kind, Storage x, Storage y, Storage dy, Storage dx, int n);
}

/// <summary>The scalar activation functions and their derivatives, used by the CPU loops and the GPU kernels alike.</summary>
public static class Activations
{
    /// <summary>max(x, 0), written as x &lt; 0 ? 0 : x so that NaN passes through (as in PyTorch) and −0 stays −0.</summary>
    public static float Relu(float x) => x < 0f ? 0f : x;  // written so that a NaN passes through, as in PyTorch

    /// <summary>σ(x) = 1 / (1 + e^−x), evaluated as e^x / (1 + e^x) for x &lt; 0 so that the exponential never overflows:
    /// σ(−100) is a denormal, not 0.</summary>
    public static float Sigmoid(float x)
    {
        if (x >= 0f) return 1f / (1f + MathF.Exp(-x));
        float e = MathF.Exp(x);
        return e / (1f + e);
    }

    // tanh x = sign(x) · (1 − e^−2|x|) / (1 + e^−2|x|): e^−2|x| ≤ 1 never overflows. For |x| < 0.25 the
    // subtraction 1 − e^−2|x| would cancel leading digits, so there the odd Taylor series is used instead
    // (the first omitted term is below 1e−8 relative); against double it is within 2e−7 relative (3 ulps). Our own formula rather than MathF.Tanh, because ILGPU
    // lowers MathF.Tanh to PTX's tanh.approx.f32, whose relative error is about 5e−4.
    /// <summary>tanh x = sign(x) · (1 − e^−2|x|) / (1 + e^−2|x|), with the odd Taylor series for |x| &lt; 0.25 where the
    /// subtraction would cancel digits; within a few ulps of the exact value on every device.</summary>
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x), t;
        if (a < 0.25f)
        {
            float a2 = a * a;
            t = a * (1f + a2 * (-1f / 3f + a2 * (2f / 15f + a2 * (-17f / 315f + a2 * (62f / 2835f)))));
        }
        else
        {
            float e = MathF.Exp(-2f * a);
            t = (1f - e) / (1f + e);
        }
        return x < 0f ? -t : t;
    }

    /// <summary>The Heaviside step: 1 for x &gt; 0, else 0 (0 at x = 0 and for NaN).</summary>
    public static float Step(float x) => x > 0f ? 1f : 0f;

    /// <summary>f(x) for the kind (0 = Relu, 1 = Sigmoid, 2 = Tanh, 3 = Step: the values of <see cref="ActivationKind"/>).</summary>
    public static float Forward(int kind, float x) =>
        kind == 0 ? Relu(x) : kind == 1 ? Sigmoid(x) : kind == 2 ? Tanh(x) : Step(x);

    // dy · f'(x): the term backward adds to dx. Relu selects rather than multiplies, so a NaN or ∞ in dy
    // where x ≤ 0 still gives 0 (as PyTorch's threshold_backward).
    /// <summary>dy · ReLU'(x): dy where x &gt; 0, else 0. A select, not a product, so a NaN or ∞ in dy where x ≤ 0 still gives 0
    /// (as PyTorch's threshold_backward).</summary>
    public static float ReluGrad(float x, float dy) => x > 0f ? dy : 0f;
    /// <summary>dy · σ'(x) = dy · y · (1 − y), from the forward output y = σ(x).</summary>
    public static float SigmoidGrad(float y, float dy) => dy * (y * (1f - y));
    /// <summary>dy · tanh'(x) = dy · (1 − y²), from the forward output y = tanh x.</summary>
    public static float TanhGrad(float y, float dy) => dy * (1f - y * y);

    /// <summary>dy · f'(x) for the kind, given x, the forward output y = f(x) and the upstream gradient dy.</summary>
    public static float Grad(int kind, float x, float y, float dy) =>
        kind == 0 ? ReluGrad(x, dy) : kind == 1 ? SigmoidGrad(y, dy) : kind == 2 ? TanhGrad(y, dy) : 0f;
}
