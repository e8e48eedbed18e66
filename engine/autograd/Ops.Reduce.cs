using ScratchNet.Kernels;

namespace ScratchNet;

// Reductions. Forward first, backward right below. Kernels: kernels/reduce/ (and AddBroadcastScalar in
// kernels/elementwise/ for the backward: it reads the upstream gradient on the device).
public static partial class F
{
    /// <summary>Sum of all elements → [1].  dL/dx[i] += dL/dy.</summary>
    public static Tensor Sum(Tensor x)
    {
        Check.SameDevice("sum", x); Check.Float("sum", x);
        var y = Tensor.Empty([1], x.Device);
        x.Backend.Sum(x.Storage, y.Storage, x.Numel);
        return y.SetBackward("sum", [x], () => x.Backend.AddBroadcastScalar(y.Grad!.Storage, 1f, x.GradStorage(), x.Numel));
    }

    /// <summary>Mean of all elements → [1].  dL/dx[i] += dL/dy / n.</summary>
    public static Tensor Mean(Tensor x)
    {
        Check.SameDevice("mean", x); Check.Float("mean", x);
        int n = x.Numel;
        var y = Tensor.Empty([1], x.Device);
        x.Backend.Sum(x.Storage, y.Storage, n);
        x.Backend.Scale(y.Storage, 1f / n, y.Storage, 1);
        return y.SetBackward("mean", [x], () => x.Backend.AddBroadcastScalar(y.Grad!.Storage, 1f / n, x.GradStorage(), n));
    }

    /// <summary>Index of the largest value of each row of [N, C] → Int32 [N] (the first maximum wins; no gradient).</summary>
    public static Tensor Argmax(Tensor x)
    {
        Check.SameDevice("argmax", x); Check.Float("argmax", x); Check.Rank("argmax", "x", x, 2);
        int n = x.Shape[0], c = x.Shape[1];
        var idx = Tensor.Empty([n], x.Device, DType.Int32);
        x.Backend.ArgmaxRows(x.Storage, idx.Storage, n, c);
        return idx;
    }

    /// <summary>How many rows of logits [N, C] have their argmax equal to labels [N] (reads one int back).</summary>
    public static int CountCorrect(Tensor logits, Tensor labels)
    {
        var (n, c) = CheckLogitsAndLabels("count_correct", logits, labels);
        return logits.Backend.CountCorrect(logits.Storage, labels.Storage, n, c);
    }
}
