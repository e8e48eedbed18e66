using System.Globalization;
using ScratchNet.Kernels;

namespace ScratchNet;

// Batch normalisation (torch.nn.functional.batch_norm). Forward first, backward right below; every backward ACCUMULATES.
// Kernels: kernels/norm/ (Norm.cs: the layout, the statistics, the running update, the per-channel constants, the gradients).
public static partial class F
{
    /// <summary>
    /// torch.nn.functional.batch_norm over the channels (dimension 1) of x [N, C, ...]: y = (x − mean[c]) / √(var[c] + eps)·w[c] + b[c].
    /// With <paramref name="training"/> (or without running statistics) mean and var are the batch's, over the N·(H·W·...) values
    /// of each channel (the biased variance), and when <paramref name="runningMean"/> and <paramref name="runningVar"/> are given
    /// they are updated in place: running = f·batch + (1 − f)·running, with the unbiased variance, f = <paramref name="momentum"/>;
    /// momentum null is torch's cumulative average, f = 1/count, which needs <paramref name="numBatchesTracked"/>. That counter
    /// (Int32, one element), when given in training, is incremented on the device, as BatchNorm's num_batches_tracked. Without
    /// training the running statistics normalise (they are constants for the backward). weight and bias ([C]) may be null.
    /// Backward (batch statistics): dx += w·invstd·(dy − mean(dy) − xhat·mean(dy·xhat)), xhat = (x − mean)·invstd; (running
    /// statistics): dx += w·invstd·dy; dw += Σ dy·xhat, db += Σ dy (sums over each channel's values).
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
                                   bool training = false, float? momentum = 0.1f, float eps = 1e-5f, Tensor? numBatchesTracked = null)
    {
        const string op = "batch_norm";
        Check.SameDevice(op, x, runningMean, runningVar, weight, bias, numBatchesTracked);
        Check.Float(op, x);
        if (x.Dim < 2) throw new ArgumentException($"{op}: expected input [N, C, ...] with at least 2 dimensions, got {x.ShapeString}");
        int n = x.Shape[0], c = x.Shape[1], inner = x.Numel / Math.Max(1, n * c);
        foreach (var (name, t) in new[] { ("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar) })
            if (t is not null && (t.DType != DType.Float32 || t.Dim != 1 || t.Shape[0] != c))
                throw new ArgumentException($"{op}: {name} must be Float32 [{c}] for input {x.ShapeString}, got {t.DType} {t.ShapeString}");
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException($"{op}: give both running_mean and running_var or neither (input {x.ShapeString})");
        if (runningMean is not null && (runningMean.RequiresGrad || runningVar!.RequiresGrad))
            throw new ArgumentException($"{op}: running_mean and running_var are buffers and must not require gradients (input {x.ShapeString})");
        if (numBatchesTracked is not null && (numBatchesTracked.DType != DType.Int32 || numBatchesTracked.Numel != 1))
            throw new ArgumentException($"{op}: num_batches_tracked must be one Int32, got {numBatchesTracked.DType} {numBatchesTracked.ShapeString}");
        if (!(eps >= 0f && float.IsFinite(eps))) throw new ArgumentException($"{op}: eps must be finite and >= 0, got {eps.ToString(CultureInfo.InvariantCulture)} (input {x.ShapeString})");
        if (momentum is { } mo && !(mo >= 0f && mo <= 1f))
            throw new ArgumentException($"{op}: momentum must be in [0, 1] or null, got {mo.ToString(CultureInfo.InvariantCulture)} (input {x.ShapeString})");

        bool batchStats = training || runningMean is null;
        bool update = training && runningMean is not null;
        int m = n * inner;
        if (batchStats && m <= 1)
            throw new ArgumentException($"{op}: expected more than 1 value per channel when using the batch's statistics, got input {x.ShapeString}");
        if (update && momentum is null && numBatchesTracked is null)
            throw new ArgumentException($"{op}: momentum null (a cumulative average) needs num_batches_tracked (input {x.ShapeString})");

        var be = x.Backend;
        Tensor mean, var;
        if (batchStats)
        {
            mean = Tensor.Empty([c], x.Device);
            var = Tensor.Empty([c], x.Device);
            be.BatchNormStats(x.Storage, mean.Storage, var.Storage, n, c, inner);
            if (update)
                be.BatchNormUpdateRunning(mean.Storage, var.Storage, runningMean!.Storage, runningVar!.Storage, numBatchesTracked?.Storage, c, m, momentum ?? float.NaN);
        }
        else
        {
            mean = runningMean!;
            var = runningVar!;
        }
        var y = Tensor.Empty(x.Shape, x.Device);
        be.BatchNormForward(x.Storage, mean.Storage, var.Storage, weight?.Storage, bias?.Storage, y.Storage, n, c, inner, eps);
        if (!Tensor.NeedsGrad(x, weight, bias))
        {
            if (batchStats) { mean.Dispose(); var.Dispose(); }   // no backward will read the batch's statistics
            return y;
        }
        return y.SetBackward(op, [x, weight, bias], () =>
        {
            var dy = y.Grad!.Storage;
            bool needSums = batchStats && x.RequiresGrad || weight is { RequiresGrad: true } || bias is { RequiresGrad: true };
            using var sumDy = needSums ? be.Allocate(c, DType.Float32) : null;
            using var sumDyXhat = needSums ? be.Allocate(c, DType.Float32) : null;
            if (needSums) be.BatchNormBackwardReduce(dy, x.Storage, mean.Storage, var.Storage, sumDy!, sumDyXhat!, n, c, inner, eps);
            if (x.RequiresGrad)
                be.BatchNormBackward(dy, x.Storage, mean.Storage, var.Storage, weight?.Storage, batchStats ? sumDy : null, batchStats ? sumDyXhat : null,
                                     x.GradStorage(), n, c, inner, eps);
            if (weight is { RequiresGrad: true }) be.Axpy(1f, sumDyXhat!, weight.GradStorage(), c);
            if (bias is { RequiresGrad: true }) be.Axpy(1f, sumDy!, bias.GradStorage(), c);
        });
    }
}
