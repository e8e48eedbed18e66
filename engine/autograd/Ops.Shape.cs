using ScratchNet.Kernels;

namespace ScratchNet;

// Shape ops in PyTorch's names. Forward first, backward right below; every backward ACCUMULATES. Kernels: kernels/shape/
// (Shape.cs: the strided copy and what each op's strides are). Tensors are contiguous: view, flatten, squeeze and unsqueeze
// share the storage (F.Reshape, Ops.Basic.cs); transpose, permute, expand, narrow, cat, stack and index_select materialise
// their output with one strided copy (a kernel of kernels/shape/). Dims may be negative (counted from the end).
public static partial class F
{
    /// <summary>torch.Tensor.view: <see cref="Reshape"/> (every tensor is contiguous, so a view always exists).</summary>
    public static Tensor View(Tensor x, params int[] shape) => Reshape(x, shape);

    /// <summary>torch.flatten(x, start, end): dims start..end merged into one (a view).</summary>
    public static Tensor Flatten(Tensor x, int startDim, int endDim = -1)
    {
        const string op = "flatten";
        if (x.Dim == 0) return Reshape(x, 1);
        int s = Check.Dim(op, x.Shape, startDim), e = Check.Dim(op, x.Shape, endDim);
        if (s > e) throw new ArgumentException($"{op}: start dim {startDim} comes after end dim {endDim} for shape {x.ShapeString}");
        return Reshape(x, [.. x.Shape.Take(s), x.Shape[s..(e + 1)].Aggregate(1, (p, v) => p * v), .. x.Shape.Skip(e + 1)]);
    }

    /// <summary>torch.squeeze(x): every size-1 dimension removed (a view).</summary>
    public static Tensor Squeeze(Tensor x) => Reshape(x, [.. x.Shape.Where(v => v != 1)]);

    /// <summary>torch.squeeze(x, dim): that dimension removed if its size is 1, else x unchanged (a view).</summary>
    public static Tensor Squeeze(Tensor x, int dim)
    {
        if (x.Dim == 0) { Check.Dim("squeeze", x.Shape, dim); return x; }
        int k = Check.Dim("squeeze", x.Shape, dim);
        return x.Shape[k] != 1 ? x : Reshape(x, [.. x.Shape.Take(k), .. x.Shape.Skip(k + 1)]);
    }

    /// <summary>torch.unsqueeze(x, dim): a size-1 dimension inserted at dim ∈ [−rank−1, rank] (a view).</summary>
    public static Tensor Unsqueeze(Tensor x, int dim)
    {
        int k = Check.Dim("unsqueeze", x.Shape, dim, extra: 1);
        return Reshape(x, [.. x.Shape.Take(k), 1, .. x.Shape.Skip(k)]);
    }

    /// <summary>
    /// torch.Tensor.expand(sizes): size-1 dimensions repeated to the sizes given (−1 keeps a size; new leading dimensions may be
    /// added), materialised. Backward: dx += dy summed over the expanded dimensions (SumToShape).
    /// </summary>
    public static Tensor Expand(Tensor x, params int[] sizes)
    {
        const string op = "expand";
        Check.SameDevice(op, x); Check.Float(op, x);
        if (sizes.Length < x.Dim)
            throw new ArgumentException($"{op}: the sizes {Check.Fmt(sizes)} have fewer dimensions than x {x.ShapeString}");
        var shape = new int[sizes.Length];
        for (int k = 0; k < sizes.Length; k++)
        {
            int j = k - (sizes.Length - x.Dim);
            int own = j >= 0 ? x.Shape[j] : 1;
            int want = sizes[k] == -1 && j >= 0 ? own : sizes[k];
            if (want <= 0 || (own != 1 && own != want))
                throw new ArgumentException($"{op}: cannot expand {x.ShapeString} to {Check.Fmt(sizes)}: dim {k} has size {own}, which can only become {(own == 1 ? "any positive size" : own.ToString())} (got {sizes[k]})");
            shape[k] = want;
        }
        var y = Tensor.Empty(shape, x.Device);
        var (d, s) = StridedLayout.Broadcast(op, shape, x.Shape, shape);
        x.Backend.StridedCopy(x.Storage, y.Storage, d, s[0], s[1], accumulate: false);
        return y.SetBackward(op, [x], () =>
        {
            if (x.Numel == y.Numel) x.Backend.Axpy(1f, y.Grad!.Storage, x.GradStorage(), x.Numel);
            else x.Backend.SumToShape(y.Grad!.Storage, x.GradStorage(), StridedLayout.SumToShape(op, shape, x.Shape), 1f);
        });
    }

