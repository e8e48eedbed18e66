namespace ScratchNet.Kernels;

// ── activation ── y = f(x) element-wise (ReLU, sigmoid, tanh, step, leaky ReLU, GELU) and dx += f'(x)·dy
//   definition  Activation.Reference.cs   (the oracle of the tests, `scratchnet check` and gradcheck)
//   cpu         Activation.Cpu.cs: the reference loops with --kernels reference, else Activation.Cpu.Simd.cs
//               (avx512 | avx2 | vector; sigmoid, tanh and the GELUs stay scalar: a vector exp would not round like MathF.Exp)
//   gpu         Activation.Ilgpu.cs: one grid-stride kernel per pass
//   tests       tests/ActivationTests.cs, tests/CpuSimdTests.cs, tests/LayersTorchTests.cs (leaky_relu and gelu against PyTorch)
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
//   LeakyRelu x if x > 0 else α·x                1 if x > 0 else α           (x)      α = negative_slope (torch: 0.01)
//   Gelu      x·Φ(x)                           Φ(x) + x·φ(x)               (x)      torch's gelu, approximate='none'
//   GeluTanh  ½x·(1 + tanh u) = x·σ(2u)        s + 2x·s(1 − s)·u′, s = σ(2u)   (x)   approximate='tanh'
//             u = √(2/π)·(x + 0.044715·x³),   u′ = √(2/π)·(1 + 3·0.044715·x²)
//             (computed as x·σ(2u) with the split sigmoid: for x ≪ 0, 1 + tanh u would cancel every digit in float)
// Φ is the standard normal CDF and φ its density e^(−x²/2)/√(2π). The kinds that take a parameter (α) receive it as the
// `alpha` argument of the kernels; the others ignore it.
//
// Backward ACCUMULATES: dx[i] += dy[i] · f'(x[i]).
//
// Φ(x) = ½·erfc(−x/√2), with erfc from Numerical Recipes' Chebyshev fit (erfcc: fractional error below 1.2e−7 for every
// argument), evaluated in float: for z ≥ 0, t = 1/(1 + z/2) and erfc(z) = t·exp(−z² − 1.26551223 + t·P(t)) with P of degree 9;
// erfc(−z) = 2 − erfc(z). Written out here rather than taken from a library, so the cpu loops and the GPU kernels evaluate the
// same formula (.NET has no MathF.Erf, and a GPU's erff is not bit-equal to any CPU's). The relative error of Φ stays near the
// fit's in both tails: for large negative x, Φ comes straight from erfc(|x|/√2), never from 1 − (something close to 1).
//
// Sigmoid is evaluated so that the exponential never overflows: for x ≥ 0 as 1 / (1 + e^−x) (e^−x ≤ 1), and
// for x < 0 as e^x / (1 + e^x) (e^x < 1). The one-line 1 / (1 + e^−x) reaches its limit 0 only by way of
// e^−x = +∞ (for x < −88.7 in float), which flushes σ(−100) ≈ 3.7e−44 to 0 and relies on 1/∞ being
// handled exactly by every device's division; the split form needs neither. Both are within a few ulps elsewhere.
/// <summary>The element-wise activation an <see cref="IBackend.ActivationForward"/> applies. The numeric values are the
/// kind argument of the GPU kernels and of <see cref="Activations.Forward"/>: do not renumber.</summary>
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
    /// <summary>x if x &gt; 0 else α·x (α = the negative slope); backward reads x.</summary>
    LeakyRelu = 4,
    /// <summary>x·Φ(x), the exact GELU; backward reads x.</summary>
    Gelu = 5,
    /// <summary>The GELU's tanh approximation, x/2·(1 + tanh(√(2/π)(x + 0.044715x³))); backward reads x.</summary>
    GeluTanh = 6,
}

public partial interface IBackend
{
    /// <summary>y[i] = f(x[i]) for the activation <paramref name="kind"/>; <paramref name="alpha"/>: LeakyRelu's negative slope.</summary>
    void ActivationForward(ActivationKind kind, Storage x, Storage y, int n, float alpha = 0f);

    /// <summary>dx[i] += dy[i] · f'(x[i]) (ACCUMULATES). Relu, LeakyRelu and the GELUs read x; Sigmoid and Tanh read the forward
    /// output y.</summary>
    void ActivationBackward(ActivationKind kind, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha = 0f);
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

    /// <summary>x if x &gt; 0 else slope·x (torch's leaky_relu: a NaN passes through).</summary>
    public static float LeakyRelu(float x, float slope) => x > 0f ? x : x * slope;

