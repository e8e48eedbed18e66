using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Softmax and cross-entropy (kernels/loss), row by row over [n, c] logits. Versions: on the cpu one, Loss.Reference.cs's loops
/// on every path (the file says why there is no vector version); the ILGPU kernels. Tolerance: 1e-5 relative (through exp and
/// log). Work: bytes read + written.
/// </summary>
public sealed class LossOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "loss";

    /// <inheritdoc/>
    public override string Summary => "softmax, cross-entropy, nll: forward, backward";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) => KindOf(device) == DeviceKind.Cpu
        ? [new OpVersion("loops", DeviceOptions.Default, "Loss.Reference.cs's loops, on every cpu path")]
        : IlgpuVersion("Loss.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        foreach (var (n, c) in new[] { (7, 10), (1, 3), (33, 1000), (64, 10) })
        {
            var labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = ctx.Rng.Next(c);
            using var logits = ctx.Floats(ctx.Rand(n * c, -5f, 5f)); using var lab = ctx.Ints(labels);
            using var probs = ctx.Floats(n * c); using var losses = ctx.Floats(n); using var dy = ctx.Floats([1.3f]);
            using var dlogits = ctx.Floats(n * c); using var sy = ctx.Floats(n * c); using var sdy = ctx.Floats(n * c); using var sdx = ctx.Floats(n * c);
            string shape = $"[{n},{c}]";
            ctx.Both((be, v) => be.SoftmaxCrossEntropyForward(v(logits), v(lab), v(probs), v(losses), n, c));
            ctx.Compare("softmax-ce forward probs", shape, probs, 1e-5);
            ctx.Compare("softmax-ce forward loss", shape, losses, 1e-5);
            ctx.Both((be, v) => be.SoftmaxCrossEntropyBackward(v(probs), v(lab), v(dy), v(dlogits), n, c));
            ctx.Compare("softmax-ce backward", shape, dlogits, 1e-5);
            ctx.Both((be, v) => be.Softmax(v(logits), v(sy), n, c));
            ctx.Compare("softmax forward", shape, sy, 1e-5);
            ctx.Both((be, v) => be.SoftmaxBackward(v(sy), v(sdy), v(sdx), n, c));
            ctx.Compare("softmax backward", shape, sdx, 1e-5);
            // NLL of the same values as log-probabilities, one row in three ignored (class index 1 plays ignore_index).
            using var nl = ctx.Floats(n); using var nw = ctx.Floats(n); using var ndx = ctx.Floats(n * c); using var ndy = ctx.Floats(n);
            ctx.Both((be, v) => be.NllLossForward(v(logits), v(lab), v(nl), v(nw), n, c, 1));
            ctx.Compare("nll forward", shape, nl, 0);
            ctx.Compare("nll weights", shape, nw, 0);
            ctx.Both((be, v) => be.NllLossBackward(v(lab), v(ndy), v(ndx), n, c, 1));
            ctx.Compare("nll backward", shape, ndx, 0);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // 1000 classes (AlexNet-224's head); 4096 rows make 16 MiB of logits, past any cache.
        int n = s.Small ? 64 : 4096, c = 1000;
        double nc = (double)n * c;
        string shape = $"[{n},{c}]";
        yield return new BenchCase($"softmax-ce fwd {shape}", BenchCase.Bytes, 8 * nc + 8.0 * n, a =>   // logits, labels; probs, losses
        {
            var (logits, labels, probs, losses) = (a.Random(n * c, -5f, 5f), a.RandomInts(n, c), a.Empty(n * c), a.Empty(n));
            return new Prepared(() => a.Backend.SoftmaxCrossEntropyForward(logits, labels, probs, losses, n, c));
        });
        yield return new BenchCase($"softmax-ce bwd {shape}", BenchCase.Bytes, 12 * nc + 4.0 * n, a =>  // probs, labels; dlogits read + write
        {
            var (probs, labels, dy, dlogits) = (a.Random(n * c, 0f, 1f), a.RandomInts(n, c), a.Floats([1f]), a.Random(n * c));
            return new Prepared(() => a.Backend.SoftmaxCrossEntropyBackward(probs, labels, dy, dlogits, n, c));
        });
        yield return new BenchCase($"softmax fwd {shape}", BenchCase.Bytes, 8 * nc, a =>                // x; y
        {
            var (x, y) = (a.Random(n * c, -5f, 5f), a.Empty(n * c));
            return new Prepared(() => a.Backend.Softmax(x, y, n, c));
        });
        yield return new BenchCase($"softmax bwd {shape}", BenchCase.Bytes, 16 * nc, a =>               // y, dy; dx read + write
        {
            var (y, dy, dx) = (a.Random(n * c, 0f, 1f), a.Random(n * c), a.Random(n * c));
            return new Prepared(() => a.Backend.SoftmaxBackward(y, dy, dx, n, c));
        });
    }
}
