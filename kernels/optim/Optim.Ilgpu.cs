using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Optimizer updates as ILGPU kernels: element-wise grid-stride loops (thread t handles t, t + T, ...),
// the formulas of Optim.cs. The hyper-parameters travel in one small struct per optimizer; the branches on
// them (weight decay, momentum, nesterov, first step) are uniform across the grid, so they cost nothing.
public sealed partial class IlgpuBackend
{
    // Kernel parameter structs must be public: ILGPU's CPU runtime builds a launcher type in another assembly.
    /// <summary>SGD hyper-parameters as one kernel argument.</summary>
    public struct SgdArgs
    {
        /// <summary>Learning rate: p −= Lr·d.</summary>
        public float Lr;
        /// <summary>Momentum factor; 0 disables the buffer.</summary>
        public float Momentum;
        /// <summary>Dampening τ: buf = Momentum·buf + (1 − τ)·d after the first step.</summary>
        public float Dampening;
        /// <summary>L2 penalty λ: d = g + λ·p.</summary>
        public float WeightDecay;
        /// <summary>1: Nesterov momentum, d = d + Momentum·buf; 0: d = buf.</summary>
        public int Nesterov;
        /// <summary>1 on the parameter's first step: buf is set to d instead of being read.</summary>
        public int FirstStep;
    }

    /// <summary>Adam hyper-parameters and this step's scalars as one kernel argument.</summary>
    public struct AdamArgs
    {
        /// <summary>β2, the decay of the squared-gradient average v.</summary>
        public float Beta2;
        /// <summary>ε, added to the denominator √v̂.</summary>
        public float Eps;
        /// <summary>L2 penalty λ: g = g + λ·p.</summary>
        public float WeightDecay;
        /// <summary>1 − β1, rounded once on the host from double.</summary>
        public float OneMinusBeta1;
        /// <summary>1 − β2, rounded once on the host from double.</summary>
        public float OneMinusBeta2;
        /// <summary>lr / (1 − β1^t) for this step t.</summary>
        public float StepSize;
        /// <summary>√(1 − β2^t) for this step t.</summary>
        public float BiasCorrection2Sqrt;
    }

    static void SgdKernel(ArrayView<float> p, ArrayView<float> g, ArrayView<float> buf, int n, SgdArgs a)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            float d = g[i];
            if (a.WeightDecay != 0f) d += a.WeightDecay * p[i];
            if (a.Momentum != 0f)
            {
                float b = a.FirstStep != 0 ? d : a.Momentum * buf[i] + (1f - a.Dampening) * d;
                buf[i] = b;
                d = a.Nesterov != 0 ? d + a.Momentum * b : b;
            }
            p[i] -= a.Lr * d;
        }
    }

    static void AdamKernel(ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, int n, AdamArgs a)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            float gi = g[i];
            if (a.WeightDecay != 0f) gi += a.WeightDecay * p[i];
            float mi = m[i] + a.OneMinusBeta1 * (gi - m[i]);
            float vi = a.Beta2 * v[i] + a.OneMinusBeta2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] -= a.StepSize * (mi / (MathF.Sqrt(vi) / a.BiasCorrection2Sqrt + a.Eps));
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, SgdArgs>? _sgd;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamArgs>? _adam;

    /// <inheritdoc />
    public void SgdStep(Storage p, Storage g, Storage? buf, int n, float lr, float momentum, float dampening, float weightDecay,
        bool nesterov, bool firstStep)
    {
        if (momentum != 0f && buf is null) throw new ArgumentException("SgdStep: momentum needs a buffer");
        if (n == 0) return;
        var args = new SgdArgs
        {
            Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay,
            Nesterov = nesterov ? 1 : 0, FirstStep = firstStep ? 1 : 0,
        };
        // Without momentum the kernel never touches buf; p's view stands in for it.
        (_sgd ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, SgdArgs>(SgdKernel))(
            Grid1D(n), F(p), F(g), F(buf ?? p), n, args);
    }

    /// <inheritdoc />
    public void AdamStep(Storage p, Storage g, Storage m, Storage v, int n, float lr, float beta1, float beta2, float eps,
        float weightDecay, long step)
    {
        var k = AdamScalars.Of(lr, beta1, beta2, step);
        if (n == 0) return;
        var args = new AdamArgs
        {
            Beta2 = beta2, Eps = eps, WeightDecay = weightDecay,
            OneMinusBeta1 = k.OneMinusBeta1, OneMinusBeta2 = k.OneMinusBeta2, StepSize = k.StepSize, BiasCorrection2Sqrt = k.BiasCorrection2Sqrt,
        };
        (_adam ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamArgs>(AdamKernel))(
            Grid1D(n), F(p), F(g), F(m), F(v), n, args);
    }
}
