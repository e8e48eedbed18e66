namespace ScratchNet.Kernels;

// The dropout kernels of the cpu device: the plain loops of Dropout.Reference.cs when its options say Reference,
// else the vector code of Dropout.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void DropoutForward(Storage x, Storage y, Storage mask, int n, float p, ulong seed, long step)
        { if (IsReference) Reference.DropoutForward(F(x), F(y), F(mask), n, p, seed, step); else DropoutSimd.Forward(Path, F(x), F(y), F(mask), n, p, seed, step); }
}