    /// <summary>erfc(z), Numerical Recipes' erfcc in float (fractional error below 1.2e−7 before rounding; see the table).</summary>
    public static float Erfc(float z)
    {
        float a = MathF.Abs(z), t = 1f / (1f + 0.5f * a);
        float r = t * MathF.Exp(-a * a - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f
                  + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f)))))))));
        return z >= 0f ? r : 2f - r;
    }

    /// <summary>Φ(x), the standard normal CDF: ½·erfc(−x/√2).</summary>
    public static float NormalCdf(float x) => 0.5f * Erfc(-x * 0.70710678118654752f);

    /// <summary>φ(x) = e^(−x²/2)/√(2π).</summary>
    public static float NormalPdf(float x) => 0.39894228040143268f * MathF.Exp(-0.5f * x * x);

    /// <summary>x·Φ(x).</summary>
    public static float Gelu(float x) => x * NormalCdf(x);

    const float Sqrt2OverPi = 0.79788456080286536f, GeluCubic = 0.044715f;

    /// <summary>½x·(1 + tanh u) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³) (the table says why this form).</summary>
    public static float GeluTanh(float x) => x * Sigmoid(2f * (Sqrt2OverPi * (x + GeluCubic * x * x * x)));

    /// <summary>f(x) for the kind (the values of <see cref="ActivationKind"/>); alpha: LeakyRelu's slope.</summary>
    public static float Forward(int kind, float x, float alpha = 0f) =>
        kind == 0 ? Relu(x) : kind == 1 ? Sigmoid(x) : kind == 2 ? Tanh(x) : kind == 3 ? Step(x)
        : kind == 4 ? LeakyRelu(x, alpha) : kind == 5 ? Gelu(x) : GeluTanh(x);

    // dy · f'(x): the term backward adds to dx. Relu selects rather than multiplies, so a NaN or ∞ in dy
    // where x ≤ 0 still gives 0 (as PyTorch's threshold_backward).
    /// <summary>dy · ReLU'(x): dy where x &gt; 0, else 0. A select, not a product, so a NaN or ∞ in dy where x ≤ 0 still gives 0
    /// (as PyTorch's threshold_backward).</summary>
    public static float ReluGrad(float x, float dy) => x > 0f ? dy : 0f;
    /// <summary>dy · σ'(x) = dy · y · (1 − y), from the forward output y = σ(x).</summary>
    public static float SigmoidGrad(float y, float dy) => dy * (y * (1f - y));
    /// <summary>dy · tanh'(x) = dy · (1 − y²), from the forward output y = tanh x.</summary>
    public static float TanhGrad(float y, float dy) => dy * (1f - y * y);

    /// <summary>x &gt; 0 ? dy : dy·slope (torch's leaky_relu_backward: the slope at 0).</summary>
    public static float LeakyReluGrad(float x, float dy, float slope) => x > 0f ? dy : dy * slope;

    /// <summary>dy·(Φ(x) + x·φ(x)).</summary>
    public static float GeluGrad(float x, float dy) => dy * (NormalCdf(x) + x * NormalPdf(x));

    /// <summary>dy·(s + 2x·s(1 − s)·u′), s = σ(2u) (= ½(1 + tanh u), and 2s(1 − s) = ½(1 − tanh² u)). Where the sigmoid has
    /// saturated (s(1 − s) = 0) the second term is 0, also when x is so large that u′ overflows (0·∞ would be NaN).</summary>
    public static float GeluTanhGrad(float x, float dy)
    {
        float v = 2f * (Sqrt2OverPi * (x + GeluCubic * x * x * x));
        float s = Sigmoid(v), ds = s * Sigmoid(-v);   // s·(1 − s), without the cancellation of 1 − s where s → 1
        float second = ds == 0f ? 0f : 2f * x * ds * (Sqrt2OverPi * (1f + 3f * GeluCubic * x * x));
        return dy * (s + second);
    }

    /// <summary>dy · f'(x) for the kind, given x, the forward output y = f(x), the upstream gradient dy and LeakyRelu's slope.</summary>
    public static float Grad(int kind, float x, float y, float dy, float alpha = 0f) =>
        kind == 0 ? ReluGrad(x, dy) : kind == 1 ? SigmoidGrad(y, dy) : kind == 2 ? TanhGrad(y, dy) : kind == 3 ? 0f
        : kind == 4 ? LeakyReluGrad(x, dy, alpha) : kind == 5 ? GeluGrad(x, dy) : GeluTanhGrad(x, dy);
}
