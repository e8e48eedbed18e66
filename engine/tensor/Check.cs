namespace ScratchNet;

/// <summary>
/// Argument checks shared by every op. Each failure throws an ArgumentException whose message names the op
/// and the offending shapes or values, before anything reaches a kernel.
/// </summary>
public static class Check
{
    /// <summary>A shape as torch prints its sizes: "[2, 3, 4]" ("[]" for rank 0); for error messages.</summary>
    public static string Fmt(int[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>A copy of <paramref name="shape"/>; ArgumentException "{op}: sizes must be positive" if a size is ≤ 0.</summary>
    public static int[] Shape(string op, int[] shape)
    {
        foreach (int d in shape)
            if (d <= 0) throw new ArgumentException($"{op}: sizes must be positive, got shape {Fmt(shape)}");
        return (int[])shape.Clone();
    }

    /// <summary><paramref name="value"/> itself; ArgumentException "{op}: {name} must be positive" if it is ≤ 0.</summary>
    public static int Positive(string op, string name, int value)
    {
        if (value <= 0) throw new ArgumentException($"{op}: {name} must be positive, got {value}");
        return value;
    }

    /// <summary><paramref name="value"/> itself; ArgumentException "{op}: {name} must be >= 0" if it is negative.</summary>
    public static int NonNegative(string op, string name, int value)
    {
        if (value < 0) throw new ArgumentException($"{op}: {name} must be >= 0, got {value}");
        return value;
    }

    /// <summary>Every non-null tensor is alive (ObjectDisposedException otherwise) and on one device; an ArgumentException lists
    /// each tensor's shape and device if not.</summary>
    public static void SameDevice(string op, params Tensor?[] tensors)
    {
        Device? d = null;
        foreach (var t in tensors)
        {
            if (t is null) continue;
            t.Storage.ThrowIfDisposed(op);
            if (d is null) d = t.Device;
            else if (t.Device != d)
                throw new ArgumentException($"{op}: tensors are on different devices ({string.Join(", ", tensors.Where(x => x is not null).Select(x => $"{x!.ShapeString} on {x.Device}"))}); move them with To(device)");
        }
    }

    /// <summary>ArgumentException naming the op and both shapes unless <paramref name="a"/> and <paramref name="b"/> have the same shape (no broadcasting).</summary>
    public static void SameShape(string op, Tensor a, Tensor b)
    {
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ArgumentException($"{op}: shapes {a.ShapeString} and {b.ShapeString} must be equal");
    }

    /// <summary>ArgumentException "{op}: {name} must have {rank} dimensions" unless <paramref name="t"/> has that rank.</summary>
    public static void Rank(string op, string name, Tensor t, int rank)
    {
        if (t.Dim != rank)
            throw new ArgumentException($"{op}: {name} must have {rank} dimensions, got shape {t.ShapeString}");
    }

    /// <summary>ArgumentException naming the op, the dtype and the shape unless <paramref name="t"/> is Float32.</summary>
    public static void Float(string op, Tensor t)
    {
        if (t.DType != Kernels.DType.Float32) throw new ArgumentException($"{op}: expected a Float32 tensor, got {t.DType} {t.ShapeString}");
    }

    /// <summary>A dimension in [−rank, rank) as an index in [0, rank) (negative dims count from the end, as PyTorch); a rank-0
    /// tensor takes 0 and −1. <paramref name="extra"/> = 1 for ops that insert a dimension (unsqueeze, stack: [−rank−1, rank]).</summary>
    public static int Dim(string op, int[] shape, int dim, int extra = 0)
    {
        int rank = Math.Max(shape.Length + extra, 1);
        if (dim < -rank || dim >= rank)
            throw new ArgumentException($"{op}: dim {dim} is out of range for shape {Fmt(shape)} (expected a dim in [{-rank}, {rank - 1}])");
        return dim < 0 ? dim + rank : dim;
    }

    /// <summary>The broadcast shape of the operands (NumPy's rule), or an ArgumentException naming the op, the shapes and the dim that clash.</summary>
    public static int[] Broadcast(string op, params Tensor[] tensors)
    {
        var shapes = tensors.Select(t => t.Shape).ToArray();
        var r = Kernels.StridedLayout.BroadcastShape(shapes);
        if (r is not null) return r;
        int rank = shapes.Max(s => s.Length);
        for (int k = 0; k < rank; k++)
        {
            var sizes = shapes.Select(s => k - (rank - s.Length) is var j and >= 0 ? s[j] : 1).Where(v => v != 1).Distinct().ToArray();
            if (sizes.Length > 1)
                throw new ArgumentException($"{op}: shapes {string.Join(" and ", shapes.Select(Fmt))} cannot be broadcast: sizes {string.Join(" and ", sizes)} at dim {k - rank} (dims align at the last one; each pair must be equal or 1)");
        }
        throw new ArgumentException($"{op}: shapes {string.Join(" and ", shapes.Select(Fmt))} cannot be broadcast");
    }
}
