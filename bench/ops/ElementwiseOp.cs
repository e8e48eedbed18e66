using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Element-wise arithmetic (kernels/elementwise): add, mul, axpy, mul_acc, scale, add_broadcast_scalar. Versions: the cpu's
/// vector paths (Elementwise.Cpu.Simd.cs), the ILGPU kernels. Tolerance 1e-6 relative (one rounding per element; the vector
/// paths give the reference's bits). Work: bytes read + written, 4 per float.
/// </summary>
public sealed class ElementwiseOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "elementwise";

    /// <inheritdoc/>
    public override string Summary => "add, mul, axpy, mul_acc, scale, add_broadcast_scalar";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Elementwise.Cpu.Simd.cs") : IlgpuVersion("Elementwise.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        const int n = 1003;
        string shape = $"[{n}]";
        using var a = ctx.Floats(n); using var b = ctx.Floats(n);
        using var y = ctx.Floats(n); using var acc = ctx.Floats(n); using var s = ctx.Floats(1);
        ctx.Both((be, v) => be.Add(v(a), v(b), v(y), n)); ctx.Compare("add", shape, y, 1e-6);
        ctx.Both((be, v) => be.Mul(v(a), v(b), v(y), n)); ctx.Compare("mul", shape, y, 1e-6);
        ctx.Both((be, v) => be.Scale(v(a), -0.7f, v(y), n)); ctx.Compare("scale", shape, y, 1e-6);
        ctx.Both((be, v) => be.Axpy(0.37f, v(a), v(acc), n)); ctx.Compare("axpy", shape, acc, 1e-6);
        ctx.Both((be, v) => be.MulAcc(v(a), v(b), v(acc), n)); ctx.Compare("mul_acc", shape, acc, 1e-6);
        ctx.Both((be, v) => be.AddBroadcastScalar(v(s), -1.5f, v(acc), n)); ctx.Compare("add_broadcast_scalar", shape, acc, 1e-6);
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // 4M floats (16 MiB a buffer) is past any cache: the figures are memory bandwidth.
        int n = s.Small ? 1 << 16 : 1 << 22;
        string shape = $"[{n}]";
        yield return Case($"add {shape}", 12.0 * n, (be, a, b, y) => be.Add(a, b, y, n));        // read a, b; write y
        yield return Case($"mul {shape}", 12.0 * n, (be, a, b, y) => be.Mul(a, b, y, n));
        yield return Case($"scale {shape}", 8.0 * n, (be, a, _, y) => be.Scale(a, 0.5f, y, n));  // read x; write y
        yield return Case($"axpy {shape}", 12.0 * n, (be, a, _, y) => be.Axpy(1e-3f, a, y, n));  // read x, y; write y
        yield return Case($"mul_acc {shape}", 16.0 * n, (be, a, b, y) => be.MulAcc(a, b, y, n)); // read a, b, y; write y

        BenchCase Case(string name, double bytes, Action<IBackend, Storage, Storage, Storage> op) =>
            new(name, BenchCase.Bytes, bytes, arena =>
            {
                var (a, b, y) = (arena.Random(n), arena.Random(n), arena.Random(n));
                return new Prepared(() => op(arena.Backend, a, b, y));
            });
    }
}
