namespace ScratchNet.Kernels;

// Optimizer updates, plain C#: the formulas of Optim.cs, one element at a time, in parallel chunks.
public sealed partial class CpuBackend
{
    public void SgdStep(Storage p, Storage g, Storage? buf, int n, float lr, float momentum, float dampening, float weightDecay,
        bool nesterov, bool firstStep)
    {
        float[] P = F(p), G = F(g);
        float[]? B = buf is null ? null : F(buf);
        if (momentum != 0f && B is null) throw new ArgumentException("SgdStep: momentum needs a buffer");
        ForChunks(n, (s, e) =>
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

    public void AdamStep(Storage p, Storage g, Storage m, Storage v, int n, float lr, float beta1, float beta2, float eps,
        float weightDecay, long step)
    {
        float[] P = F(p), G = F(g), M = F(m), V = F(v);
        var k = AdamScalars.Of(lr, beta1, beta2, step);
        ForChunks(n, (s, e) =>
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
