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

public static partial class F
{
    /// <summary>
    /// Channel dropout (torch.nn.functional.dropout2d) of x [N, C, H, W]: in training, each channel (n, c) is zeroed with
    /// probability p and kept scaled by 1/(1 − p); identity when !training or p = 0. The channel's mask is element n·C + c of the
    /// counter-based stream of (seed, step) of kernels/dropout (DropoutForward over the N·C channels), so every device draws the
    /// same channels. y = x ⊙ mask, the mask [N, C, 1, 1] broadcast over H×W: dx += dy ⊙ mask.
    /// </summary>
    public static Tensor Dropout2d(Tensor x, float p, bool training, ulong seed, long step)
    {
        const string op = "dropout2d";
        Check.SameDevice(op, x); Check.Float(op, x);
        if (x.Dim != 4) throw new ArgumentException($"{op}: expected input [N, C, H, W], got {x.ShapeString}");
        if (!(p >= 0f && p < 1f))
            throw new ArgumentException($"{op}: p must be in [0, 1), got p = {p} (input {x.ShapeString})");
        if (!training || p == 0f) return x;
        int nc = x.Shape[0] * x.Shape[1];
        var be = x.Backend;
        var mask = Tensor.Empty([x.Shape[0], x.Shape[1], 1, 1], x.Device);
        using (var ones = be.Allocate(nc, DType.Float32))
        using (var keep = be.Allocate(nc, DType.Float32))
        {
            be.Fill(ones, 1f, nc);
            be.DropoutForward(ones, mask.Storage, keep, nc, p, seed, step);   // mask = 1 · (0 or 1/(1 − p))
        }
        return Mul(x, mask);
    }
}

public sealed partial class Tensor
{
    /// <summary>F.Dropout(this, p, training, seed, step): inverted dropout, the mask a pure function of (seed, step, index).</summary>
    public Tensor Dropout(float p, bool training, ulong seed, long step) => F.Dropout(this, p, training, seed, step);
}
