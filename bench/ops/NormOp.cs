using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Batch normalisation (kernels/norm): per-channel statistics, the running update, normalise, the backward's reduction and its
/// element-wise pass, over [N, C, inner] (BatchNorm2d's images, BatchNorm1d's rows). Versions: the cpu's vector paths, the ILGPU
/// kernels. Tolerance: 1e-5 relative (the statistics are sums over a channel, in double on the cpu and in float on a GPU; the
/// other passes inherit their rounding). Work: bytes read + written by the kernels. The two train-step cases run a BatchNorm2d
/// forward and backward: F.BatchNorm (these kernels), and the same computation composed of the tensor-math ops (mean, var, sub,
/// div, mul, add with broadcasting, and their autograd): what the kernel family saves.
/// </summary>
public sealed class NormOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "norm";

    /// <inheritdoc/>
    public override string Summary => "batch_norm: statistics, running update, normalise, backward";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Norm.Cpu.Simd.cs") : IlgpuVersion("Norm.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        const float eps = 1e-5f;
        foreach (var (n, c, inner) in new[] { (4, 3, 25), (16, 70, 1), (2, 5, 49), (8, 4, 3) })
        {
            int total = n * c * inner, m = n * inner;
            string shape = $"[{n},{c},{inner}]";
            using var x = ctx.Floats(ctx.Rand(total, -2f, 3f)); using var w = ctx.Floats(c); using var b = ctx.Floats(c);
            using var mean = ctx.Floats(c); using var var = ctx.Floats(c); using var y = ctx.Floats(total);
            using var rm = ctx.Floats(c); using var rv = ctx.Floats(ctx.Rand(c, 0.5f, 2f)); using var count = ctx.Ints([3]);
            using var dy = ctx.Floats(total); using var s0 = ctx.Floats(c); using var s1 = ctx.Floats(c); using var dx = ctx.Floats(total);
            ctx.Both((be, v) => be.BatchNormStats(v(x), v(mean), v(var), n, c, inner));
            ctx.Compare("stats mean", shape, mean, 1e-5);
            ctx.Compare("stats var", shape, var, 1e-5);
            ctx.Both((be, v) => be.BatchNormUpdateRunning(v(mean), v(var), v(rm), v(rv), v(count), c, m, 0.1f));
            ctx.Both((be, v) => be.BatchNormUpdateRunning(v(mean), v(var), v(rm), v(rv), v(count), c, m, float.NaN));
            ctx.Compare("running mean", shape, rm, 1e-5);
            ctx.Compare("running var", shape, rv, 1e-5);
            ctx.Compare("num_batches_tracked", shape, count, 0);
            ctx.Both((be, v) => be.BatchNormForward(v(x), v(mean), v(var), v(w), v(b), v(y), n, c, inner, eps));
            ctx.Compare("forward", shape, y, 1e-5);
            ctx.Both((be, v) => be.BatchNormBackwardReduce(v(dy), v(x), v(mean), v(var), v(s0), v(s1), n, c, inner, eps));
            ctx.Compare("backward sum dy", shape, s0, 1e-5);
            ctx.Compare("backward sum dy*xhat", shape, s1, 1e-5);
            ctx.Both((be, v) => be.BatchNormBackward(v(dy), v(x), v(mean), v(var), v(w), v(s0), v(s1), v(dx), n, c, inner, eps));
            ctx.Compare("backward (batch statistics)", shape, dx, 1e-5);
            ctx.Both((be, v) => be.BatchNormBackward(v(dy), v(x), v(rm), v(rv), v(w), null, null, v(dx), n, c, inner, eps));
            ctx.Compare("backward (running statistics)", shape, dx, 1e-5);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // BatchNorm2d after AlexNet-CIFAR's first conv, [batch, 64, 32, 32]; BatchNorm1d on [batch·16, 1024] rows.
        int b = s.Batch;
        foreach (var (n, c, inner, name) in new[] { (b, 64, 32 * 32, $"bn2d [{b},64,32,32]"), (b * 16, 1024, 1, $"bn1d [{b * 16},1024]") })
        {
            int total = n * c * inner;
            yield return new BenchCase($"{name} stats", BenchCase.Bytes, 8.0 * total, a =>        // x read twice
            {
                var (x, mean, var) = (a.Random(total), a.Empty(c), a.Empty(c));
                return new Prepared(() => a.Backend.BatchNormStats(x, mean, var, n, c, inner));
            });
            yield return new BenchCase($"{name} fwd", BenchCase.Bytes, 8.0 * total, a =>          // x; y
            {
                var (x, mean, var, w, bias, y) = (a.Random(total), a.Random(c), a.Random(c, 0.5f, 2f), a.Random(c), a.Random(c), a.Empty(total));
                return new Prepared(() => a.Backend.BatchNormForward(x, mean, var, w, bias, y, n, c, inner, 1e-5f));
            });
            yield return new BenchCase($"{name} bwd reduce", BenchCase.Bytes, 8.0 * total, a =>   // dy, x
            {
                var (x, dy, mean, var, s0, s1) = (a.Random(total), a.Random(total), a.Random(c), a.Random(c, 0.5f, 2f), a.Empty(c), a.Empty(c));
                return new Prepared(() => a.Backend.BatchNormBackwardReduce(dy, x, mean, var, s0, s1, n, c, inner, 1e-5f));
            });
            yield return new BenchCase($"{name} bwd", BenchCase.Bytes, 16.0 * total, a =>         // dy, x; dx read + write
            {
                var (x, dy, dx, mean, var, w, s0, s1) = (a.Random(total), a.Random(total), a.Random(total), a.Random(c), a.Random(c, 0.5f, 2f), a.Random(c), a.Random(c), a.Random(c));
                return new Prepared(() => a.Backend.BatchNormBackward(dy, x, mean, var, w, s0, s1, dx, n, c, inner, 1e-5f));
            });
        }

        // A training step's BatchNorm2d, forward and backward, as F.BatchNorm runs it (the kernels above) against the same
        // computation composed of tensor-math ops: the BatchNorm example's first layer, [batch, 16, 28, 28].
        int bs = s.Small ? 2 : 64;
        int[] shape = [bs, 16, 28, 28];
        int numel = bs * 16 * 28 * 28;
        foreach (bool composite in new[] { false, true })
            yield return new BenchCase($"bn2d train fwd+bwd [{bs},16,28,28] {(composite ? "composite" : "F.BatchNorm")}", BenchCase.Bytes, 40.0 * numel, a =>
            {
                // Work: the kernels' traffic (stats 2 reads, normalise 1 read + 1 write, backward reduce 2 reads, backward 3 reads + 1
                // write, of 4-byte floats), for both rows, so the figures compare as times.
                var device = Device.Get(a.Backend.Name, a.Backend switch { CpuBackend cb => cb.Options, IlgpuBackend ib => ib.Options, _ => null });
                var gen = new Generator(1);
                var x = Tensor.Uniform(shape, -1f, 1f, gen, device).Unscoped(); x.RequiresGrad = true;
                var dy = Tensor.Uniform(shape, -1f, 1f, gen, device).Unscoped();
                var w = Tensor.Ones([16], device).Unscoped(); w.RequiresGrad = true;
                var bias = Tensor.Zeros([16], device).Unscoped(); bias.RequiresGrad = true;
                var (rm, rv) = (Tensor.Zeros([16], device).Unscoped(), Tensor.Ones([16], device).Unscoped());
                if (!composite)
                    return new Prepared(() =>
                    {
                        using var scope = new TensorScope();
                        F.BatchNorm(x, rm, rv, w, bias, training: true).Backward(dy);
                    });
                return new Prepared(() =>
                {
                    using var scope = new TensorScope();
                    int[] dims = [0, 2, 3];
                    var mean = F.Mean(x, dims, keepdim: true);
                    var var = F.Var(x, dims, correction: 0, keepdim: true);
                    var y = (x - mean) / F.Sqrt(var + 1e-5f) * w.Reshape(1, 16, 1, 1) + bias.Reshape(1, 16, 1, 1);
                    using (Tensor.NoGrad())
                    {
                        // the running statistics, as F.BatchNorm updates them
                        float n = (float)numel / 16;
                        _ = mean.Reshape(16) * 0.1f + rm * 0.9f;
                        _ = var.Reshape(16) * (0.1f * n / (n - 1)) + rv * 0.9f;
                    }
                    y.Backward(dy);
                });
            });
    }
}
