using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Element-wise math with broadcasting (kernels/broadcast): binary ops over same-shape, row, column and mixed layouts, their
/// gradients, the unary ops and their backward, where, and the reduce-to-shape adjoint. Versions: the cpu's vector paths
/// (Broadcast.Cpu.Simd.cs), the ILGPU kernels. Tolerances, relative to 1 + max |reference|: 1e-6 for the IEEE-exact ops (one
/// rounding; the vector paths give the reference's bits), 1e-5 for exp, log and pow (another device's math library), 1e-5 for the
/// sums of SumToShape (float sums on a GPU). Work: bytes read + written, 4 per float; `copy` is the ceiling (one read, one write).
/// </summary>
public sealed class BroadcastOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "broadcast";

    /// <inheritdoc/>
    public override string Summary => "a ⊕ b with broadcasting, unary math, where, sum to shape";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Broadcast.Cpu.Simd.cs") : IlgpuVersion("Broadcast.Ilgpu.cs");

    static readonly (int[] Out, int[] A, int[] B)[] Layouts =
    [
        ([1003], [1003], [1003]),              // same shape: one row
        ([37, 70], [37, 70], [70]),            // a row broadcast down the rows
        ([37, 70], [37, 1], [37, 70]),         // a column broadcast along the rows
        ([3, 4, 50], [3, 1, 50], [4, 1]),      // both broadcast, three merged dims
        ([2, 33], [2, 33], []),                // a rank-0 scalar
    ];

    static string Fmt(int[] s) => "[" + string.Join(",", s) + "]";

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        foreach (var (shape, sa, sb) in Layouts)
        {
            var (d, s) = StridedLayout.Broadcast("check", shape, sa, sb);
            int n = d.N, na = Numel(sa), nb = Numel(sb);
            string tag = $"{Fmt(sa)}⊕{Fmt(sb)}";
            using var a = ctx.Floats(ctx.Rand(na, 0.5f, 2f)); using var b = ctx.Floats(ctx.Rand(nb, 0.5f, 2f));
            using var y = ctx.Floats(n); using var dy = ctx.Floats(n); using var g = ctx.Floats(n);
            foreach (var op in Enum.GetValues<BinaryOp>())
            {
                ctx.Both((be, v) => be.Binary(op, v(a), v(b), v(y), d, s[0], s[1]));
                ctx.Compare(op.ToString().ToLowerInvariant(), tag, y, op == BinaryOp.Pow ? 1e-5 : 1e-6);
            }
            foreach (var op in new[] { BinaryOp.Mul, BinaryOp.Div, BinaryOp.Pow, BinaryOp.Maximum })
                for (int which = 0; which < 2; which++)
                {
                    int w = which;
                    ctx.Both((be, v) =>
                    {
                        be.Binary(op, v(a), v(b), v(y), d, s[0], s[1]);
                        be.BinaryGrad(op, w, v(a), v(b), v(y), v(dy), v(g), d, s[0], s[1], accumulate: true);
                    });
                    ctx.Compare($"{op.ToString().ToLowerInvariant()} grad {(w == 0 ? "a" : "b")}", tag, g, 1e-5);
                }
            using var c = ctx.Floats(ctx.Rand(na).Select(v => v < 0 ? 0f : 1f).ToArray());
            ctx.Both((be, v) => be.Where(v(c), v(a), v(b), v(y), d, s[0], s[0], s[1]));
            ctx.Compare("where", tag, y, 0);
            foreach (var (from, to) in new[] { (shape, sa), (shape, sb) })
            {
                if (Numel(to) == n) continue;
                var plan = StridedLayout.SumToShape("check", from, to);
                using var acc = ctx.Floats(Numel(to));
                ctx.Both((be, v) => be.SumToShape(v(dy), v(acc), plan, -0.5f));
                ctx.Compare("sum_to_shape", $"{Fmt(from)}→{Fmt(to)}", acc, 1e-5);
            }
        }
        const int m = 1003;
        using var x = ctx.Floats(ctx.Rand(m, 0.25f, 2f)); using var xu = ctx.Floats(m); using var dxu = ctx.Floats(m); using var dyu = ctx.Floats(m);
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            var (p, q) = op == UnaryOp.Clamp ? (0.5f, 1.5f) : (1.7f, 0f);
            bool exact = op is not (UnaryOp.Exp or UnaryOp.Log or UnaryOp.Pow or UnaryOp.RPow);
            ctx.Both((be, v) => be.Unary(op, p, q, v(x), v(xu), m));
            ctx.Compare(op.ToString().ToLowerInvariant(), $"[{m}]", xu, exact ? 1e-6 : 1e-5);
            ctx.Both((be, v) => be.UnaryBackward(op, p, q, v(x), v(xu), v(dyu), v(dxu), m));
            ctx.Compare(op.ToString().ToLowerInvariant() + " backward", $"[{m}]", dxu, 1e-5);
        }
    }

    static int Numel(int[] s) => s.Aggregate(1, (p, v) => p * v);

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // 4M floats (16 MiB a buffer, past any cache): memory bandwidth. A copy (read + write) is the ceiling of every case.
        int r = s.Small ? 256 : 2048, n = r * r;
        string sq = $"[{r},{r}]";
        yield return new BenchCase($"copy [{n}] (ceiling)", BenchCase.Bytes, 8.0 * n, a =>
        {
            var (x, y) = (a.Random(n), a.Empty(n));
            return new Prepared(() => a.Backend.Copy(x, y, n));
        });
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Div, BinaryOp.Maximum })
            yield return Binary($"{op.ToString().ToLowerInvariant()} {sq} same shape", op, [r, r], [r, r], [r, r], 12.0 * n);
        yield return Binary($"add {sq} + [{r}] (row)", BinaryOp.Add, [r, r], [r, r], [r], 8.0 * n + 4.0 * r);
        yield return Binary($"mul {sq} * [{r},1] (column)", BinaryOp.Mul, [r, r], [r, r], [r, 1], 8.0 * n + 4.0 * r);
        yield return Binary($"sub [{r},1] - [{r}] (outer)", BinaryOp.Sub, [r, r], [r, 1], [r], 4.0 * n + 8.0 * r);
        foreach (var (op, p, q) in new[] { (UnaryOp.Neg, 0f, 0f), (UnaryOp.Clamp, -0.5f, 0.5f), (UnaryOp.Exp, 0f, 0f) })
            yield return new BenchCase($"{op.ToString().ToLowerInvariant()} [{n}]", BenchCase.Bytes, 8.0 * n, a =>
            {
                var (x, y) = (a.Random(n), a.Empty(n));
                return new Prepared(() => a.Backend.Unary(op, p, q, x, y, n));
            });
        foreach (var (name, to) in new[] { ($"sum_to_shape {sq} → [{r}]", new[] { r }), ($"sum_to_shape {sq} → [{r},1]", new[] { r, 1 }) })
            yield return new BenchCase(name, BenchCase.Bytes, 4.0 * n + 8.0 * r, a =>
            {
                var plan = StridedLayout.SumToShape("bench", [r, r], to);
                var (x, y) = (a.Random(n), a.Random(r));
                return new Prepared(() => a.Backend.SumToShape(x, y, plan, 1f));
            });
    }

    static BenchCase Binary(string name, BinaryOp op, int[] shape, int[] sa, int[] sb, double bytes) =>
        new(name, BenchCase.Bytes, bytes, arena =>
        {
            var (d, s) = StridedLayout.Broadcast("bench", shape, sa, sb);
            var (a, b, y) = (arena.Random(Numel(sa), 0.5f, 2f), arena.Random(Numel(sb), 0.5f, 2f), arena.Empty(d.N));
            return new Prepared(() => arena.Backend.Binary(op, a, b, y, d, s[0], s[1]));
        });
}
