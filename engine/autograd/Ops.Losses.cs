using ScratchNet.autograd;
using ScratchNet.Kernels;

namespace ScratchNet;

// The losses of torch.nn.functional beyond cross_entropy (Ops.Loss.cs): mse_loss, nll_loss, binary_cross_entropy_with_logits,
// each with torch's reduction 'mean' (default), 'sum' or 'none'. A reduced loss is a one-element tensor of shape [1], as
// F.CrossEntropy's; 'none' keeps the per-element (per-row for nll_loss) losses. Every input that requires a gradient gets one.
//   mse_loss       composed of tensor-math ops (kernels/broadcast, kernels/elementwise, kernels/reduce): (input − target)².
//   nll_loss       kernels/loss (Loss.cs: the rows, the ignored class, the mean's divisor), then a sum or mean of the rows.
//   binary_cross_entropy_with_logits   an autograd.Function over tensor-math ops, with the closed-form gradient (below).
public static partial class F
{
    /// <summary>The reduction of a per-element loss: "none", "sum" or "mean" (checked with the op's name).</summary>
    static Tensor Reduce(string op, Tensor loss, string reduction) => reduction switch
    {
        "none" => loss,
        "sum" => Sum(loss),
        "mean" => Mean(loss),
        _ => throw new ArgumentException($"{op}: reduction must be 'none', 'mean' or 'sum', got '{reduction}'"),
    };

    static void CheckReduction(string op, string reduction)
    {
        if (reduction is not ("none" or "mean" or "sum"))
            throw new ArgumentException($"{op}: reduction must be 'none', 'mean' or 'sum', got '{reduction}'");
    }

    /// <summary>
    /// torch.nn.functional.mse_loss: (input − target)², then the mean (default) or the sum over every element, or per element
    /// ('none'). input and target have the same shape. d/dinput = 2·(input − target)·(1/numel for 'mean'); the target gets the
    /// negative of that when it requires a gradient.
    /// </summary>
    public static Tensor MseLoss(Tensor input, Tensor target, string reduction = "mean")
    {
        const string op = "mse_loss";
        Check.SameDevice(op, input, target); Check.Float(op, input); Check.Float(op, target);
        CheckReduction(op, reduction);
        if (!input.Shape.SequenceEqual(target.Shape))
            throw new ArgumentException($"{op}: input {input.ShapeString} and target {target.ShapeString} must have the same shape");
        var d = Sub(input, target);
        return Reduce(op, Mul(d, d), reduction);
    }

    /// <summary>
    /// torch.nn.functional.nll_loss of log-probabilities input [N, C] (what F.LogSoftmax(x, 1) gives) against class indices target
    /// Int32 [N]: the loss of row r is −input[r, target[r]]. Rows whose target is <paramref name="ignoreIndex"/> (torch's default
    /// −100) count for nothing: 0 with 'none', left out of the sum, and out of the mean's divisor ('mean' = Σ / the rows counted;
    /// NaN when all are ignored, as torch). Any other target outside [0, C) gives NaN. d/dinput[r, target[r]] = −1 (·1/counted
    /// for 'mean'). No class weights.
    /// </summary>
    public static Tensor NllLoss(Tensor input, Tensor target, int ignoreIndex = -100, string reduction = "mean")
    {
        const string op = "nll_loss";
        var (n, c) = CheckLogitsAndLabels(op, input, target);
        CheckReduction(op, reduction);
        var be = input.Backend;
        var losses = Tensor.Empty([n], input.Device);
        var weights = Tensor.Empty([n], input.Device);
        be.NllLossForward(input.Storage, target.Storage, losses.Storage, weights.Storage, n, c, ignoreIndex);
        losses = losses.SetBackward(op, [input], () =>
            be.NllLossBackward(target.Storage, losses.Grad!.Storage, input.GradStorage(), n, c, ignoreIndex));
        if (reduction == "none") { weights.Dispose(); return losses; }
        if (reduction == "sum") { weights.Dispose(); return Sum(losses); }
        return Div(Sum(losses), Sum(weights));   // the weights are constants: no gradient flows to them
    }

