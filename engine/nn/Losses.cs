namespace ScratchNet.nn;

/// <summary>
/// A loss (torch.nn's loss modules): a module of two inputs, <see cref="Forward(Tensor, Tensor)"/>(input, target). It is a
/// Module so that its tensors (BCEWithLogitsLoss's pos_weight, a buffer as in torch) move with To(device) and print in a tree;
/// the one-input Forward of Module does not apply and throws.
/// </summary>
public abstract class Loss : Module
{
    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/>.</summary>
    public abstract Tensor Forward(Tensor input, Tensor target);

    /// <summary>Not for a loss: it takes two inputs. Throws an InvalidOperationException naming the loss.</summary>
    public sealed override Tensor Forward(Tensor x) =>
        throw new InvalidOperationException($"{GetType().Name} takes two inputs: call Forward(input, target), not Forward({x.ShapeString})");

    /// <summary>Checks a reduction: "none", "mean" or "sum".</summary>
    protected static string CheckReduction(string loss, string reduction) =>
        reduction is "none" or "mean" or "sum" ? reduction
            : throw new ArgumentException($"{loss}: reduction must be 'none', 'mean' or 'sum', got '{reduction}'");
}

/// <summary>
/// Cross-entropy of logits against class labels, averaged over the batch (torch.nn.CrossEntropyLoss with the default
/// reduction 'mean'): L = −(1/N) Σ_n log softmax(logits[n])[labels[n]]. Kernels: kernels/loss/.
/// </summary>
public sealed class CrossEntropyLoss : Loss
{
    /// <summary>logits [N, C] Float32, labels [N] Int32 in [0, C) → a one-element loss tensor.</summary>
    public override Tensor Forward(Tensor logits, Tensor labels) => F.CrossEntropy(logits, labels);
}

/// <summary>Mean squared error (torch.nn.MSELoss): (input − target)², reduced by its mean (default), sum, or not ('none').</summary>
public sealed class MSELoss : Loss
{
    /// <param name="reduction">"mean", "sum" or "none"</param>
    public MSELoss(string reduction = "mean") => Reduction = CheckReduction("MSELoss", reduction);

    /// <summary>"mean", "sum" or "none".</summary>
    public string Reduction { get; }

    /// <summary>F.MseLoss(input, target, Reduction); input and target of one shape.</summary>
    public override Tensor Forward(Tensor input, Tensor target) => F.MseLoss(input, target, Reduction);

    /// <inheritdoc/>
    protected override string ExtraRepr() => Reduction == "mean" ? "" : $"reduction='{Reduction}'";
}

/// <summary>
/// Negative log-likelihood of log-probabilities (torch.nn.NLLLoss): input [N, C] from a LogSoftmax(1), target Int32 class indices
/// [N]; the row loss −input[r, target[r]], rows whose target is ignoreIndex left out (of the mean's divisor too). LogSoftmax then
/// NLLLoss is CrossEntropyLoss. No class weights.
/// </summary>
public sealed class NLLLoss : Loss
{
    /// <param name="ignoreIndex">a target value whose rows do not count (torch's default −100)</param>
    /// <param name="reduction">"mean", "sum" or "none"</param>
    public NLLLoss(int ignoreIndex = -100, string reduction = "mean")
    {
        IgnoreIndex = ignoreIndex;
        Reduction = CheckReduction("NLLLoss", reduction);
    }

    /// <summary>The target value whose rows do not count.</summary>
    public int IgnoreIndex { get; }
    /// <summary>"mean", "sum" or "none".</summary>
    public string Reduction { get; }

    /// <summary>F.NllLoss(input, target, IgnoreIndex, Reduction).</summary>
    public override Tensor Forward(Tensor input, Tensor target) => F.NllLoss(input, target, IgnoreIndex, Reduction);

    /// <inheritdoc/>
    protected override string ExtraRepr() => Reduction == "mean" ? "" : $"reduction='{Reduction}'";
}

/// <summary>
/// Binary cross-entropy on logits (torch.nn.BCEWithLogitsLoss): a sigmoid and the binary cross-entropy in one numerically stable
/// formula (F.BinaryCrossEntropyWithLogits), targets in [0, 1] of the input's shape. posWeight (e.g. [C] for [N, C] inputs) weighs
/// the positive examples of each class; it is a buffer named <c>pos_weight</c>, as in torch (saved with the state, moved by To()).
/// </summary>
public sealed class BCEWithLogitsLoss : Loss
{
    /// <param name="posWeight">weight of the positive examples, broadcast against the input; null: 1</param>
    /// <param name="reduction">"mean", "sum" or "none"</param>
    public BCEWithLogitsLoss(Tensor? posWeight = null, string reduction = "mean")
    {
        Reduction = CheckReduction("BCEWithLogitsLoss", reduction);
        if (posWeight is not null) RegisterBuffer("pos_weight", posWeight.Detach());
    }

    /// <summary>"mean", "sum" or "none".</summary>
    public string Reduction { get; }
    /// <summary>The positive examples' weight, or null.</summary>
    public Tensor? PosWeight => NamedBuffers().Select(b => b.Buffer).FirstOrDefault();

    /// <summary>F.BinaryCrossEntropyWithLogits(input, target, PosWeight, Reduction).</summary>
    public override Tensor Forward(Tensor input, Tensor target) => F.BinaryCrossEntropyWithLogits(input, target, PosWeight, Reduction);

    /// <inheritdoc/>
    protected override string ExtraRepr() => Reduction == "mean" ? "" : $"reduction='{Reduction}'";
}
