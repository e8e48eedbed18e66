using ScratchNet.Kernels;

namespace ScratchNet;

// Softmax and cross-entropy. Forward first, backward right below. Kernels: kernels/loss/.
public static partial class F
{
    /// <summary>
    /// Mean over the batch of −log softmax(logits)[label]; logits [N, C], labels Int32 [N] → scalar [1]
    /// (torch.nn.functional.cross_entropy with reduction='mean'). Computed with the log-sum-exp trick, so
    /// large logits stay finite. A label outside [0, C) is not checked on the host (that would wait for the
    /// device): it makes the loss NaN.
    /// dL/dlogits[r, j] += (softmax(logits)[r, j] − [j == label_r]) · dL/dy / N.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        var (n, c) = CheckLogitsAndLabels("cross_entropy", logits, labels);
        var be = logits.Backend;
        var probs = Tensor.Empty([n, c], logits.Device);
        var y = Tensor.Empty([1], logits.Device);
        using (var losses = be.Allocate(n, DType.Float32))
        {
            be.SoftmaxCrossEntropyForward(logits.Storage, labels.Storage, probs.Storage, losses, n, c);
            be.Sum(losses, y.Storage, n);
        }
        be.Scale(y.Storage, 1f / n, y.Storage, 1);
        if (!Tensor.NeedsGrad(logits)) probs.Dispose();   // evaluation: no backward will read the probabilities
        return y.SetBackward("cross_entropy", [logits], () =>
            be.SoftmaxCrossEntropyBackward(probs.Storage, labels.Storage, y.Grad!.Storage, logits.GradStorage(), n, c));
    }

    /// <summary>Row-wise softmax of [N, C]: y[r, j] = exp(x[r, j] − max_r) / Σ_k exp(x[r, k] − max_r).
    /// dL/dx[r, j] += y[r, j] · (dL/dy[r, j] − Σ_k dL/dy[r, k] · y[r, k]).</summary>
    public static Tensor Softmax(Tensor x)
    {
        Check.SameDevice("softmax", x); Check.Float("softmax", x); Check.Rank("softmax", "x", x, 2);
        int n = x.Shape[0], c = x.Shape[1];
        var y = Tensor.Empty([n, c], x.Device);
        x.Backend.Softmax(x.Storage, y.Storage, n, c);
        return y.SetBackward("softmax", [x], () => x.Backend.SoftmaxBackward(y.Storage, y.Grad!.Storage, x.GradStorage(), n, c));
    }

    /// <summary>Checks logits Float32 [N, C] and labels Int32 [N] on one device; returns (N, C).</summary>
    static (int N, int C) CheckLogitsAndLabels(string op, Tensor logits, Tensor labels)
    {
        Check.SameDevice(op, logits, labels);
        Check.Float(op, logits);
        Check.Rank(op, "logits", logits, 2);
        if (labels.DType != DType.Int32)
            throw new ArgumentException($"{op}: labels must be Int32 class indices (Tensor.Labels), got {labels.DType} {labels.ShapeString}");
        if (labels.Dim != 1 || labels.Shape[0] != logits.Shape[0])
            throw new ArgumentException($"{op}: labels must have shape [{logits.Shape[0]}] to match logits {logits.ShapeString}, got {labels.ShapeString}");
        return (logits.Shape[0], logits.Shape[1]);
    }
}
