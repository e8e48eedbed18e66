using ScratchNet.Kernels;

namespace ScratchNet;

// Matrix products on top of the backend GEMM (kernels/gemm/) and bias kernels (kernels/bias/).
// Forward first, backward right below; every backward ACCUMULATES (GEMM with Beta = 1).
public static partial class F
{
    /// <summary>
    /// y = x·Wᵀ + b, x [N, in], w [out, in], b [out] → y [N, out] (torch.nn.functional.linear).
    /// Backward: dx += dy·W,  dW += dyᵀ·x,  db += Σ_rows dy.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? b)
    {
        const string op = "linear";
        Check.SameDevice(op, x, w, b);
        Check.Float(op, x); Check.Float(op, w); if (b is not null) Check.Float(op, b);
        Check.Rank(op, "input", x, 2); Check.Rank(op, "weight", w, 2); if (b is not null) Check.Rank(op, "bias", b, 1);
        if (x.Shape[1] != w.Shape[1])
            throw new ArgumentException($"{op}: in_features mismatch: input {x.ShapeString} has {x.Shape[1]} features, weight {w.ShapeString} expects {w.Shape[1]}");
        if (b is not null && b.Shape[0] != w.Shape[0])
            throw new ArgumentException($"{op}: bias {b.ShapeString} does not match out_features {w.Shape[0]} of weight {w.ShapeString}");

        int n = x.Shape[0], inF = x.Shape[1], outF = w.Shape[0];
        var be = x.Backend;
        var y = Tensor.Empty([n, outF], x.Device);
        // y [N, out] = x [N, in] · (w [out, in])ᵀ: B stored [N_gemm, K] → TransB.
        be.Gemm(new GemmArgs(false, true, n, outF, inF), x.Storage, w.Storage, y.Storage);
        if (b is not null) be.BiasAdd(y.Storage, b.Storage, n, outF, 1);

        return y.SetBackward(op, [x, w, b], () =>
        {
            var dy = y.Grad!.Storage;
            // dx [N, in] += dy [N, out] · w [out, in]
            if (x.RequiresGrad) be.Gemm(new GemmArgs(false, false, n, inF, outF, 1f, 1f), dy, w.Storage, x.GradStorage());
            // dW [out, in] += (dy [N, out])ᵀ · x [N, in]: A stored [K, M] → TransA.
            if (w.RequiresGrad) be.Gemm(new GemmArgs(true, false, outF, inF, n, 1f, 1f), dy, x.Storage, w.GradStorage());
            if (b is not null && b.RequiresGrad) be.BiasBackward(dy, b.GradStorage(), n, outF, 1);
        });
    }

    /// <summary>C = A·B, A [M, K], B [K, N] → [M, N].  Backward: dA += dC·Bᵀ,  dB += Aᵀ·dC. Other ranks: torch.matmul's rules (Ops.MatMul.cs).</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        const string op = "matmul";
        Check.SameDevice(op, a, b); Check.Float(op, a); Check.Float(op, b);
        if (a.Dim != 2 || b.Dim != 2) return MatMulNd(a, b);   // 1-D and batched operands: Ops.MatMul.cs
        Check.Rank(op, "a", a, 2); Check.Rank(op, "b", b, 2);
        if (a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"{op}: inner sizes differ: a {a.ShapeString} has {a.Shape[1]} columns, b {b.ShapeString} has {b.Shape[0]} rows");

        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        var be = a.Backend;
        var c = Tensor.Empty([m, n], a.Device);
        be.Gemm(new GemmArgs(false, false, m, n, k), a.Storage, b.Storage, c.Storage);

        return c.SetBackward(op, [a, b], () =>
        {
            var dc = c.Grad!.Storage;
            // dA [M, K] += dC [M, N] · (B [K, N])ᵀ
            if (a.RequiresGrad) be.Gemm(new GemmArgs(false, true, m, k, n, 1f, 1f), dc, b.Storage, a.GradStorage());
            // dB [K, N] += (A [M, K])ᵀ · dC [M, N]
            if (b.RequiresGrad) be.Gemm(new GemmArgs(true, false, k, n, m, 1f, 1f), a.Storage, dc, b.GradStorage());
        });
    }
}
