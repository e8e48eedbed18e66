namespace ScratchNet;

// Element-wise arithmetic, reductions to a scalar, and reshapes. Forward first, backward right below.
// Kernels: kernels/elementwise/.
public static partial class F
{
    /// <summary>y = a + b.  dL/da += dL/dy,  dL/db += dL/dy. Other shapes broadcast (Ops.Math.cs).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        Check.SameDevice("add", a, b); Check.Float("add", a); Check.Float("add", b);
        if (!a.Shape.SequenceEqual(b.Shape)) return BroadcastBinary("add", Kernels.BinaryOp.Add, a, b);
        var y = Tensor.Empty(a.Shape, a.Device);
        a.Backend.Add(a.Storage, b.Storage, y.Storage, y.Numel);
        return y.SetBackward("add", [a, b], () =>
        {
            if (a.RequiresGrad) a.Backend.Axpy(1f, y.Grad!.Storage, a.GradStorage(), a.Numel);
            if (b.RequiresGrad) b.Backend.Axpy(1f, y.Grad!.Storage, b.GradStorage(), b.Numel);
        });
    }

    /// <summary>y = a ⊙ b (element-wise).  dL/da += dL/dy ⊙ b,  dL/db += dL/dy ⊙ a. Other shapes broadcast (Ops.Math.cs).</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        Check.SameDevice("mul", a, b); Check.Float("mul", a); Check.Float("mul", b);
        if (!a.Shape.SequenceEqual(b.Shape)) return BroadcastBinary("mul", Kernels.BinaryOp.Mul, a, b);
        var y = Tensor.Empty(a.Shape, a.Device);
        a.Backend.Mul(a.Storage, b.Storage, y.Storage, y.Numel);
        return y.SetBackward("mul", [a, b], () =>
        {
            if (a.RequiresGrad) a.Backend.MulAcc(y.Grad!.Storage, b.Storage, a.GradStorage(), a.Numel);
            if (b.RequiresGrad) b.Backend.MulAcc(y.Grad!.Storage, a.Storage, b.GradStorage(), b.Numel);
        });
    }

    /// <summary>y = alpha · x.  dL/dx += alpha · dL/dy.</summary>
    public static Tensor Scale(Tensor x, float alpha)
    {
        Check.SameDevice("scale", x); Check.Float("scale", x);
        var y = Tensor.Empty(x.Shape, x.Device);
        x.Backend.Scale(x.Storage, alpha, y.Storage, y.Numel);
        return y.SetBackward("scale", [x], () => x.Backend.Axpy(alpha, y.Grad!.Storage, x.GradStorage(), x.Numel));
    }

    /// <summary>A view with a new shape over the same storage (-1 infers one size).  dL/dx += dL/dy (same layout).</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) known *= s[i];
            if (known <= 0 || x.Numel % known != 0)
                throw new ArgumentException($"reshape: cannot reshape {x.ShapeString} into {Check.Fmt(shape)}");
            s[infer] = x.Numel / known;
        }
        foreach (int d in s) if (d <= 0) throw new ArgumentException($"reshape: sizes must be positive, got {Check.Fmt(shape)}");
        if (Tensor.NumelOf(s) != x.Numel)
            throw new ArgumentException($"reshape: cannot reshape {x.ShapeString} ({x.Numel} elements) into {Check.Fmt(s)}");
        x.Storage.ThrowIfDisposed("reshape");
        var y = new Tensor(s, x.Device, x.DType, x.Storage);
        return y.SetBackward("reshape", [x], () => x.Backend.Axpy(1f, y.Grad!.Storage, x.GradStorage(), x.Numel));
    }

    /// <summary>[N, d1, d2, ...] → [N, d1·d2·...], as torch.flatten(x, 1).</summary>
    public static Tensor Flatten(Tensor x) => x.Dim <= 2 ? x : Reshape(x, x.Shape[0], -1);
}

public sealed partial class Tensor
{
    /// <summary>F.Add(a, b): element-wise sum, broadcasting as torch.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => F.Add(a, b);
    /// <summary>F.Mul(a, b): element-wise (Hadamard) product, broadcasting as torch; not a matrix product (<see cref="MatMul"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => F.Mul(a, b);
    /// <summary>F.Scale(a, s): every element times s.</summary>
    public static Tensor operator *(Tensor a, float s) => F.Scale(a, s);
    /// <summary>F.Scale(a, s): every element times s.</summary>
    public static Tensor operator *(float s, Tensor a) => F.Scale(a, s);
    /// <summary>F.Sub(a, b): element-wise difference, broadcasting as torch.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => F.Sub(a, b);
    /// <summary>F.Reshape(this, shape), as torch.Tensor.reshape: a view with a new shape over the same storage (−1 infers one size).</summary>
    public Tensor Reshape(params int[] shape) => F.Reshape(this, shape);
    /// <summary>F.Flatten(this): [N, d1, d2, ...] → [N, d1·d2·...], as torch.flatten(x, 1) (a view).</summary>
    public Tensor Flatten() => F.Flatten(this);
}
