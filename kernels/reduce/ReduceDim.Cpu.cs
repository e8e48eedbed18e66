namespace ScratchNet.Kernels;

// Reductions and softmax along a dimension on the cpu device: the plain loops of ReduceDim.Reference.cs when its options say
// Reference, else the vector code of ReduceDim.Cpu.Simd.cs for sum (and its backward) and max/min (var and softmax
// run the reference loops on every path: see ReduceDim.cs).
public sealed partial class CpuBackend
{
    public void ReduceDim(DimReduction op, Storage x, Storage y, Storage? aux, int outer, int dim, int inner, float scale)
    {
        if (outer * inner == 0) return;
        if (IsReference || op == DimReduction.Var) Reference.ReduceDim(op, F(x), F(y), aux, outer, dim, inner, scale);
        else if (op == DimReduction.Sum) ReduceDimSimd.Sum(Path, F(x), F(y), outer, dim, inner, scale, accumulate: false);
        else ReduceDimSimd.Extreme(Path, F(x), F(y), I(aux!), outer, dim, inner, op == DimReduction.Max);
    }

    public void ReduceDimBackward(DimReduction op, Storage x, Storage? aux, Storage dy, Storage dx, int outer, int dim, int inner, float scale)
    {
        if (outer * dim * inner == 0) return;
        if (IsReference || op != DimReduction.Sum) Reference.ReduceDimBackward(op, F(x), aux, F(dy), F(dx), outer, dim, inner, scale);
        else ReduceDimSimd.SumBackward(Path, F(dy), F(dx), outer, dim, inner, scale);
    }

    public void SoftmaxDim(Storage x, Storage y, int outer, int dim, int inner, bool log) =>
        Reference.SoftmaxDim(F(x), F(y), outer, dim, inner, log);

    public void SoftmaxDimBackward(Storage y, Storage dy, Storage dx, int outer, int dim, int inner, bool log) =>
        Reference.SoftmaxDimBackward(F(y), F(dy), F(dx), outer, dim, inner, log);
}
