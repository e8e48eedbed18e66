using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Pooling (kernels/pool): max forward (values and argmax indices) and backward (dx[argmax] += dy), average forward and backward
/// (count_include_pad true and false, ceil_mode), adaptive average forward and backward. Versions: the cpu's vector paths, the
/// ILGPU kernels. Tolerance: 0 for the max forward and its indices (a selection; no ties on random data), 1e-6 relative for the
/// backward passes and the averages (the same additions in the same order on every device; a GPU may contract a multiply-add).
/// Work: bytes read + written.
/// </summary>
public sealed class PoolOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "pool";

    /// <inheritdoc/>
    public override string Summary => "max_pool2d (with argmax), avg_pool2d, adaptive_avg_pool2d: forward, backward";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Pool.Cpu.Simd.cs") : IlgpuVersion("Pool.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        (int n, int c, int h, int w, int k, int s, int p)[] shapes = [(2, 3, 7, 9, 3, 2, 1), (1, 2, 8, 8, 2, 2, 0), (2, 2, 13, 13, 3, 2, 0), (3, 1, 5, 6, 3, 1, 1)];
        foreach (var (n, c, h, w, k, s, p) in shapes)
        {
            var g = new PoolGeometry(n, c, h, w, k, k, s, s, p, p);
            string shape = $"[{n},{c},{h},{w}] k{k} s{s} p{p}";
            using var x = ctx.Floats(g.InputSize); using var y = ctx.Floats(g.OutputSize);
            using var idx = ctx.Ints(new int[g.OutputSize]);
            using var dy = ctx.Floats(g.OutputSize); using var dx = ctx.Floats(g.InputSize);
            ctx.Both((be, v) => be.MaxPool2dForward(g, v(x), v(y), v(idx)));
            ctx.Compare("maxpool forward", shape, y, 0);
            ctx.Compare("maxpool argmax", shape, idx, 0);
            ctx.Both((be, v) => be.MaxPool2dBackward(g, v(dy), v(idx), v(dx)));
            ctx.Compare("maxpool backward", shape, dx, 1e-6);
        }
        // Average pooling: overlapping windows with padding in ceil mode (windows past the padded edge), both divisors.
        (int n, int c, int h, int w, int k, int s, int p, bool ceil)[] avg = [(2, 3, 7, 9, 3, 2, 1, true), (1, 2, 8, 8, 2, 2, 0, false), (2, 2, 13, 37, 3, 1, 1, false)];
        foreach (var (n, c, h, w, k, s, p, ceil) in avg)
        foreach (bool include in new[] { true, false })
        {
            var g = new PoolGeometry(n, c, h, w, k, k, s, s, p, p, "avg_pool2d", ceil);
            string shape = $"[{n},{c},{h},{w}] k{k} s{s} p{p}{(ceil ? " ceil" : "")}{(include ? "" : " exclude-pad")}";
            using var x = ctx.Floats(g.InputSize); using var y = ctx.Floats(g.OutputSize);
            using var dy = ctx.Floats(g.OutputSize); using var dx = ctx.Floats(g.InputSize);
            ctx.Both((be, v) => be.AvgPool2dForward(g, include, v(x), v(y)));
            ctx.Compare("avgpool forward", shape, y, 1e-6);
            ctx.Both((be, v) => be.AvgPool2dBackward(g, include, v(dy), v(dx)));
            ctx.Compare("avgpool backward", shape, dx, 1e-6);
        }
        // Adaptive: overlapping windows (7 → 3), repetition (3 → 6).
        foreach (var (n, c, h, w, oh, ow) in new[] { (2, 3, 7, 5, 3, 2), (1, 2, 3, 2, 6, 5), (2, 4, 13, 13, 6, 6) })
        {
            var g = new AdaptivePoolGeometry(n, c, h, w, oh, ow);
            string shape = $"[{n},{c},{h},{w}] -> {oh}x{ow}";
            using var x = ctx.Floats(g.InputSize); using var y = ctx.Floats(g.OutputSize);
            using var dy = ctx.Floats(g.OutputSize); using var dx = ctx.Floats(g.InputSize);
            ctx.Both((be, v) => be.AdaptiveAvgPool2dForward(g, v(x), v(y)));
            ctx.Compare("adaptive avgpool forward", shape, y, 1e-6);
            ctx.Both((be, v) => be.AdaptiveAvgPool2dBackward(g, v(dy), v(dx)));
            ctx.Compare("adaptive avgpool backward", shape, dx, 1e-6);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // AlexNet-CIFAR's first pool: conv1's output [batch, 64, 32, 32], 2×2 stride 2.
        int b = s.Batch;
        var g = new PoolGeometry(b, 64, 32, 32, 2, 2, 2, 2, 0, 0);
        string shape = $"[{b},64,32,32]";
        yield return new BenchCase($"maxpool fwd {shape}", BenchCase.Bytes, 4.0 * g.InputSize + 8.0 * g.OutputSize, a =>   // x; y + argmax
        {
            var (x, y, idx) = (a.Random(g.InputSize), a.Empty(g.OutputSize), a.Empty(g.OutputSize, DType.Int32));
            return new Prepared(() => a.Backend.MaxPool2dForward(g, x, y, idx));
        }, "memory");
        yield return new BenchCase($"maxpool bwd {shape}", BenchCase.Bytes, 8.0 * g.OutputSize + 8.0 * g.InputSize, a =>   // dy + argmax; dx read + write
        {
            var (x, y, idx) = (a.Random(g.InputSize), a.Empty(g.OutputSize), a.Empty(g.OutputSize, DType.Int32));
            var (dy, dx) = (a.Random(g.OutputSize), a.Random(g.InputSize));
            a.Backend.MaxPool2dForward(g, x, y, idx);   // valid indices
            return new Prepared(() => a.Backend.MaxPool2dBackward(g, dy, idx, dx));
        }, "memory");
        // The same shape averaged (the BatchNorm example's pools), and an overlapping 3×3 stride-1 window with padding.
        foreach (var (k, st, p) in new[] { (2, 2, 0), (3, 1, 1) })
        {
            var ga = new PoolGeometry(b, 64, 32, 32, k, k, st, st, p, p, "avg_pool2d");
            string name = $"{shape} k{k} s{st}";
            yield return new BenchCase($"avgpool fwd {name}", BenchCase.Bytes, 4.0 * ga.InputSize + 4.0 * ga.OutputSize, a =>   // x; y
            {
                var (x, y) = (a.Random(ga.InputSize), a.Empty(ga.OutputSize));
                return new Prepared(() => a.Backend.AvgPool2dForward(ga, true, x, y));
            });
            yield return new BenchCase($"avgpool bwd {name}", BenchCase.Bytes, 4.0 * ga.OutputSize + 8.0 * ga.InputSize, a =>   // dy; dx read + write
            {
                var (dy, dx) = (a.Random(ga.OutputSize), a.Random(ga.InputSize));
                return new Prepared(() => a.Backend.AvgPool2dBackward(ga, true, dy, dx));
            });
        }
        // torchvision AlexNet's adaptive pool on a 13×13 map (a 256×256 image): overlapping windows, the reference loops on the cpu.
        var gp = new AdaptivePoolGeometry(b, 256, 13, 13, 6, 6);
        yield return new BenchCase($"adaptive avgpool fwd [{b},256,13,13]->6x6", BenchCase.Bytes, 4.0 * gp.InputSize + 4.0 * gp.OutputSize, a =>
        {
            var (x, y) = (a.Random(gp.InputSize), a.Empty(gp.OutputSize));
            return new Prepared(() => a.Backend.AdaptiveAvgPool2dForward(gp, x, y));
        });
        yield return new BenchCase($"adaptive avgpool bwd [{b},256,13,13]->6x6", BenchCase.Bytes, 4.0 * gp.OutputSize + 8.0 * gp.InputSize, a =>
        {
            var (dy, dx) = (a.Random(gp.OutputSize), a.Random(gp.InputSize));
            return new Prepared(() => a.Backend.AdaptiveAvgPool2dBackward(gp, dy, dx));
        });
    }
}
