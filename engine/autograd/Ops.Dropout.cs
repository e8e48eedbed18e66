using ScratchNet.Kernels;

namespace ScratchNet;

// Inverted dropout (torch.nn.functional.dropout). Forward first, backward right below.
// Kernels: kernels/dropout/ (the counter-based random numbers that make a mask reproducible on every device).
public static partial class F
{
    /// <summary>Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1−p);
    /// the mask is a pure function of (seed, step, index). Identity when !training.</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, ulong seed, long step)
    {
        Check.SameDevice("dropout", x); Check.Float("dropout", x);
        if (!(p >= 0f && p < 1f))  // also rejects NaN
            throw new ArgumentException($"dropout: p must be in [0, 1), got p = {p} (input {x.ShapeString})");
        if (!training || p == 0f) return x;  // as PyTorch: the input itself, gradients flow straight through

        var y = Tensor.Empty(x.Shape, x.Device);
        var mask = Tensor.Empty(x.Shape, x.Device);  // 0 or 1/(1−p)
        x.Backend.DropoutForward(x.Storage, y.Storage, mask.Storage, x.Numel, p, seed, step);
        // y = x ⊙ mask  →  dL/dx += dL/dy ⊙ mask
        return y.SetBackward("dropout", [x], () =>
            x.Backend.MulAcc(y.Grad!.Storage, mask.Storage, x.GradStorage(), x.Numel));
    }
}

public sealed partial class Tensor
{
    public Tensor Dropout(float p, bool training, ulong seed, long step) => F.Dropout(this, p, training, seed, step);
}