    /// <summary>torch.transpose(x, dim0, dim1): the two dimensions swapped, materialised (Permute).</summary>
    public static Tensor Transpose(Tensor x, int dim0, int dim1)
    {
        int a = Check.Dim("transpose", x.Shape, dim0), b = Check.Dim("transpose", x.Shape, dim1);
        if (x.Dim == 0) return x;
        var p = Enumerable.Range(0, x.Dim).ToArray();
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(x, p);
    }

    /// <summary>
    /// torch.permute(x, dims): y's dimension k is x's dimension dims[k], materialised by a strided copy (x read with its strides
    /// permuted). Backward: dx += dy copied back through the inverse permutation.
    /// </summary>
    public static Tensor Permute(Tensor x, params int[] dims)
    {
        const string op = "permute";
        Check.SameDevice(op, x); Check.Float(op, x);
        if (dims.Length != x.Dim)
            throw new ArgumentException($"{op}: dims {Check.Fmt(dims)} must name each of the {x.Dim} dimensions of {x.ShapeString} once");
        var p = dims.Select(d => Check.Dim(op, x.Shape, d)).ToArray();
        if (p.Distinct().Count() != p.Length)
            throw new ArgumentException($"{op}: dims {Check.Fmt(dims)} repeat a dimension of {x.ShapeString}");
        var shape = p.Select(k => x.Shape[k]).ToArray();
        var xs = StridedLayout.ContiguousStrides(x.Shape);
        var permuted = p.Select(k => xs[k]).ToArray();
        var contiguous = StridedLayout.ContiguousStrides(shape);
        var y = Tensor.Empty(shape, x.Device);
        var (d, s) = StridedLayout.Coalesce(op, shape, [permuted, contiguous]);
        x.Backend.StridedCopy(x.Storage, y.Storage, d, s[0], s[1], accumulate: false);
        return y.SetBackward(op, [x], () =>
            x.Backend.StridedCopy(y.Grad!.Storage, x.GradStorage(), d, s[1], s[0], accumulate: true));
    }

    /// <summary>
    /// torch.narrow(x, dim, start, length): the elements start .. start + length − 1 along dim (start may be negative, from the
    /// end), materialised. Backward: dx[that slice] += dy.
    /// </summary>
    public static Tensor Narrow(Tensor x, int dim, int start, int length)
    {
        const string op = "narrow";
        Check.SameDevice(op, x); Check.Float(op, x);
        int k = Check.Dim(op, x.Shape, dim);
        if (x.Dim == 0) throw new ArgumentException($"{op}: x must have at least one dimension, got shape []");
        int size = x.Shape[k], s = start < 0 ? start + size : start;
        if (s < 0 || s > size || length < 0 || s + length > size)
            throw new ArgumentException($"{op}: start {start} and length {length} do not fit in dim {dim} of size {size} (x {x.ShapeString})");
        if (length == 0) throw new ArgumentException($"{op}: length 0 would give a size-0 dimension, which tensors do not have (x {x.ShapeString}, dim {dim})");
        var shape = (int[])x.Shape.Clone();
        shape[k] = length;
        var xs = StridedLayout.ContiguousStrides(x.Shape);
        var y = Tensor.Empty(shape, x.Device);
        var (d, st) = StridedLayout.Coalesce(op, shape, [xs, StridedLayout.ContiguousStrides(shape)], [s * xs[k], 0]);
        x.Backend.StridedCopy(x.Storage, y.Storage, d, st[0], st[1], accumulate: false);
        return y.SetBackward(op, [x], () =>
            x.Backend.StridedCopy(y.Grad!.Storage, x.GradStorage(), d, st[1], st[0], accumulate: true));
    }

