namespace ScratchNet.Kernels;

// The loss kernels of the cpu device: Loss.Reference.cs's loops on every path (why there is no vector version: there).
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Storage logits, Storage labels, Storage probs, Storage losses, int n, int c) =>
        Reference.SoftmaxCrossEntropyForward(F(logits), I(labels), F(probs), F(losses), n, c);

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Storage probs, Storage labels, Storage dy, Storage dlogits, int n, int c) =>
        Reference.SoftmaxCrossEntropyBackward(F(probs), I(labels), F(dy)[0], F(dlogits), n, c);

    /// <inheritdoc/>
    public void Softmax(Storage x, Storage y, int n, int c) => Reference.Softmax(F(x), F(y), n, c);

    /// <inheritdoc/>
    public void SoftmaxBackward(Storage y, Storage dy, Storage dx, int n, int c) => Reference.SoftmaxBackward(F(y), F(dy), F(dx), n, c);

    /// <inheritdoc/>
    public void NllLossForward(Storage logp, Storage labels, Storage losses, Storage weights, int n, int c, int ignoreIndex) =>
        Reference.NllLossForward(F(logp), I(labels), F(losses), F(weights), n, c, ignoreIndex);

    /// <inheritdoc/>
    public void NllLossBackward(Storage labels, Storage dy, Storage dlogp, int n, int c, int ignoreIndex) =>
        Reference.NllLossBackward(I(labels), F(dy), F(dlogp), n, c, ignoreIndex);
}
