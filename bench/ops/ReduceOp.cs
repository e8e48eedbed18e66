using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Reductions (kernels/reduce): the sum of a vector, the argmax of each row. Versions: the cpu's vector paths, the ILGPU
/// kernels. Tolerance: 1e-6·Σ|x| absolute for the sum (its rounding error grows with Σ|x|, not with |Σx|), 0 for argmax (no ties
/// on random data). Work: bytes read + written.
/// </summary>
public sealed class ReduceOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "reduce";

    /// <inheritdoc/>
    public override string Summary => "sum, argmax per row";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Reduce.Cpu.Simd.cs") : IlgpuVersion("Reduce.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        foreach (int n in new[] { 1, 1000, 70001 })
        {
            var data = ctx.Rand(n);
            double abs = data.Sum(v => Math.Abs((double)v));
            using var x = ctx.Floats(data); using var y = ctx.Floats(1);
            ctx.Both((be, v) => be.Sum(v(x), v(y), n));
            ctx.Compare("sum", $"[{n}]", y, 0, absolute: 1e-6 * abs);
        }
        foreach (var (n, c) in new[] { (13, 10), (1, 1000), (64, 7) })
        {
            using var x = ctx.Floats(n * c); using var idx = ctx.Ints(new int[n]);
            ctx.Both((be, v) => be.ArgmaxRows(v(x), v(idx), n, c));
            ctx.Compare("argmax", $"[{n},{c}]", idx, 0);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        int n = s.Small ? 1 << 16 : 1 << 22;
        yield return new BenchCase($"sum [{n}]", BenchCase.Bytes, 4.0 * n, a =>   // read x
        {
            var (x, y) = (a.Random(n), a.Empty(1));
            return new Prepared(() => a.Backend.Sum(x, y, n));
        });
        int rows = s.Small ? 64 : 4096, c = 1000;
        yield return new BenchCase($"argmax [{rows},{c}]", BenchCase.Bytes, 4.0 * rows * c + 4.0 * rows, a =>   // read x; write idx
        {
            var (x, idx) = (a.Random(rows * c), a.Empty(rows, DType.Int32));
            return new Prepared(() => a.Backend.ArgmaxRows(x, idx, rows, c));
        });
    }
}
