namespace ScratchNet.Kernels;

// The activation kernels of the cpu device: the plain loops of Activation.Reference.cs when its options say Reference,
// else the vector code of Activation.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, Storage x, Storage y, int n, float alpha = 0f)
        { if (IsReference) Reference.ActivationForward(kind, F(x), F(y), n, alpha); else ActivationSimd.Forward(Path, kind, F(x), F(y), n, alpha); }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha = 0f)
        { if (IsReference) Reference.ActivationBackward(kind, F(x), F(y), F(dy), F(dx), n, alpha); else ActivationSimd.Backward(Path, kind, F(x), F(y), F(dy), F(dx), n, alpha); }
}