    /// <summary>
    /// torch.cat(xs, dim): the tensors joined along dim (every other size equal), one strided copy per input into its slice.
    /// Backward: each input's gradient += its slice of dy.
    /// </summary>
    public static Tensor Cat(Tensor[] xs, int dim = 0)
    {
        const string op = "cat";
        if (xs.Length == 0) throw new ArgumentException($"{op}: needs at least one tensor");
        Check.SameDevice(op, xs);
        foreach (var t in xs) Check.Float(op, t);
        var first = xs[0];
        if (first.Dim == 0) throw new ArgumentException($"{op}: zero-dimensional tensor [] cannot be concatenated");
        int k = Check.Dim(op, first.Shape, dim);
        foreach (var t in xs)
            if (t.Dim != first.Dim || Enumerable.Range(0, t.Dim).Any(j => j != k && t.Shape[j] != first.Shape[j]))
                throw new ArgumentException($"{op}: shapes {string.Join(", ", xs.Select(x => x.ShapeString))} must match except in dim {dim}");
        var shape = (int[])first.Shape.Clone();
        shape[k] = xs.Sum(t => t.Shape[k]);
        var y = Tensor.Empty(shape, first.Device);
        var ys = StridedLayout.ContiguousStrides(shape);
        var plans = new (Dims6 D, Strides6 X, Strides6 Y)[xs.Length];
        int at = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            var (d, s) = StridedLayout.Coalesce(op, xs[i].Shape, [StridedLayout.ContiguousStrides(xs[i].Shape), ys], [0, at * ys[k]]);
            plans[i] = (d, s[0], s[1]);
            first.Backend.StridedCopy(xs[i].Storage, y.Storage, d, s[0], s[1], accumulate: false);
            at += xs[i].Shape[k];
        }
        return y.SetBackward(op, xs, () =>
        {
            for (int i = 0; i < xs.Length; i++)
                if (xs[i].RequiresGrad)
                    y.Backend.StridedCopy(y.Grad!.Storage, xs[i].GradStorage(), plans[i].D, plans[i].Y, plans[i].X, accumulate: true);
        });
    }

    /// <summary>torch.stack(xs, dim): the tensors (all of one shape) joined along a new dimension dim ∈ [−rank−1, rank].</summary>
    public static Tensor Stack(Tensor[] xs, int dim = 0)
    {
        if (xs.Length == 0) throw new ArgumentException("stack: needs at least one tensor");
        foreach (var t in xs)
            if (!t.Shape.SequenceEqual(xs[0].Shape))
                throw new ArgumentException($"stack: every tensor must have the same shape, got {string.Join(", ", xs.Select(x => x.ShapeString))}");
        int k = Check.Dim("stack", xs[0].Shape, dim, extra: 1);
        return Cat([.. xs.Select(t => Unsqueeze(t, k))], k);
    }

    /// <summary>
    /// torch.index_select(x, dim, index): the slices index[0], index[1], ... of x along dim (index: Int32, 1-D or one element;
    /// repeats allowed). The indices are read back to check them (an ArgumentException names the bad one), which waits for the
    /// device. Backward: dx[.., index[j], ..] += dy[.., j, ..], repeated indices adding up (index_add).
    /// </summary>
    public static Tensor IndexSelect(Tensor x, int dim, Tensor index)
    {
        const string op = "index_select";
        Check.SameDevice(op, x, index); Check.Float(op, x);
        if (index.DType != DType.Int32 || index.Dim > 1)
            throw new ArgumentException($"{op}: index must be a 1-D Int32 tensor (Tensor.Labels), got {index.DType} {index.ShapeString}");
        int k = Check.Dim(op, x.Shape, dim);
        var (outer, dimIn, inner) = View3(x.Shape, k);
        var host = index.ToIntArray();
        for (int j = 0; j < host.Length; j++)
            if (host[j] < 0 || host[j] >= dimIn)
                throw new ArgumentException($"{op}: index[{j}] = {host[j]} is out of range for dim {dim} of size {dimIn} (x {x.ShapeString})");
        int count = host.Length;
        var shape = x.Dim == 0 ? [] : (int[])x.Shape.Clone();
        if (x.Dim > 0) shape[k] = count;
        var y = Tensor.Empty(shape, x.Device);
        x.Backend.IndexSelect(x.Storage, index.Storage, y.Storage, outer, dimIn, count, inner);
        return y.SetBackward(op, [x], () =>
            x.Backend.IndexSelectBackward(index.Storage, y.Grad!.Storage, x.GradStorage(), outer, dimIn, count, inner));
    }

    /// <summary>torch.index_select with the indices given on the host.</summary>
    public static Tensor IndexSelect(Tensor x, int dim, params int[] index) => IndexSelect(x, dim, Tensor.Labels(index, x.Device));
}

