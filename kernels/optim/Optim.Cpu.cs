namespace ScratchNet.Kernels;

// The optim kernels of the cpu device: the plain loops of Optim.Reference.cs when its options say Reference,
// else the vector code of Optim.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void SgdStep(Storage p, Storage g, Storage? buf, int n, float lr, float momentum, float dampening, float weightDecay,
        bool nesterov, bool firstStep)
        {
            if (IsReference) Reference.SgdStep(F(p), F(g), buf is null ? null : F(buf), n, lr, momentum, dampening, weightDecay, nesterov, firstStep);
            else OptimSimd.SgdStep(Path, F(p), F(g), buf is null ? null : F(buf), n, lr, momentum, dampening, weightDecay, nesterov, firstStep);
        }

    /// <inheritdoc />
    public void AdamStep(Storage p, Storage g, Storage m, Storage v, int n, float lr, float beta1, float beta2, float eps,
        float weightDecay, long step)
        {
            if (IsReference) Reference.AdamStep(F(p), F(g), F(m), F(v), n, lr, beta1, beta2, eps, weightDecay, step);
            else OptimSimd.AdamStep(Path, F(p), F(g), F(m), F(v), n, lr, beta1, beta2, eps, weightDecay, step);
        }
}
