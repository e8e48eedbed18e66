using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Reductions along one dimension of an [outer, dim, inner] view (kernels/reduce/ReduceDim*.cs): sum (and mean), max and min with
/// their index, var, softmax and log_softmax, forward and backward. Versions: the cpu's vector paths (ReduceDim.Cpu.Simd.cs: sum and
/// max/min; var and softmax run the reference loops), the ILGPU kernels. Tolerances, relative to 1 + max |reference|: 1e-5 for the
/// sums (the cpu sums rows in another order, a GPU in float), 0 for max/min values and indices (no ties in random data), 1e-5 for
/// var and softmax. Work: bytes read + written; `copy` of the input's size is the ceiling.
/// </summary>
public sealed class ReduceDimOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "reducedim";

    /// <inheritdoc/>
    public override string Summary => "sum, max/min + index, var, softmax along a dim";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("ReduceDim.Cpu.Simd.cs") : IlgpuVersion("ReduceDim.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        // long rows, short rows, columns (inner > 1, with a tail shorter than a vector), one long column
        foreach (var (outer, dim, inner) in new[] { (2, 1000, 1), (37, 70, 1), (3, 50, 37), (1, 300, 7), (5, 1, 40) })
        {
            int n = outer * dim * inner, m = outer * inner;
            string shape = $"[{outer},{dim},{inner}]";
            using var x = ctx.Floats(n); using var y = ctx.Floats(m); using var dy = ctx.Floats(m); using var dx = ctx.Floats(n);
            using var index = ctx.Ints(new int[m]); using var mean = ctx.Floats(m);
            ctx.Both((be, v) => be.ReduceDim(DimReduction.Sum, v(x), v(y), null, outer, dim, inner, 1f / dim));
            ctx.Compare("mean", shape, y, 1e-5);
            ctx.Both((be, v) => be.ReduceDimBackward(DimReduction.Sum, v(x), null, v(dy), v(dx), outer, dim, inner, 0.5f));
            ctx.Compare("sum backward", shape, dx, 1e-6);
            foreach (var op in new[] { DimReduction.Max, DimReduction.Min })
            {
                ctx.Both((be, v) => be.ReduceDim(op, v(x), v(y), v(index), outer, dim, inner, 1f));
                ctx.Compare(op.ToString().ToLowerInvariant(), shape, y, 0);
                ctx.Compare($"{op.ToString().ToLowerInvariant()} index", shape, index, 0);
                ctx.Both((be, v) => be.ReduceDimBackward(op, v(x), v(index), v(dy), v(dx), outer, dim, inner, 1f));
                ctx.Compare($"{op.ToString().ToLowerInvariant()} backward", shape, dx, 1e-6);
            }
            float scale = 1f / Math.Max(1, dim - 1);
            ctx.Both((be, v) => be.ReduceDim(DimReduction.Var, v(x), v(y), v(mean), outer, dim, inner, scale));
            ctx.Compare("var", shape, y, 1e-5);
            ctx.Compare("var mean", shape, mean, 1e-5);
            ctx.Both((be, v) => be.ReduceDimBackward(DimReduction.Var, v(x), v(mean), v(dy), v(dx), outer, dim, inner, scale));
            ctx.Compare("var backward", shape, dx, 1e-5);
            using var s = ctx.Floats(n); using var ds = ctx.Floats(n);
            foreach (bool log in new[] { false, true })
            {
                string name = log ? "log_softmax" : "softmax";
                ctx.Both((be, v) => be.SoftmaxDim(v(x), v(s), outer, dim, inner, log));
                ctx.Compare(name, shape, s, 1e-5);
                ctx.Both((be, v) => be.SoftmaxDimBackward(v(s), v(dx), v(ds), outer, dim, inner, log));
                ctx.Compare(name + " backward", shape, ds, 1e-5);
            }
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        int r = s.Small ? 256 : 2048, n = r * r;
        yield return new BenchCase($"copy [{n}] (ceiling)", BenchCase.Bytes, 8.0 * n, a =>
        {
            var (x, y) = (a.Random(n), a.Empty(n));
            return new Prepared(() => a.Backend.Copy(x, y, n));
        });
        // dim -1 of [r, r]: rows (inner = 1); dim 0: columns (inner = r)
        foreach (var (name, outer, inner) in new[] { ("dim -1", r, 1), ("dim 0", 1, r) })
        {
            yield return new BenchCase($"sum [{r},{r}] {name}", BenchCase.Bytes, 4.0 * n + 4.0 * r, a =>
            {
                var (x, y) = (a.Random(n), a.Empty(r));
                return new Prepared(() => a.Backend.ReduceDim(DimReduction.Sum, x, y, null, outer, r, inner, 1f));
            });
            yield return new BenchCase($"max [{r},{r}] {name}", BenchCase.Bytes, 4.0 * n + 8.0 * r, a =>
            {
                var (x, y, i) = (a.Random(n), a.Empty(r), a.Empty(r, DType.Int32));
                return new Prepared(() => a.Backend.ReduceDim(DimReduction.Max, x, y, i, outer, r, inner, 1f));
            });
            yield return new BenchCase($"var [{r},{r}] {name}", BenchCase.Bytes, 4.0 * n + 8.0 * r, a =>
            {
                var (x, y, m) = (a.Random(n), a.Empty(r), a.Empty(r));
                return new Prepared(() => a.Backend.ReduceDim(DimReduction.Var, x, y, m, outer, r, inner, 1f / (r - 1)));
            });
            yield return new BenchCase($"softmax [{r},{r}] {name}", BenchCase.Bytes, 8.0 * n, a =>
            {
                var (x, y) = (a.Random(n), a.Empty(n));
                return new Prepared(() => a.Backend.SoftmaxDim(x, y, outer, r, inner, false));
            });
        }
    }
}
