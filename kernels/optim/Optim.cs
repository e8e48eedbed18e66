namespace ScratchNet.Kernels;

// ── optim ── one fused pass of torch.optim.SGD (momentum, dampening, weight decay, Nesterov) or Adam per parameter
//   definition  Optim.Reference.cs   (the oracle of the tests and `scratchnet check`)
//   cpu         Optim.Cpu.cs: the reference loops with --kernels reference, else Optim.Cpu.Simd.cs (avx512 | avx2 | vector)
//   gpu         Optim.Ilgpu.cs
//   tests       tests/OptimTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/OptimOp.cs: scratchnet check --op optim, scratchnet bench --op optim (GB/s)
//
// Optimizer updates: one fused element-wise pass over a parameter p, its gradient g and its state,
// with exactly the arithmetic of torch.optim.SGD and torch.optim.Adam (single-tensor, non-fused versions).
//
// SGD, per element (lr, m = momentum, τ = dampening, λ = weight decay):
//   d = g + λ·p                       (only when λ ≠ 0)
//   if m ≠ 0:  buf = d                (first step of this parameter)
//              buf = m·buf + (1 − τ)·d (later steps)
//              d = d + m·buf if nesterov, else d = buf
//   p = p − lr·d
//
// Adam, per element, at step t = 1, 2, ... (β1, β2, ε, λ):
//   g = g + λ·p                       (L2 penalty added to the gradient; only when λ ≠ 0)
//   m = m + (1 − β1)·(g − m)          (= β1·m + (1 − β1)·g, written as PyTorch's lerp)
//   v = β2·v + (1 − β2)·g²
//   p = p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + ε)      (= lr·m̂ / (sqrt(v̂) + ε))
public partial interface IBackend
{
    /// <summary>One torch.optim.SGD update of n elements in place (p and buf). buf is the momentum buffer and may be
    /// null when momentum == 0; firstStep says it holds nothing yet (it is then set to d).</summary>
    void SgdStep(Storage p, Storage g, Storage? buf, int n, float lr, float momentum, float dampening, float weightDecay,
        bool nesterov, bool firstStep);

    /// <summary>One torch.optim.Adam update of n elements in place (p, m = exp_avg, v = exp_avg_sq); step is t ≥ 1,
    /// the number of updates of this parameter including this one (for the bias corrections 1 − β^t).</summary>
    void AdamStep(Storage p, Storage g, Storage m, Storage v, int n, float lr, float beta1, float beta2, float eps,
        float weightDecay, long step);
}

/// <summary>The per-step scalars of Adam, computed once on the host in double (as PyTorch does in Python floats).</summary>
internal readonly struct AdamScalars
{
    public readonly float OneMinusBeta1, OneMinusBeta2, StepSize, BiasCorrection2Sqrt;

    AdamScalars(float oneMinusBeta1, float oneMinusBeta2, float stepSize, float biasCorrection2Sqrt)
    {
        OneMinusBeta1 = oneMinusBeta1; OneMinusBeta2 = oneMinusBeta2; StepSize = stepSize; BiasCorrection2Sqrt = biasCorrection2Sqrt;
    }

    /// <summary>step size lr / (1 − β1^t) and sqrt(1 − β2^t).</summary>
    public static AdamScalars Of(float lr, float beta1, float beta2, long step)
    {
        if (step < 1) throw new ArgumentException($"AdamStep: step must be >= 1, got {step}");
        double bc1 = 1.0 - Math.Pow(beta1, step), bc2 = 1.0 - Math.Pow(beta2, step);
        return new AdamScalars((float)(1.0 - beta1), (float)(1.0 - beta2), (float)(lr / bc1), (float)Math.Sqrt(bc2));
    }
}
