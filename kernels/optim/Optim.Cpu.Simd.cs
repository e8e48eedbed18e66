using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// SGD and Adam, vectorised (CpuSimd.cs): one fused pass per parameter that reads p, g and the state once and
// writes p and the state once (Optim.cs has the formulas). Every lane does the reference's operations in the
// reference's order, with no fused multiply-add (sqrt and division are correctly rounded in both), so every
// path gives Reference's bits. The options (weight decay, momentum, first step, Nesterov) are the same for
// all elements, so the branches on them inside the loop always go the same way.
/// <summary>SGD and Adam on the cpu device's vector paths: one fused pass per parameter that reads p, g and the state once and
/// writes p and the state once, every lane doing the reference's operations in its order (no fused multiply-add), so every
/// path gives the reference's bits.</summary>
public static class OptimSimd
{
    struct SgdKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] P, G, B;
        public float Lr, Momentum, Dampening, WeightDecay;
        public bool Nesterov, FirstStep;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float p = ref MemoryMarshal.GetArrayDataReference(P);
            ref float g = ref MemoryMarshal.GetArrayDataReference(G);
            ref float b = ref MemoryMarshal.GetArrayDataReference(B);
            bool decay = WeightDecay != 0f, momentum = Momentum != 0f;
            TV wd = TV.Splat(WeightDecay), m = TV.Splat(Momentum), keep = TV.Splat(1f - Dampening), lr = TV.Splat(Lr);
            int i = start;
            for (; i <= end - TV.Count; i += TV.Count)
            {
                var pi = TV.Load(ref p, i);
                var d = TV.Load(ref g, i);
                if (decay) d = d + wd * pi;
                if (momentum)
                {
                    var bi = FirstStep ? d : m * TV.Load(ref b, i) + keep * d;
                    TV.Store(bi, ref b, i);
                    d = Nesterov ? d + m * bi : bi;
                }
                TV.Store(pi - lr * d, ref p, i);
            }
            for (; i < end; i++)
            {
                float d = G[i];
                if (decay) d += WeightDecay * P[i];
                if (momentum)
                {
                    float bi = FirstStep ? d : Momentum * B[i] + (1f - Dampening) * d;
                    B[i] = bi;
                    d = Nesterov ? d + Momentum * bi : bi;
                }
                P[i] -= Lr * d;
            }
        }
    }

    struct AdamKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] P, G, M, V;
        public float Beta2, Eps, WeightDecay;
        public AdamScalars K;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float p = ref MemoryMarshal.GetArrayDataReference(P);
            ref float g = ref MemoryMarshal.GetArrayDataReference(G);
            ref float mr = ref MemoryMarshal.GetArrayDataReference(M);
            ref float vr = ref MemoryMarshal.GetArrayDataReference(V);
            bool decay = WeightDecay != 0f;
            TV wd = TV.Splat(WeightDecay), omb1 = TV.Splat(K.OneMinusBeta1), b2 = TV.Splat(Beta2), omb2 = TV.Splat(K.OneMinusBeta2);
            TV step = TV.Splat(K.StepSize), bc2 = TV.Splat(K.BiasCorrection2Sqrt), eps = TV.Splat(Eps);
            int i = start;
            for (; i <= end - TV.Count; i += TV.Count)
            {
                var pi = TV.Load(ref p, i);
                var gi = TV.Load(ref g, i);
                if (decay) gi = gi + wd * pi;
                var m0 = TV.Load(ref mr, i);
                var mi = m0 + omb1 * (gi - m0);
                var vi = b2 * TV.Load(ref vr, i) + omb2 * gi * gi;
                TV.Store(mi, ref mr, i);
                TV.Store(vi, ref vr, i);
                TV.Store(pi - step * (mi / (TV.Sqrt(vi) / bc2 + eps)), ref p, i);
            }
            for (; i < end; i++)
            {
                float gi = G[i];
                if (decay) gi += WeightDecay * P[i];
                float mi = M[i] + K.OneMinusBeta1 * (gi - M[i]);
                float vi = Beta2 * V[i] + K.OneMinusBeta2 * gi * gi;
                M[i] = mi;
                V[i] = vi;
                P[i] -= K.StepSize * (mi / (MathF.Sqrt(vi) / K.BiasCorrection2Sqrt + Eps));
            }
        }
    }

    // A parameter update reads and writes 3-4 arrays: a quarter of an element-wise op's grain per thread.
    const int Grain = CpuSimd.SerialElements / 4;

    /// <summary>One torch.optim.SGD update (Optim.cs) on the given path.</summary>
    public static void SgdStep(KernelPath path, float[] p, float[] g, float[]? buf, int n, float lr, float momentum, float dampening,
        float weightDecay, bool nesterov, bool firstStep)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (momentum != 0f && buf is null) throw new ArgumentException("SgdStep: momentum needs a buffer");
        if (p.Length < n || g.Length < n || (momentum != 0f && buf!.Length < n)) throw new ArgumentException($"SgdStep: buffers shorter than n = {n}");
        buf ??= p;   // never read or written when momentum == 0
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(n, Grain, new SgdKernel<V512> { P = p, G = g, B = buf, Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, FirstStep = firstStep }); break;
            case KernelPath.Avx2: CpuSimd.For(n, Grain, new SgdKernel<V256> { P = p, G = g, B = buf, Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, FirstStep = firstStep }); break;
            default: CpuSimd.For(n, Grain, new SgdKernel<VecT> { P = p, G = g, B = buf, Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, FirstStep = firstStep }); break;
        }
    }

    /// <summary>One torch.optim.Adam update (Optim.cs) on the given path.</summary>
    public static void AdamStep(KernelPath path, float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2,
        float eps, float weightDecay, long step)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (p.Length < n || g.Length < n || m.Length < n || v.Length < n) throw new ArgumentException($"AdamStep: buffers shorter than n = {n}");
        var k = AdamScalars.Of(lr, beta1, beta2, step);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(n, Grain, new AdamKernel<V512> { P = p, G = g, M = m, V = v, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay, K = k }); break;
            case KernelPath.Avx2: CpuSimd.For(n, Grain, new AdamKernel<V256> { P = p, G = g, M = m, V = v, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay, K = k }); break;
            default: CpuSimd.For(n, Grain, new AdamKernel<VecT> { P = p, G = g, M = m, V = v, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay, K = k }); break;
        }
    }
}
