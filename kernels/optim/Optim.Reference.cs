namespace ScratchNet.Kernels;

// Optimizer updates on the cpu device. Reference holds the plain loops: the formulas of Optim.cs, one
// element at a time, in parallel chunks. The vector version is Optim.Cpu.Simd.cs; the cpu device runs these
// loops with --kernels reference, and the tests compare every version with them.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.SgdStep"/>, torch.optim.SGD's arithmetic per element: d = G + λ·P; with
    /// momentum B = d on the first step, else momentum·B + (1 − dampening)·d, and d = B (or d + momentum·B with Nesterov); then
    /// P −= lr·d. Momentum without a buffer B is an ArgumentException.</summary>
    public static void SgdStep(float[] P, float[] G, float[]? B, int n, float lr, float momentum, float dampening, float weightDecay,
        bool nesterov, bool firstStep)
    {
        if (momentum != 0f && B is null) throw new ArgumentException("SgdStep: momentum needs a buffer");
        CpuBackend.ForChunks(n, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float d = G[i];
                if (weightDecay != 0f) d += weightDecay * P[i];
                if (momentum != 0f)
                {
                    float b = firstStep ? d : momentum * B![i] + (1f - dampening) * d;
                    B![i] = b;
                    d = nesterov ? d + momentum * b : b;
                }
                P[i] -= lr * d;
            }
        });
    }

    /// <summary>The definition of <see cref="IBackend.AdamStep"/>, torch.optim.Adam's arithmetic per element: g = G + λ·P,
    /// M += (1 − β1)·(g − M), V = β2·V + (1 − β2)·g², P −= (lr / (1 − β1^t))·M / (√V / √(1 − β2^t) + ε), with the bias
    /// corrections computed once in double. A step below 1 is an ArgumentException.</summary>
    public static void AdamStep(float[] P, float[] G, float[] M, float[] V, int n, float lr, float beta1, float beta2, float eps,
        float weightDecay, long step)
    {
        var k = AdamScalars.Of(lr, beta1, beta2, step);
        CpuBackend.ForChunks(n, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float gi = G[i];
                if (weightDecay != 0f) gi += weightDecay * P[i];
                float mi = M[i] + k.OneMinusBeta1 * (gi - M[i]);
                float vi = beta2 * V[i] + k.OneMinusBeta2 * gi * gi;
                M[i] = mi;
                V[i] = vi;
                P[i] -= k.StepSize * (mi / (MathF.Sqrt(vi) / k.BiasCorrection2Sqrt + eps));
            }
        });
    }
}
