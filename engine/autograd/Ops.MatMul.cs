using ScratchNet.Kernels;

namespace ScratchNet;

// torch.matmul beyond two 2-D matrices, on the batched GEMM of kernels/gemm/ (GemmArgs: Batch and a stride per operand, 0 to
// reuse one matrix for every batch item). Forward first, backward right below; every backward ACCUMULATES (GEMM with Beta = 1).
//
// The rules of torch.matmul: a 1-D first operand is a row [1, K] and a 1-D second operand a column [K, 1], their extra dimension
// removed from the result (1-D · 1-D is the dot product, shape []); operands of rank ≥ 3 are stacks of matrices [..., M, K] and
// [..., K, N] whose batch dimensions broadcast (NumPy's rule), giving [batch..., M, N]. An operand whose batch is a single matrix
// is read with stride 0 (no copy); one whose batch only partly matches (a [2, 1, M, K] against [3, K, N]) is first expanded
// (F.Expand, whose backward sums the gradient back).
public static partial class F
{
    static Tensor MatMulNd(Tensor a, Tensor b)
    {
        const string op = "matmul";
        if (a.Dim == 0 || b.Dim == 0)
            throw new ArgumentException($"{op}: both operands need at least one dimension, got {a.ShapeString} and {b.ShapeString}");
        var a2 = a.Dim == 1 ? Unsqueeze(a, 0) : a;
        var b2 = b.Dim == 1 ? Unsqueeze(b, -1) : b;
        int m = a2.Size(-2), k = a2.Size(-1), kb = b2.Size(-2), n = b2.Size(-1);
        if (k != kb)
            throw new ArgumentException($"{op}: inner sizes differ: a {a.ShapeString} has {a.Shape[^1]} columns, b {b.ShapeString} has {(b.Dim == 1 ? b.Shape[0] : b.Shape[^2])} rows");
        Tensor c;
        if (a2.Dim == 2 && b2.Dim == 2) c = MatMul(a2, b2);
        else
        {
            int[] batchA = a2.Shape[..^2], batchB = b2.Shape[..^2];
            var batch = StridedLayout.BroadcastShape(batchA, batchB)
                ?? throw new ArgumentException($"{op}: batch dimensions {Check.Fmt(batchA)} of a {a.ShapeString} and {Check.Fmt(batchB)} of b {b.ShapeString} cannot be broadcast");
            int count = Tensor.NumelOf(batch);
            a2 = FullBatch(a2, batch, count, m, k);
            b2 = FullBatch(b2, batch, count, k, n);
            c = BatchedMatMul(a2, a2.Numel == m * k ? 1 : count, b2, b2.Numel == k * n ? 1 : count, count, m, k, n);
            c = Reshape(c, [.. batch, m, n]);
        }
        if (a.Dim == 1) c = Squeeze(c, -2);
        if (b.Dim == 1) c = Squeeze(c, -1);
        return c;
    }

    /// <summary>x [..., r, c] as a stack read with stride 0 (one matrix) or of `count` matrices (expanded when its batch only partly matches).</summary>
    static Tensor FullBatch(Tensor x, int[] batch, int count, int r, int c)
    {
        int mine = x.Numel / (r * c);
        if (mine == 1 || mine == count) return x;
        return Expand(x, [.. batch, r, c]);
    }

    /// <summary>
    /// C[i] = A[i]·B[i] for i &lt; count, A [countA, M, K], B [countB, K, N], countA and countB each 1 (read with stride 0) or count.
    /// Backward: dA[i] += dC[i]·B[i]ᵀ and dB[i] += A[i]ᵀ·dC[i]; a stride-0 operand gets the sum over i: for B, one GEMM over the
    /// stacked rows (Σ_i A[i]ᵀ·dC[i] = [A[0]; A[1]; ...]ᵀ·[dC[0]; dC[1]; ...]); for A, one GEMM per item, in order.
    /// </summary>
    static Tensor BatchedMatMul(Tensor a, int countA, Tensor b, int countB, int count, int m, int k, int n)
    {
        const string op = "matmul";
        var be = a.Backend;
        var c = Tensor.Empty([count, m, n], a.Device);
        int sa = countA == 1 ? 0 : m * k, sb = countB == 1 ? 0 : k * n;
        be.Gemm(new GemmArgs(false, false, m, n, k, Batch: count, StrideA: sa, StrideB: sb, StrideC: m * n), a.Storage, b.Storage, c.Storage);
        return c.SetBackward(op, [a, b], () =>
        {
            var dc = c.Grad!.Storage;
            if (a.RequiresGrad)
            {
                if (countA == count)   // dA[i] [M, K] += dC[i] [M, N] · (B[i] [K, N])ᵀ
                    be.Gemm(new GemmArgs(false, true, m, k, n, 1f, 1f, Batch: count, StrideA: m * n, StrideB: sb, StrideC: m * k), dc, b.Storage, a.GradStorage());
                else
                    for (int i = 0; i < count; i++)
                        be.Gemm(new GemmArgs(false, true, m, k, n, 1f, 1f, OffsetA: i * m * n, OffsetB: i * sb), dc, b.Storage, a.GradStorage());
            }
            if (b.RequiresGrad)
            {
                if (countB == count)   // dB[i] [K, N] += (A[i] [M, K])ᵀ · dC[i] [M, N]
                    be.Gemm(new GemmArgs(true, false, k, n, m, 1f, 1f, Batch: count, StrideA: sa, StrideB: m * n, StrideC: k * n), a.Storage, dc, b.GradStorage());
                else if (countA == count)   // dB += [A stacked [count·M, K]]ᵀ · [dC stacked [count·M, N]]
                    be.Gemm(new GemmArgs(true, false, k, n, count * m, 1f, 1f), a.Storage, dc, b.GradStorage());
                else
                    for (int i = 0; i < count; i++)
                        be.Gemm(new GemmArgs(true, false, k, n, m, 1f, 1f, OffsetB: i * m * n), a.Storage, dc, b.GradStorage());
            }
        });
    }
}
