namespace ScratchNet.Kernels;

// Reductions and softmax along a dimension on the cpu device: the plain loops of ReduceDim.Reference.cs when its options say
// Reference, else the vector code of ReduceDim.Cpu.Simd.cs (sum and its backward, max/min) and ReduceDim.Cpu.Simd.Softmax.cs
// (var, softmax and log_softmax forward and backward); the backward of max/min and var runs the reference loops.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void ReduceDim(DimReduction op, Storage x, Storage y, Storage? aux, int outer, int dim, int inner, float scale)
    {
        if (outer * inner == 0) return;
        if (IsReference) Reference.ReduceDim(op, F(x), F(y), aux, outer, dim, inner, scale);
        else if (op == DimReduction.Var) ReduceDimSimd.Var(Path, F(x), F(y), aux is null ? null : F(aux), outer, dim, inner, scale);
        else if (op == DimReduction.Sum) ReduceDimSimd.Sum(Path, F(x), F(y), outer, dim, inner, scale, accumulate: false);
        else ReduceDimSimd.Extreme(Path, F(x), F(y), I(aux!), outer, dim, inner, op == DimReduction.Max);
    }

    /// <inheritdoc />
    public void ReduceDimBackward(DimReduction op, Storage x, Storage? aux, Storage dy, Storage dx, int outer, int dim, int inner, float scale)
    {
        if (outer * dim * inner == 0) return;
        if (IsReference || op != DimReduction.Sum) Reference.ReduceDimBackward(op, F(x), aux, F(dy), F(dx), outer, dim, inner, scale);
        else ReduceDimSimd.SumBackward(Path, F(dy), F(dx), outer, dim, inner, scale);
    }

    /// <inheritdoc />
    public void SoftmaxDim(Storage x, Storage y, int outer, int dim, int inner, bool log)
    {
        if (IsReference) Reference.SoftmaxDim(F(x), F(y), outer, dim, inner, log);
        else ReduceDimSimd.Softmax(Path, F(x), F(y), outer, dim, inner, log);
    }

    /// <inheritdoc />
    public void SoftmaxDimBackward(Storage y, Storage dy, Storage dx, int outer, int dim, int inner, bool log)
    {
        if (IsReference) Reference.SoftmaxDimBackward(F(y), F(dy), F(dx), outer, dim, inner, log);
        else ReduceDimSimd.SoftmaxBackward(Path, F(y), F(dy), F(dx), outer, dim, inner, log);
    }
}
