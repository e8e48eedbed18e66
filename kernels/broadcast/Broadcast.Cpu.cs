namespace ScratchNet.Kernels;

// The broadcast family on the cpu device: the plain loops of Broadcast.Reference.cs when its options say Reference, else the
// vector code of Broadcast.Cpu.Simd.cs for the ops that have a vector form; SumToShape of an [outer, dim, inner] layout runs
// the reduce family's vector sum (ReduceDim.Cpu.Simd.cs), other layouts the reference loops. Where and BinaryGrad run the
// reference loops on every path (they are backward-only or rare; the bench shows the forward ops).
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Binary(BinaryOp op, Storage a, Storage b, Storage y, Dims6 d, Strides6 sa, Strides6 sb)
    {
        if (IsReference || !BroadcastSimd.IsVectorBinary(op)) Reference.Binary(op, F(a), F(b), F(y), d, sa, sb);
        else BroadcastSimd.Binary(Path, op, F(a), F(b), F(y), d, sa, sb);
    }

    /// <inheritdoc />
    public void BinaryGrad(BinaryOp op, int which, Storage a, Storage b, Storage y, Storage dy, Storage g, Dims6 d, Strides6 sa, Strides6 sb, bool accumulate) =>
        Reference.BinaryGrad(op, which, F(a), F(b), F(y), F(dy), F(g), d, sa, sb, accumulate);

    /// <inheritdoc />
    public void Unary(UnaryOp op, float p, float q, Storage x, Storage y, int n)
    {
        if (IsReference || !BroadcastSimd.IsVectorUnary(op)) Reference.Unary(op, p, q, F(x), F(y), n);
        else BroadcastSimd.Unary(Path, op, p, q, F(x), F(y), n);
    }

    /// <inheritdoc />
    public void UnaryBackward(UnaryOp op, float p, float q, Storage x, Storage y, Storage dy, Storage dx, int n)
    {
        if (IsReference || !BroadcastSimd.IsVectorUnaryGrad(op)) Reference.UnaryBackward(op, p, q, F(x), F(y), F(dy), F(dx), n);
        else BroadcastSimd.UnaryBackward(Path, op, p, q, F(x), F(y), F(dy), F(dx), n);
    }

    /// <inheritdoc />
    public void Where(Storage c, Storage a, Storage b, Storage y, Dims6 d, Strides6 sc, Strides6 sa, Strides6 sb) =>
        Reference.Where(F(c), F(a), F(b), F(y), d, sc, sa, sb);

    /// <inheritdoc />
    public void SumToShape(Storage x, Storage y, ReducePlan r, float alpha)
    {
        if (r.Kept.N == 0) return;
        if (IsReference || !r.IsOuterDimInner) Reference.SumToShape(F(x), F(y), r, alpha);
        else ReduceDimSimd.Sum(Path, F(x), F(y), r.Outer, r.Dim, r.Inner, alpha, accumulate: true);
    }
}
