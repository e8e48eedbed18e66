using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Bias (kernels/bias): y[o, c, i] += b[c], and its gradient db[c] += Σ dy[o, c, i]. Versions: the cpu's vector paths, the
/// ILGPU kernels. Tolerance: 1e-6 relative for the add; 2e-6·√(outer·inner) for the backward, a sum in device order. Work:
/// bytes read + written.
/// </summary>
public sealed class BiasOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "bias";

    /// <inheritdoc/>
    public override string Summary => "bias add, bias backward";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Bias.Cpu.Simd.cs") : IlgpuVersion("Bias.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        foreach (var (outer, ch, inner) in new[] { (3, 7, 29), (1, 5, 1), (64, 10, 1), (2, 33, 17) })
        {
            int n = outer * ch * inner;
            string shape = $"[{outer},{ch},{inner}]";
            using var y = ctx.Floats(n); using var b = ctx.Floats(ch); using var db = ctx.Floats(ch);
            ctx.Both((be, v) => be.BiasAdd(v(y), v(b), outer, ch, inner));
            ctx.Compare("bias add", shape, y, 1e-6);
            ctx.Both((be, v) => be.BiasBackward(v(y), v(db), outer, ch, inner));
            ctx.Compare("bias backward", shape, db, 2e-6 * Math.Sqrt(outer * inner));
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // conv1's output [batch, 64, 32, 32] (the linear layers' [batch, 4096] bias is small next to it).
        int outer = s.Batch, ch = 64, inner = 32 * 32, n = outer * ch * inner;
        string shape = $"[{outer},{ch},{inner}]";
        yield return new BenchCase($"bias add {shape}", BenchCase.Bytes, 8.0 * n + 4.0 * ch, a =>   // read y, b; write y
        {
            var (y, b) = (a.Random(n), a.Random(ch));
            return new Prepared(() => a.Backend.BiasAdd(y, b, outer, ch, inner));
        });
        yield return new BenchCase($"bias backward {shape}", BenchCase.Bytes, 4.0 * n + 8.0 * ch, a =>   // read dy; db read + write
        {
            var (dy, db) = (a.Random(n), a.Random(ch));
            return new Prepared(() => a.Backend.BiasBackward(dy, db, outer, ch, inner));
        });
    }
}
