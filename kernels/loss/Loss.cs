namespace ScratchNet.Kernels;

// ── loss ── softmax, and softmax + cross-entropy with its gradient (softmax − one-hot)/N, over the rows of [N, C]; the negative
//           log-likelihood of log-probabilities (nll_loss) with an ignored class
//   definition  Loss.Reference.cs   (the oracle; the cpu device runs it on every path: a row of 10 logits is
//               shorter than one vector, so there is no SIMD version)
//   gpu         Loss.Ilgpu.cs
//   tests       tests/LossTests.cs (softmax, cross-entropy), tests/LayersTests.cs (nll), tests/LayersTorchTests.cs (nll against PyTorch)
//   check/bench bench/ops/LossOp.cs: scratchnet check --op loss, scratchnet bench --op loss
//
// Softmax and softmax + cross-entropy over the rows of a row-major [N, C] matrix (N samples, C classes).
// Row r occupies x[r·C .. r·C + C).
//
// Numerically stable softmax (the log-sum-exp trick): with m = max_j x_j,
//   p_j = exp(x_j − m) / Σ_k exp(x_k − m)        every exponent is ≤ 0, so nothing overflows,
//   −log p_label = log Σ_k exp(x_k − m) − (x_label − m)   finite even for logits like ±1000.
// Gradient of the batch mean L = (1/N) Σ_r −log p_r[label_r]:  dL/dx_rj = (p_rj − [j == label_r]) / N.
//
// NLL (torch.nn.functional.nll_loss without class weights) of log-probabilities x [N, C] (a log_softmax's output), per row:
//   label = ignore_index:   loss_r = 0, weight_r = 0      (the row counts in neither the sum nor the mean's divisor)
//   label in [0, C):        loss_r = −x[r, label], weight_r = 1
//   any other label:        loss_r = NaN, weight_r = 1    (never used as an index; the NaN reaches the loss, as cross-entropy's)
// The engine reduces: 'none' keeps loss_r, 'sum' is Σ loss_r, 'mean' is Σ loss_r / Σ weight_r (NaN when every row is ignored,
// as torch). Backward of the per-row losses: dx[r, label] −= dy_r for the counted rows (the others get nothing; a bad label's
// row gets NaN).
public partial interface IBackend
{
    /// <summary>
    /// Per row r of logits [n, c]: probs[r, :] = softmax(logits[r, :]) and losses[r] = −log probs[r, labels[r]],
    /// computed as logsumexp − logit so it stays finite. labels are Int32 in [0, c); a label outside that
    /// range is never used as an index: that row's loss is NaN.
    /// </summary>
    void SoftmaxCrossEntropyForward(Storage logits, Storage labels, Storage probs, Storage losses, int n, int c);

    /// <summary>
    /// dlogits[r, j] += (probs[r, j] − [j == labels[r]]) · dy[0] / n: the backward of the batch-mean loss.
    /// dy is the 1-element upstream gradient, read on the device (no host synchronisation).
    /// A row whose label is outside [0, c) gets NaN (its loss was NaN).
    /// </summary>
    void SoftmaxCrossEntropyBackward(Storage probs, Storage labels, Storage dy, Storage dlogits, int n, int c);

    /// <summary>y[r, :] = softmax(x[r, :]) for each row of x [n, c].</summary>
    void Softmax(Storage x, Storage y, int n, int c);

    /// <summary>dx[r, j] += y[r, j] · (dy[r, j] − Σ_k dy[r, k] · y[r, k]), where y = softmax(x): the backward of Softmax.</summary>
    void SoftmaxBackward(Storage y, Storage dy, Storage dx, int n, int c);

    /// <summary>losses[r] = −logp[r, labels[r]] and weights[r] = 1, or 0 and 0 for labels[r] = ignoreIndex, or NaN and 1 for a
    /// label outside [0, c) (Loss.cs). logp [n, c], labels Int32 [n], losses and weights [n].</summary>
    void NllLossForward(Storage logp, Storage labels, Storage losses, Storage weights, int n, int c, int ignoreIndex);

    /// <summary>dlogp[r, labels[r]] −= dy[r] for every counted row (ACCUMULATES); an ignored row gets nothing, a bad label's row
    /// NaN. dy [n] (the per-row losses' gradient).</summary>
    void NllLossBackward(Storage labels, Storage dy, Storage dlogp, int n, int c, int ignoreIndex);
}