    /// <summary>
    /// torch.nn.functional.binary_cross_entropy_with_logits: the binary cross-entropy of σ(input) against target (same shape,
    /// values in [0, 1]), computed from the logits without overflow:
    ///     loss = (1 − t)·x + w·softplus(−x),   softplus(−x) = log(1 + e^−|x|) + max(−x, 0),   w = 1 + (pos_weight − 1)·t
    /// (w = 1 without <paramref name="posWeight"/>, which broadcasts against the input, e.g. [C] for [N, C]: the weight of the
    /// positive examples of each class). Then torch's reduction. Gradients: d/dx = (1 − t) − w·σ(−x) (σ(x) − t without
    /// pos_weight), d/dt = −x + (pos_weight − 1)·softplus(−x), d/dpos_weight = t·softplus(−x) summed to its shape.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? posWeight = null, string reduction = "mean")
    {
        const string op = "binary_cross_entropy_with_logits";
        Check.SameDevice(op, input, target, posWeight); Check.Float(op, input); Check.Float(op, target);
        CheckReduction(op, reduction);
        if (!input.Shape.SequenceEqual(target.Shape))
            throw new ArgumentException($"{op}: target {target.ShapeString} must have the input's shape {input.ShapeString}");
        if (posWeight is not null)
        {
            Check.Float(op, posWeight);
            int[]? shape = null;
            try { shape = Check.Broadcast(op, input, posWeight); } catch (ArgumentException) { }
            if (shape is null || !shape.SequenceEqual(input.Shape))
                throw new ArgumentException($"{op}: pos_weight {posWeight.ShapeString} must broadcast to the input's shape {input.ShapeString}");
        }
        var loss = posWeight is null ? new BceWithLogits().Apply(input, target) : new BceWithLogits().Apply(input, target, posWeight);
        return Reduce(op, loss, reduction);
    }

    /// <summary>The per-element loss of binary_cross_entropy_with_logits and its closed-form gradients (see the op).</summary>
    sealed class BceWithLogits : Function
    {
        public override string Name => "binary_cross_entropy_with_logits";

        /// <summary>softplus(−x) = log(1 + e^−|x|) + max(−x, 0): the exponent is never positive.</summary>
        static Tensor SoftplusNeg(Tensor x) => Log(Exp(Neg(Abs(x))) + 1f) + Clamp(Neg(x), min: 0f);

        protected override Tensor Forward(FunctionContext ctx, Tensor[] inputs)
        {
            var (x, t) = (inputs[0], inputs[1]);
            var sp = SoftplusNeg(x);
            var weighted = inputs.Length > 2 ? (inputs[2] - 1f) * t + 1f : null;
            var loss = (1f - t) * x + (weighted is null ? sp : weighted * sp);
            ctx.SaveForBackward(inputs.Length > 2 ? new[] { x, t, sp, inputs[2] } : new[] { x, t, sp });
            return loss;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy)
        {
            var s = ctx.SavedTensors;
            var (x, t, sp) = (s[0], s[1], s[2]);
            var pw = s.Count > 3 ? s[3] : null;
            var grads = new Tensor?[pw is null ? 2 : 3];
            if (ctx.NeedsInputGrad[0])
            {
                // (1 − t) − w·σ(−x), w = 1 + (pw − 1)·t
                var sigNeg = Sigmoid(Neg(x));
                var w = pw is null ? null : (pw - 1f) * t + 1f;
                grads[0] = gy * ((1f - t) - (w is null ? sigNeg : w * sigNeg));
            }
            if (ctx.NeedsInputGrad[1])
                grads[1] = gy * (pw is null ? Neg(x) : Neg(x) + (pw - 1f) * sp);
            if (pw is not null && ctx.NeedsInputGrad[2])
                grads[2] = SumTo(gy * t * sp, pw.Shape);
            return grads;
        }
    }

    /// <summary>Sums a tensor over the dimensions that broadcasting added or stretched, back to <paramref name="shape"/>.</summary>
    static Tensor SumTo(Tensor g, int[] shape)
    {
        int lead = g.Dim - shape.Length;
        var dims = Enumerable.Range(0, g.Dim).Where(d => d < lead || (shape[d - lead] == 1 && g.Shape[d] != 1)).ToArray();
        var summed = dims.Length == 0 ? g : Sum(g, dims, keepdim: true);
        return Reshape(summed, shape);
    }
}
