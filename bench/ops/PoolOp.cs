using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Max pooling (kernels/pool): forward (values and argmax indices) and backward (dx[argmax] += dy). Versions: the cpu's vector
/// paths, the ILGPU kernels. Tolerance: 0 for the forward and its indices (a selection; no ties on random data), 1e-6 relative
/// for the backward. Work: bytes read + written.
/// </summary>
public sealed class PoolOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "pool";

    /// <inheritdoc/>
    public override string Summary => "max_pool2d forward (with argmax), backward";

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
    }
}
