namespace ScratchNet.Kernels;

// The pool kernels of the cpu device: the plain loops of Pool.Reference.cs when its options say Reference,
// else the vector code of Pool.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    public void MaxPool2dForward(Storage x, Storage y, Storage argmax, PoolGeometry g)
        { if (IsReference) Reference.MaxPool2dForward(F(x), F(y), I(argmax), g); else PoolSimd.Forward(Path, F(x), F(y), I(argmax), g); }

    public void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, PoolGeometry g)
        { if (IsReference) Reference.MaxPool2dBackward(F(dy), I(argmax), F(dx), g); else PoolSimd.Backward(Path, F(dy), I(argmax), F(dx), g); }
}
