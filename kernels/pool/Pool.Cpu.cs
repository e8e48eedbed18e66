namespace ScratchNet.Kernels;

// The pool kernels of the cpu device: the plain loops of Pool.Reference.cs when its options say Reference,
// else the vector code of Pool.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    public void MaxPool2dForward(in PoolGeometry g, Storage x, Storage y, Storage argmax)
        { if (IsReference) Reference.MaxPool2dForward(g, F(x), F(y), I(argmax)); else PoolSimd.Forward(Path, g, F(x), F(y), I(argmax)); }

    public void MaxPool2dBackward(in PoolGeometry g, Storage dy, Storage argmax, Storage dx)
        { if (IsReference) Reference.MaxPool2dBackward(g, F(dy), I(argmax), F(dx)); else PoolSimd.Backward(Path, g, F(dy), I(argmax), F(dx)); }
}
