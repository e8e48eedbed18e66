using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// The broadcast family as ILGPU kernels: grid-stride loops over the output elements (thread t handles i = t, t + T, ...), the
// formulas of BroadcastMath (Broadcast.cs), and each operand read at StridedLayout.Offset(i): a loop over the merged
// dimensions, innermost first, with one division and one modulo per dimension (the dims and strides are kernel arguments,
// structs of ints read through a switch). A same-shape operand (rank 1, stride 1) skips the loop: BroadcastOffset checks it
// first, a test that is the same for every thread of the launch.
//
// SumToShape: an [outer, dim, inner] plan runs the reduce family's lanes kernel (ReduceDim.Ilgpu.cs) in its accumulate form;
// any other layout one thread per output element, looping over the reduced coordinates in order.
public sealed partial class IlgpuBackend
{
    static int BroadcastOffset(int i, Dims6 d, Strides6 s) =>
        d.Rank == 1 && s.T0 == 1 && s.Offset == 0 ? i : StridedLayout.Offset(i, d, s);

    static void BroadcastBinaryKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, Dims6 d, Strides6 sa, Strides6 sb, int op)
    {
        for (int i = Grid.GlobalIndex.X; i < d.N; i += Grid.DimX * Group.DimX)
            y[i] = BroadcastMath.Binary(op, a[BroadcastOffset(i, d, sa)], b[BroadcastOffset(i, d, sb)]);
    }

    // flags: bit 0 = which (0 a, 1 b), bit 1 = accumulate
    static void BroadcastBinaryGradKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> g,
        Dims6 d, Strides6 sa, Strides6 sb, int op, int flags)
    {
        int which = flags & 1;
        for (int i = Grid.GlobalIndex.X; i < d.N; i += Grid.DimX * Group.DimX)
        {
            float v = BroadcastMath.BinaryGrad(op, which, a[BroadcastOffset(i, d, sa)], b[BroadcastOffset(i, d, sb)], y[i], dy[i]);
            g[i] = (flags & 2) != 0 ? g[i] + v : v;
        }
    }

    static void BroadcastUnaryKernel(ArrayView<float> x, ArrayView<float> y, int n, int op, float p, float q)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            y[i] = BroadcastMath.Unary(op, x[i], p, q);
    }

    static void BroadcastUnaryGradKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, int op, float p, float q)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            dx[i] += BroadcastMath.UnaryGrad(op, x[i], y[i], dy[i], p, q);
    }

    static void BroadcastWhereKernel(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, Dims6 d, Strides6 sc, Strides6 sa, Strides6 sb)
    {
        for (int i = Grid.GlobalIndex.X; i < d.N; i += Grid.DimX * Group.DimX)
            y[i] = c[BroadcastOffset(i, d, sc)] != 0f ? a[BroadcastOffset(i, d, sa)] : b[BroadcastOffset(i, d, sb)];
    }

    static void SumToShapeKernel(ArrayView<float> x, ArrayView<float> y, Dims6 kept, Strides6 keptStrides, Dims6 reduced, Strides6 reducedStrides, float alpha)
    {
        for (int j = Grid.GlobalIndex.X; j < kept.N; j += Grid.DimX * Group.DimX)
        {
            int baseOffset = StridedLayout.Offset(j, kept, keptStrides);
            float s = 0f;
            for (int r = 0; r < reduced.N; r++) s += x[baseOffset + StridedLayout.Offset(r, reduced, reducedStrides)];
            y[j] += alpha * s;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, int>? _bBinary;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, int, int>? _bBinaryGrad;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float, float>? _bUnary;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, float>? _bUnaryGrad;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, Strides6>? _bWhere;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Dims6, Strides6, float>? _sumToShape;

    /// <inheritdoc />
    public void Binary(BinaryOp op, Storage a, Storage b, Storage y, Dims6 d, Strides6 sa, Strides6 sb)
    {
        if (d.N == 0) return;
        (_bBinary ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, int>(BroadcastBinaryKernel))(
            Grid1D(d.N), F(a), F(b), F(y), d, sa, sb, (int)op);
    }

    /// <inheritdoc />
    public void BinaryGrad(BinaryOp op, int which, Storage a, Storage b, Storage y, Storage dy, Storage g, Dims6 d, Strides6 sa, Strides6 sb, bool accumulate)
    {
        if (d.N == 0) return;
        (_bBinaryGrad ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, int, int>(BroadcastBinaryGradKernel))(
            Grid1D(d.N), F(a), F(b), F(y), F(dy), F(g), d, sa, sb, (int)op, (which & 1) | (accumulate ? 2 : 0));
    }

    /// <inheritdoc />
    public void Unary(UnaryOp op, float p, float q, Storage x, Storage y, int n)
    {
        if (n == 0) return;
        (_bUnary ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float, float>(BroadcastUnaryKernel))(
            Grid1D(n), F(x), F(y), n, (int)op, p, q);
    }

    /// <inheritdoc />
    public void UnaryBackward(UnaryOp op, float p, float q, Storage x, Storage y, Storage dy, Storage dx, int n)
    {
        if (n == 0) return;
        (_bUnaryGrad ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, float>(BroadcastUnaryGradKernel))(
            Grid1D(n), F(x), F(y), F(dy), F(dx), n, (int)op, p, q);
    }

    /// <inheritdoc />
    public void Where(Storage c, Storage a, Storage b, Storage y, Dims6 d, Strides6 sc, Strides6 sa, Strides6 sb)
    {
        if (d.N == 0) return;
        (_bWhere ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, Strides6>(BroadcastWhereKernel))(
            Grid1D(d.N), F(c), F(a), F(b), F(y), d, sc, sa, sb);
    }

    /// <inheritdoc />
    public void SumToShape(Storage x, Storage y, ReducePlan r, float alpha)
    {
        if (r.Kept.N == 0) return;
        if (r.IsOuterDimInner) { SumDimAccumulate(x, y, r.Outer, r.Dim, r.Inner, alpha); return; }
        (_sumToShape ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, Dims6, Strides6, Dims6, Strides6, float>(SumToShapeKernel))(
            Grid1D(r.Kept.N), F(x), F(y), r.Kept, r.KeptStrides, r.Reduced, r.ReducedStrides, alpha);
    }
}
