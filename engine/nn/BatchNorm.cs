using System.Globalization;
using ScratchNet.Kernels;

namespace ScratchNet.nn;

/// <summary>
/// What BatchNorm1d and BatchNorm2d share (torch.nn.modules.batchnorm._BatchNorm): normalisation of each channel (dimension 1)
/// by the batch's mean and variance in training, by running estimates of them in evaluation, then a learned scale and shift.
///
/// State, under PyTorch's names and in its state_dict order: the parameters <c>weight</c> (ones) and <c>bias</c> (zeros) when
/// affine; the buffers <c>running_mean</c> (zeros), <c>running_var</c> (ones) and <c>num_batches_tracked</c> when tracking running
/// statistics. PyTorch keeps num_batches_tracked as an int64 scalar (shape []); here it is an Int32 scalar (the engine has no
/// Int64 tensors; 2^31 − 1 training steps is the limit), written to safetensors as I32, which torch's load_state_dict copies
/// into its int64 buffer. A file written by PyTorch (I64) loads into it (Safetensors.LoadInto checks the range).
///
/// Training mode with running statistics: normalise by the batch's statistics (biased variance), then update the buffers in
/// place, running = momentum·batch + (1 − momentum)·running with the unbiased variance, and count the batch in
/// num_batches_tracked; momentum null gives the cumulative average (momentum = 1/num_batches_tracked). Evaluation mode:
/// normalise by the running statistics. Without running statistics (trackRunningStats false) both modes use the batch's.
/// Kernels: kernels/norm/, through F.BatchNorm.
/// </summary>
public abstract class BatchNorm : Module
{
    /// <param name="name">the module's name in error messages</param>
    /// <param name="numFeatures">channels C (dimension 1 of the input)</param>
    /// <param name="eps">added to the variance before the square root</param>
    /// <param name="momentum">weight of the batch in the running statistics; null: cumulative average</param>
    /// <param name="affine">learn a per-channel weight and bias</param>
    /// <param name="trackRunningStats">keep running statistics (and use them in evaluation)</param>
    /// <param name="device">where the parameters and buffers live</param>
    protected BatchNorm(string name, int numFeatures, float eps, float? momentum, bool affine, bool trackRunningStats, Device? device)
    {
        _name = name;
        NumFeatures = Check.Positive(name, "num_features", numFeatures);
        if (!(eps >= 0f && float.IsFinite(eps))) throw new ArgumentException($"{name}: eps must be finite and >= 0, got {eps.ToString(CultureInfo.InvariantCulture)}");
        if (momentum is { } m && !(m >= 0f && m <= 1f)) throw new ArgumentException($"{name}: momentum must be in [0, 1] or null, got {m.ToString(CultureInfo.InvariantCulture)}");
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            RegisterParameter("weight", Tensor.Ones([numFeatures], device));
            RegisterParameter("bias", Tensor.Zeros([numFeatures], device));
        }
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Tensor.Zeros([numFeatures], device));
            RegisterBuffer("running_var", Tensor.Ones([numFeatures], device));
            var count = Tensor.Empty([], device, DType.Int32);
            count.Backend.Upload([0], count.Storage);
            RegisterBuffer("num_batches_tracked", count);
        }
    }

    private readonly string _name;

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance before the square root.</summary>
    public float Eps { get; }
    /// <summary>Weight of the batch in the running statistics; null: the cumulative average.</summary>
    public float? Momentum { get; }
    /// <summary>Whether the module has a learned weight and bias.</summary>
    public bool Affine { get; }
    /// <summary>Whether the module keeps running statistics.</summary>
    public bool TrackRunningStats { get; }

    /// <summary>The scale γ [C] (null without affine).</summary>
    public Tensor? Weight => GetParameterOrNull("weight");
    /// <summary>The shift β [C] (null without affine).</summary>
    public Tensor? Bias => GetParameterOrNull("bias");
    /// <summary>The running mean [C] (null without running statistics).</summary>
    public Tensor? RunningMean => TrackRunningStats ? GetBuffer("running_mean") : null;
    /// <summary>The running (unbiased) variance [C] (null without running statistics).</summary>
    public Tensor? RunningVar => TrackRunningStats ? GetBuffer("running_var") : null;
    /// <summary>Training batches counted so far, an Int32 scalar (null without running statistics).</summary>
    public Tensor? NumBatchesTracked => TrackRunningStats ? GetBuffer("num_batches_tracked") : null;

    /// <summary>running_mean ← 0, running_var ← 1, num_batches_tracked ← 0 (torch's reset_running_stats).</summary>
    public void ResetRunningStats()
    {
        if (!TrackRunningStats) return;
        RunningMean!.CopyFrom(new float[NumFeatures]);
        RunningVar!.CopyFrom(Enumerable.Repeat(1f, NumFeatures).ToArray());
        NumBatchesTracked!.Backend.Upload([0], NumBatchesTracked.Storage);
    }

    /// <summary>Checks the input's shape (the subclass's rank and C channels); throws an ArgumentException naming the module.</summary>
    protected abstract void CheckInput(Tensor x);

    /// <summary>F.BatchNorm with the batch's statistics in training (updating the running ones), the running ones in evaluation.</summary>
    public override Tensor Forward(Tensor x)
    {
        CheckInput(x);
        // As torch: the batch's statistics in training, and in evaluation when there are no running ones; the running buffers
        // are passed to be updated (training) or to normalise (evaluation).
        bool batchStats = Training || !TrackRunningStats;
        return F.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, batchStats, Momentum, Eps, Training ? NumBatchesTracked : null);
    }

    /// <summary>The message of a shape error: "BatchNorm2d(16): expected input [N, 16, H, W], got [..]".</summary>
    protected ArgumentException ShapeError(string expected, Tensor x) =>
        new($"{_name}({NumFeatures}): expected input {expected}, got {x.ShapeString}");

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={Eps.ToString("R", CultureInfo.InvariantCulture).ToLowerInvariant()}, momentum={(Momentum is { } m ? m.ToString(CultureInfo.InvariantCulture) : "None")}, " +
        $"affine={MaxPool2d.Py(Affine)}, track_running_stats={MaxPool2d.Py(TrackRunningStats)}";
}

