namespace ScratchNet.Kernels;

// The broadcast family's definition: one loop over the output elements, each reading its operands at
// StridedLayout.Offset (Broadcast.cs) and applying BroadcastMath's formula. Output elements are independent, so the loops
// run in chunks of 16K in parallel; SumToShape runs one output element per iteration, summing its reduced coordinates in
// order, in double. The oracle of the tests and `scratchnet check`; the cpu device runs it with --kernels reference.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.Binary"/>: Y[i] = <see cref="BroadcastMath.Binary"/>(op, A[offset(a, i)],
    /// B[offset(b, i)]) for i &lt; d.N, offsets from <see cref="StridedLayout.Offset"/>, in parallel chunks of 16K elements.</summary>
    public static void Binary(BinaryOp op, float[] A, float[] B, float[] Y, Dims6 d, Strides6 sa, Strides6 sb)
    {
        int o = (int)op;
        CpuBackend.ForChunks(d.N, (s, e) =>
        {
            for (int i = s; i < e; i++)
                Y[i] = BroadcastMath.Binary(o, A[StridedLayout.Offset(i, d, sa)], B[StridedLayout.Offset(i, d, sb)]);
        });
    }

    /// <summary>The definition of <see cref="IBackend.BinaryGrad"/>: g = <see cref="BroadcastMath.BinaryGrad"/>(op, which,
    /// A[offset(a, i)], B[offset(b, i)], Y[i], DY[i]) for i &lt; d.N, then G[i] = g, or G[i] += g when
    /// <paramref name="accumulate"/>.</summary>
    public static void BinaryGrad(BinaryOp op, int which, float[] A, float[] B, float[] Y, float[] DY, float[] G, Dims6 d, Strides6 sa, Strides6 sb, bool accumulate)
    {
        int o = (int)op;
        CpuBackend.ForChunks(d.N, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float g = BroadcastMath.BinaryGrad(o, which, A[StridedLayout.Offset(i, d, sa)], B[StridedLayout.Offset(i, d, sb)], Y[i], DY[i]);
                G[i] = accumulate ? G[i] + g : g;
            }
        });
    }

    /// <summary>The definition of <see cref="IBackend.Unary"/>: Y[i] = <see cref="BroadcastMath.Unary"/>(op, X[i], p, q) for
    /// i &lt; n.</summary>
    public static void Unary(UnaryOp op, float p, float q, float[] X, float[] Y, int n)
    {
        int o = (int)op;
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = BroadcastMath.Unary(o, X[i], p, q); });
    }

    /// <summary>The definition of <see cref="IBackend.UnaryBackward"/>: DX[i] += <see cref="BroadcastMath.UnaryGrad"/>(op, X[i],
    /// Y[i], DY[i], p, q) for i &lt; n (accumulates).</summary>
    public static void UnaryBackward(UnaryOp op, float p, float q, float[] X, float[] Y, float[] DY, float[] DX, int n)
    {
        int o = (int)op;
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) DX[i] += BroadcastMath.UnaryGrad(o, X[i], Y[i], DY[i], p, q); });
    }

    /// <summary>The definition of <see cref="IBackend.Where"/>: Y[i] = C[offset(c, i)] ≠ 0 ? A[offset(a, i)] : B[offset(b, i)]
    /// for i &lt; d.N (a NaN condition selects A).</summary>
    public static void Where(float[] C, float[] A, float[] B, float[] Y, Dims6 d, Strides6 sc, Strides6 sa, Strides6 sb)
    {
        CpuBackend.ForChunks(d.N, (s, e) =>
        {
            for (int i = s; i < e; i++)
                Y[i] = C[StridedLayout.Offset(i, d, sc)] != 0f ? A[StridedLayout.Offset(i, d, sa)] : B[StridedLayout.Offset(i, d, sb)];
        });
    }

    /// <summary>y[j] += alpha·Σ_r x[kept offset of j + reduced offset of r], each sum in double in the order of r.</summary>
    public static void SumToShape(float[] X, float[] Y, ReducePlan r, float alpha)
    {
        int reduced = r.Reduced.N;
        CpuBackend.For(r.Kept.N, j =>
        {
            int baseOffset = StridedLayout.Offset(j, r.Kept, r.KeptStrides);
            double s = 0;
            for (int k = 0; k < reduced; k++) s += X[baseOffset + StridedLayout.Offset(k, r.Reduced, r.ReducedStrides)];
            Y[j] += alpha * (float)s;
        }, reduced);
    }
}
