using ScratchNet.Kernels;

namespace ScratchNet;

// Reductions along dimensions, and softmax / log_softmax along any dimension, in PyTorch's names. Forward first, backward right
// below; every backward ACCUMULATES. Kernels: kernels/reduce/ReduceDim.cs (the [outer, dim, inner] view and every formula).
// Dims may be negative (counted from the end); keepdim keeps a reduced dimension as size 1, else it is dropped (a 1-D tensor
// reduced along its only dimension gives shape [], a one-element rank-0 tensor, as torch). The whole-tensor F.Sum, F.Mean and
// the row-wise F.Argmax and F.Softmax of Ops.Reduce.cs / Ops.Loss.cs are unchanged.
public static partial class F
{
    /// <summary>[outer, dim, inner] of x reduced along (normalised) dimension k.</summary>
    static (int Outer, int Dim, int Inner) View3(int[] shape, int k)
    {
        int outer = 1, inner = 1;
        for (int j = 0; j < k; j++) outer *= shape[j];
        for (int j = k + 1; j < shape.Length; j++) inner *= shape[j];
        return (outer, shape.Length == 0 ? 1 : shape[k], inner);
    }

    /// <summary>The shape of x reduced along k: size 1 there with keepdim, else without that dimension.</summary>
    static int[] ReducedShape(int[] shape, int k, bool keepdim)
    {
        if (shape.Length == 0) return [];
        if (keepdim) { var s = (int[])shape.Clone(); s[k] = 1; return s; }
        return [.. shape.Take(k), .. shape.Skip(k + 1)];
    }

    /// <summary>torch.sum(x, dim, keepdim).  dx[o, d, i] += dy[o, i].</summary>
    public static Tensor Sum(Tensor x, int dim, bool keepdim = false) => SumAlong("sum", x, dim, keepdim, mean: false);

    /// <summary>torch.sum(x, dims, keepdim): summed along each of dims (one after the other, from the last).</summary>
    public static Tensor Sum(Tensor x, int[] dims, bool keepdim = false) => AlongDims("sum", x, dims, keepdim, (t, k) => SumAlong("sum", t, k, true, mean: false));

    /// <summary>torch.mean(x, dim, keepdim).  dx[o, d, i] += dy[o, i] / dim.</summary>
    public static Tensor Mean(Tensor x, int dim, bool keepdim = false) => SumAlong("mean", x, dim, keepdim, mean: true);

    /// <summary>torch.mean(x, dims, keepdim): the mean over all of dims (a mean of means of equal counts).</summary>
    public static Tensor Mean(Tensor x, int[] dims, bool keepdim = false) => AlongDims("mean", x, dims, keepdim, (t, k) => SumAlong("mean", t, k, true, mean: true));

    static Tensor SumAlong(string op, Tensor x, int dim, bool keepdim, bool mean)
    {
        Check.SameDevice(op, x); Check.Float(op, x);
        int k = Check.Dim(op, x.Shape, dim);
        var (outer, n, inner) = View3(x.Shape, k);
        float scale = mean ? 1f / n : 1f;
        var y = Tensor.Empty(ReducedShape(x.Shape, k, keepdim), x.Device);
        x.Backend.ReduceDim(DimReduction.Sum, x.Storage, y.Storage, null, outer, n, inner, scale);
        return y.SetBackward(op, [x], () =>
            x.Backend.ReduceDimBackward(DimReduction.Sum, x.Storage, null, y.Grad!.Storage, x.GradStorage(), outer, n, inner, scale));
    }

    /// <summary>Applies a keepdim reduction along each of dims (normalised, distinct), from the last, then drops them unless keepdim.</summary>
    static Tensor AlongDims(string op, Tensor x, int[] dims, bool keepdim, Func<Tensor, int, Tensor> reduce)
    {
        var ks = dims.Select(d => Check.Dim(op, x.Shape, d)).ToArray();
        if (ks.Distinct().Count() != ks.Length) throw new ArgumentException($"{op}: dim {Check.Fmt(dims)} repeats a dimension of {x.ShapeString}");
        var y = x;
        foreach (int k in ks.OrderByDescending(k => k)) y = reduce(y, k);
        if (keepdim || ks.Length == 0) return y;
        return Reshape(y, [.. x.Shape.Where((_, j) => !ks.Contains(j))]);
    }