public sealed partial class Tensor
{
    /// <summary>F.View(this, shape), as torch.Tensor.view (every tensor is contiguous, so it is Reshape).</summary>
    public Tensor View(params int[] shape) => F.View(this, shape);
    /// <summary>F.Flatten(this, startDim, endDim), as torch.Tensor.flatten: dims startDim..endDim merged (a view).</summary>
    public Tensor Flatten(int startDim, int endDim = -1) => F.Flatten(this, startDim, endDim);
    /// <summary>F.Squeeze(this), as torch.Tensor.squeeze(): every size-1 dimension removed (a view).</summary>
    public Tensor Squeeze() => F.Squeeze(this);
    /// <summary>F.Squeeze(this, dim), as torch.Tensor.squeeze(dim): that dimension removed if its size is 1 (a view).</summary>
    public Tensor Squeeze(int dim) => F.Squeeze(this, dim);
    /// <summary>F.Unsqueeze(this, dim), as torch.Tensor.unsqueeze: a size-1 dimension inserted at dim (a view).</summary>
    public Tensor Unsqueeze(int dim) => F.Unsqueeze(this, dim);
    /// <summary>F.Expand(this, sizes), as torch.Tensor.expand: size-1 dimensions repeated to sizes (−1 keeps one), materialised.</summary>
    public Tensor Expand(params int[] sizes) => F.Expand(this, sizes);
    /// <summary>F.Transpose(this, dim0, dim1), as torch.Tensor.transpose: the two dimensions swapped, materialised.</summary>
    public Tensor Transpose(int dim0, int dim1) => F.Transpose(this, dim0, dim1);
    /// <summary>F.Permute(this, dims), as torch.Tensor.permute: dimension k of the result is dimension dims[k], materialised.</summary>
    public Tensor Permute(params int[] dims) => F.Permute(this, dims);
    /// <summary>F.Narrow(this, dim, start, length), as torch.Tensor.narrow: length elements from start along dim, materialised.</summary>
    public Tensor Narrow(int dim, int start, int length) => F.Narrow(this, dim, start, length);
    /// <summary>F.IndexSelect(this, dim, index), as torch.Tensor.index_select: the slices along dim at the Int32 indices.</summary>
    public Tensor IndexSelect(int dim, Tensor index) => F.IndexSelect(this, dim, index);
    /// <summary>F.IndexSelect(this, dim, index), as torch.Tensor.index_select with the indices given on the host.</summary>
    public Tensor IndexSelect(int dim, params int[] index) => F.IndexSelect(this, dim, index);
    /// <summary>F.MatMul(this, other), as torch.matmul: [M, K]·[K, N] → [M, N]; 1-D operands and batched stacks by torch's rules.</summary>
    public Tensor MatMul(Tensor other) => F.MatMul(this, other);
}
