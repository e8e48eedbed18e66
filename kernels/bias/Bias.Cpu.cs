namespace ScratchNet.Kernels;

// The bias kernels of the cpu device: the plain loops of Bias.Reference.cs when its options say Reference,
// else the vector code of Bias.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void BiasAdd(Storage y, Storage bias, int outer, int channels, int inner)
    {
        BiasChecks.Validate("bias_add", y, bias, outer, channels, inner);
        if (IsReference) Reference.BiasAdd(F(y), F(bias), outer, channels, inner); else BiasSimd.Add(Path, F(y), F(bias), outer, channels, inner);
    }

    /// <inheritdoc />
    public void BiasBackward(Storage dy, Storage dbias, int outer, int channels, int inner)
    {
        BiasChecks.Validate("bias_backward", dy, dbias, outer, channels, inner);
        if (IsReference) Reference.BiasBackward(F(dy), F(dbias), outer, channels, inner); else BiasSimd.Backward(Path, F(dy), F(dbias), outer, channels, inner);
    }
}