    /// <summary>
    /// torch.max(x, dim, keepdim) → (values, indices): the largest value along dim and its index (Int32; the first maximum wins, a
    /// NaN beats every number as in torch). values' backward: dx[o, index, i] += dy[o, i] (the whole gradient to the chosen element).
    /// </summary>
    public static (Tensor Values, Tensor Indices) Max(Tensor x, int dim, bool keepdim = false) => Extreme("max", DimReduction.Max, x, dim, keepdim);

    /// <summary>torch.min(x, dim, keepdim) → (values, indices); the rules of <see cref="Max(Tensor, int, bool)"/>.</summary>
    public static (Tensor Values, Tensor Indices) Min(Tensor x, int dim, bool keepdim = false) => Extreme("min", DimReduction.Min, x, dim, keepdim);

    /// <summary>torch.argmax(x, dim, keepdim): Int32 indices of the first maximum along dim (no gradient).</summary>
    public static Tensor Argmax(Tensor x, int dim, bool keepdim = false)
    {
        var (values, indices) = Extreme("argmax", DimReduction.Max, x, dim, keepdim, withGrad: false);
        values.Dispose();
        return indices;
    }

    /// <summary>torch.argmin(x, dim, keepdim): Int32 indices of the first minimum along dim (no gradient).</summary>
    public static Tensor Argmin(Tensor x, int dim, bool keepdim = false)
    {
        var (values, indices) = Extreme("argmin", DimReduction.Min, x, dim, keepdim, withGrad: false);
        values.Dispose();
        return indices;
    }

    static (Tensor, Tensor) Extreme(string op, DimReduction kind, Tensor x, int dim, bool keepdim, bool withGrad = true)
    {
        Check.SameDevice(op, x); Check.Float(op, x);
        int k = Check.Dim(op, x.Shape, dim);
        var (outer, n, inner) = View3(x.Shape, k);
        var shape = ReducedShape(x.Shape, k, keepdim);
        var y = Tensor.Empty(shape, x.Device);
        var index = Tensor.Empty(shape, x.Device, DType.Int32);
        x.Backend.ReduceDim(kind, x.Storage, y.Storage, index.Storage, outer, n, inner, 1f);
        if (!withGrad) return (y, index);
        return (y.SetBackward(op, [x], () =>
            x.Backend.ReduceDimBackward(kind, x.Storage, index.Storage, y.Grad!.Storage, x.GradStorage(), outer, n, inner, 1f)), index);
    }

    /// <summary>torch.var(x) over every element → [1] (as F.Sum and F.Mean); unbiased divides by n − 1, else by n.</summary>
    public static Tensor Var(Tensor x, bool unbiased = true) => Var(Reshape(x, x.Numel), 0, unbiased, keepdim: true);

    /// <summary>torch.var(x, dim, unbiased, keepdim).  dx += dy·2·(x − mean) / (n − correction).</summary>
    public static Tensor Var(Tensor x, int dim, bool unbiased = true, bool keepdim = false) => VarAlong(x, dim, unbiased ? 1 : 0, keepdim);

    /// <summary>
    /// torch.var(x, dims, correction=c, keepdim): Σ (x − mean)² / (n − c) over the elements of dims (n their count; c = 1 is the
    /// unbiased estimate, 0 the population variance; n ≤ c gives NaN or ∞ as torch). Several dims are permuted to the end and
    /// flattened into one.
    /// </summary>
    public static Tensor Var(Tensor x, int[] dims, int correction = 1, bool keepdim = false)
    {
        const string op = "var";
        var ks = dims.Select(d => Check.Dim(op, x.Shape, d)).Distinct().Order().ToArray();
        if (ks.Length != dims.Length) throw new ArgumentException($"var: dim {Check.Fmt(dims)} repeats a dimension of {x.ShapeString}");
        if (ks.Length == 1) return VarAlong(x, ks[0], correction, keepdim);
        var kept = Enumerable.Range(0, x.Dim).Where(j => !ks.Contains(j)).ToArray();
        var moved = Permute(x, [.. kept, .. ks]);
        var flat = Reshape(moved, [.. kept.Select(j => x.Shape[j]), -1]);
        var v = VarAlong(flat, -1, correction, keepdim: false);
        return Reshape(v, keepdim ? [.. x.Shape.Select((s, j) => ks.Contains(j) ? 1 : s)] : [.. kept.Select(j => x.Shape[j])]);
    }