/// <summary>
/// Batch normalisation of [N, C] or [N, C, L] inputs over their channels C (torch.nn.BatchNorm1d): each feature of a Linear
/// layer's output, or each channel of a sequence. See <see cref="BatchNorm"/> for the state, the modes and the running
/// statistics.
/// </summary>
public sealed class BatchNorm1d : BatchNorm
{
    /// <param name="numFeatures">C</param>
    /// <param name="eps">added to the variance</param>
    /// <param name="momentum">weight of the batch in the running statistics; null: cumulative average</param>
    /// <param name="affine">learn a per-channel weight and bias</param>
    /// <param name="trackRunningStats">keep running statistics</param>
    /// <param name="device">where the parameters and buffers live</param>
    public BatchNorm1d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true, Device? device = null)
        : base("BatchNorm1d", numFeatures, eps, momentum, affine, trackRunningStats, device) { }

    /// <inheritdoc/>
    protected override void CheckInput(Tensor x)
    {
        if (x.Dim is not (2 or 3) || x.Shape[1] != NumFeatures) throw ShapeError($"[N, {NumFeatures}] or [N, {NumFeatures}, L]", x);
    }
}

/// <summary>
/// Batch normalisation of [N, C, H, W] images over their channels C (torch.nn.BatchNorm2d): the statistics of a channel are
/// taken over the batch and every pixel. See <see cref="BatchNorm"/> for the state, the modes and the running statistics.
/// </summary>
public sealed class BatchNorm2d : BatchNorm
{
    /// <param name="numFeatures">C</param>
    /// <param name="eps">added to the variance</param>
    /// <param name="momentum">weight of the batch in the running statistics; null: cumulative average</param>
    /// <param name="affine">learn a per-channel weight and bias</param>
    /// <param name="trackRunningStats">keep running statistics</param>
    /// <param name="device">where the parameters and buffers live</param>
    public BatchNorm2d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true, Device? device = null)
        : base("BatchNorm2d", numFeatures, eps, momentum, affine, trackRunningStats, device) { }

    /// <inheritdoc/>
    protected override void CheckInput(Tensor x)
    {
        if (x.Dim != 4 || x.Shape[1] != NumFeatures) throw ShapeError($"[N, {NumFeatures}, H, W]", x);
    }
}
