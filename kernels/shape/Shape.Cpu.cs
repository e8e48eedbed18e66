namespace ScratchNet.Kernels;

// The shape family on the cpu device: the plain loops of Shape.Reference.cs when its options say Reference, else the vector
// code of Shape.Cpu.Simd.cs.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void StridedCopy(Storage x, Storage y, Dims6 d, Strides6 sx, Strides6 sy, bool accumulate)
    {
        if (d.N == 0) return;
        if (IsReference) Reference.StridedCopy(F(x), F(y), d, sx, sy, accumulate);
        else ShapeSimd.StridedCopy(Path, F(x), F(y), d, sx, sy, accumulate);
    }

    /// <inheritdoc />
    public void IndexSelect(Storage x, Storage index, Storage y, int outer, int dimIn, int count, int inner)
    {
        if (outer * count * inner == 0) return;
        if (IsReference) Reference.IndexSelect(F(x), I(index), F(y), outer, dimIn, count, inner);
        else ShapeSimd.IndexSelect(Path, F(x), I(index), F(y), outer, dimIn, count, inner);
    }

    /// <inheritdoc />
    public void IndexSelectBackward(Storage index, Storage dy, Storage dx, int outer, int dimIn, int count, int inner)
    {
        if (outer * count * inner == 0) return;
        if (IsReference) Reference.IndexSelectBackward(I(index), F(dy), F(dx), outer, dimIn, count, inner);
        else ShapeSimd.IndexSelectBackward(Path, I(index), F(dy), F(dx), outer, dimIn, count, inner);
    }
}