    static Tensor VarAlong(Tensor x, int dim, int correction, bool keepdim)
    {
        const string op = "var";
        Check.SameDevice(op, x); Check.Float(op, x);
        int k = Check.Dim(op, x.Shape, dim);
        var (outer, n, inner) = View3(x.Shape, k);
        float scale = 1f / Math.Max(0, n - correction);
        var y = Tensor.Empty(ReducedShape(x.Shape, k, keepdim), x.Device);
        bool grad = Tensor.NeedsGrad(x);
        var mean = grad ? Tensor.Empty([outer * inner], x.Device) : null;
        x.Backend.ReduceDim(DimReduction.Var, x.Storage, y.Storage, mean?.Storage, outer, n, inner, scale);
        return y.SetBackward(op, [x], () =>
            x.Backend.ReduceDimBackward(DimReduction.Var, x.Storage, mean!.Storage, y.Grad!.Storage, x.GradStorage(), outer, n, inner, scale));
    }

    /// <summary>torch.softmax(x, dim): exp(x − max) / Σ exp(x − max) along dim (numerically stable).
    /// dx += y ⊙ (dy − Σ_dim dy ⊙ y).</summary>
    public static Tensor Softmax(Tensor x, int dim) => SoftmaxAlong("softmax", x, dim, log: false);

    /// <summary>torch.log_softmax(x, dim): (x − max) − log Σ exp(x − max) along dim (finite for any finite x).
    /// dx += dy − exp(y) ⊙ Σ_dim dy.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => SoftmaxAlong("log_softmax", x, dim, log: true);

    static Tensor SoftmaxAlong(string op, Tensor x, int dim, bool log)
    {
        Check.SameDevice(op, x); Check.Float(op, x);
        int k = Check.Dim(op, x.Shape, dim);
        var (outer, n, inner) = View3(x.Shape, k);
        var y = Tensor.Empty(x.Shape, x.Device);
        x.Backend.SoftmaxDim(x.Storage, y.Storage, outer, n, inner, log);
        return y.SetBackward(op, [x], () =>
            x.Backend.SoftmaxDimBackward(y.Storage, y.Grad!.Storage, x.GradStorage(), outer, n, inner, log));
    }
}

public sealed partial class Tensor
{
    /// <summary>F.Sum(this, dim, keepdim), as torch.Tensor.sum(dim, keepdim).</summary>
    public Tensor Sum(int dim, bool keepdim = false) => F.Sum(this, dim, keepdim);
    /// <summary>F.Sum(this, dims, keepdim), as torch.Tensor.sum over several dims.</summary>
    public Tensor Sum(int[] dims, bool keepdim = false) => F.Sum(this, dims, keepdim);
    /// <summary>F.Mean(this, dim, keepdim), as torch.Tensor.mean(dim, keepdim).</summary>
    public Tensor Mean(int dim, bool keepdim = false) => F.Mean(this, dim, keepdim);
    /// <summary>F.Mean(this, dims, keepdim), as torch.Tensor.mean over several dims.</summary>
    public Tensor Mean(int[] dims, bool keepdim = false) => F.Mean(this, dims, keepdim);
    /// <summary>F.Max(this, dim, keepdim), as torch.Tensor.max(dim): the values and their Int32 indices (the first maximum).</summary>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepdim = false) => F.Max(this, dim, keepdim);
    /// <summary>F.Min(this, dim, keepdim), as torch.Tensor.min(dim): the values and their Int32 indices (the first minimum).</summary>
    public (Tensor Values, Tensor Indices) Min(int dim, bool keepdim = false) => F.Min(this, dim, keepdim);
    /// <summary>F.Argmax(this, dim, keepdim), as torch.Tensor.argmax: Int32 indices, no gradient.</summary>
    public Tensor Argmax(int dim, bool keepdim = false) => F.Argmax(this, dim, keepdim);
    /// <summary>F.Argmin(this, dim, keepdim), as torch.Tensor.argmin: Int32 indices, no gradient.</summary>
    public Tensor Argmin(int dim, bool keepdim = false) => F.Argmin(this, dim, keepdim);
    /// <summary>F.Var(this, dim, unbiased, keepdim), as torch.Tensor.var: divides by n − 1 when unbiased, else by n.</summary>
    public Tensor Var(int dim, bool unbiased = true, bool keepdim = false) => F.Var(this, dim, unbiased, keepdim);
    /// <summary>F.Softmax(this, dim), as torch.Tensor.softmax: e^x / Σ e^x along dim.</summary>
    public Tensor Softmax(int dim) => F.Softmax(this, dim);
    /// <summary>F.LogSoftmax(this, dim), as torch.Tensor.log_softmax: x − log Σ e^x along dim.</summary>
    public Tensor LogSoftmax(int dim) => F.LogSoftmax(this, dim);
}
