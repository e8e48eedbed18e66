using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Data movement (kernels/shape): the strided copy behind permute, transpose, expand, narrow and cat (forward, and accumulating for
/// their backward), index_select and its adjoint. Versions: the cpu's vector paths (Shape.Cpu.Simd.cs), the ILGPU kernels.
/// Tolerance 0 for copies (they move bits) and 1e-6 for the accumulating ones. Work: bytes read + written; `copy` is the ceiling.
/// </summary>
public sealed class ShapeOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "shape";

    /// <inheritdoc/>
    public override string Summary => "strided copy (permute, expand, narrow, cat), index_select";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Shape.Cpu.Simd.cs") : IlgpuVersion("Shape.Ilgpu.cs");

    /// <summary>A permutation of a contiguous shape as a strided copy: the merged dims and (x, y) strides.</summary>
    public static (Dims6 D, Strides6 X, Strides6 Y) Permutation(int[] shape, int[] p)
    {
        var xs = StridedLayout.ContiguousStrides(shape);
        var ys = p.Select(k => shape[k]).ToArray();
        var (d, s) = StridedLayout.Coalesce("permute", ys, [p.Select(k => xs[k]).ToArray(), StridedLayout.ContiguousStrides(ys)]);
        return (d, s[0], s[1]);
    }

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        var copies = new List<(string Name, int N, int NY, Dims6 D, Strides6 X, Strides6 Y)>();
        foreach (var (shape, p) in new[] { (new[] { 40, 50 }, new[] { 1, 0 }), ([3, 4, 35], [2, 0, 1]), ([2, 33, 20], [0, 2, 1]), ([4, 5, 6, 7], [3, 1, 0, 2]) })
        {
            var (d, x, y) = Permutation(shape, p);
            copies.Add(($"permute [{string.Join(",", shape)}] ({string.Join(",", p)})", d.N, d.N, d, x, y));
        }
        {
            var (d, s) = StridedLayout.Broadcast("expand", [30, 4, 50], [30, 1, 50], [30, 4, 50]);
            copies.Add(("expand [30,1,50]→[30,4,50]", 1500, d.N, d, s[0], s[1]));
            (d, s) = StridedLayout.Broadcast("expand", [40, 33], [40, 1], [40, 33]);
            copies.Add(("expand [40,1]→[40,33]", 40, d.N, d, s[0], s[1]));
            // narrow dim 1 of [6, 50, 9] to 7..36; cat: a [6, 20, 9] into dims 5..24 of a [6, 40, 9]
            (d, s) = StridedLayout.Coalesce("narrow", [6, 30, 9], [[450, 9, 1], [270, 9, 1]], [7 * 9, 0]);
            copies.Add(("narrow [6,50,9] dim 1", 2700, d.N, d, s[0], s[1]));
            (d, s) = StridedLayout.Coalesce("cat", [6, 20, 9], [[180, 9, 1], [360, 9, 1]], [0, 5 * 9]);
            copies.Add(("cat slice [6,20,9]→[6,40,9]", d.N, 2160, d, s[0], s[1]));
        }
        foreach (var (name, nx, ny, d, sx, sy) in copies)
        {
            using var x = ctx.Floats(nx); using var y = ctx.Floats(ny);
            ctx.Both((be, v) => be.StridedCopy(v(x), v(y), d, sx, sy, accumulate: false));
            ctx.Compare(name, d.ToString(), y, 0);
            ctx.Both((be, v) => be.StridedCopy(v(x), v(y), d, sx, sy, accumulate: true));
            ctx.Compare(name + " accumulate", d.ToString(), y, 1e-6);
        }
        foreach (var (outer, dimIn, inner, idx) in new[] { (3, 10, 40, new[] { 9, 0, 3, 3, 7 }), (1, 50, 70, new[] { 1, 1, 1, 49 }), (20, 6, 1, new[] { 5, 2 }) })
        {
            int count = idx.Length;
            string shape = $"[{outer},{dimIn},{inner}] index [{string.Join(",", idx)}]";
            using var x = ctx.Floats(outer * dimIn * inner); using var y = ctx.Floats(outer * count * inner); using var index = ctx.Ints(idx);
            ctx.Both((be, v) => be.IndexSelect(v(x), v(index), v(y), outer, dimIn, count, inner));
            ctx.Compare("index_select", shape, y, 0);
            ctx.Both((be, v) => be.IndexSelectBackward(v(index), v(y), v(x), outer, dimIn, count, inner));
            ctx.Compare("index_select backward", shape, x, 1e-6);
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
        yield return Copy($"transpose [{r},{r}]", n, n, Permutation([r, r], [1, 0]));
        int b = s.Small ? 4 : 16, c = n / (b * 64);
        yield return Copy($"permute [{b},64,{c}] (2,0,1)", n, n, Permutation([b, 64, c], [2, 0, 1]));
        yield return Copy($"permute [{b},64,{c}] (1,0,2)", n, n, Permutation([b, 64, c], [1, 0, 2]));
        {
            var (d, st) = StridedLayout.Broadcast("expand", [r, r], [r, 1], [r, r]);
            yield return Copy($"expand [{r},1]→[{r},{r}]", r, n, (d, st[0], st[1]), bytes: 4.0 * r + 4.0 * n);
            (d, st) = StridedLayout.Broadcast("expand", [r, r], [r], [r, r]);
            yield return Copy($"expand [{r}]→[{r},{r}]", r, n, (d, st[0], st[1]), bytes: 4.0 * r + 4.0 * n);
            (d, st) = StridedLayout.Coalesce("narrow", [r, r / 2], [[r, 1], [r / 2, 1]], [r / 4, 0]);
            yield return Copy($"narrow [{r},{r}] dim 1 to {r / 2}", n, n / 2, (d, st[0], st[1]));
        }
        yield return new BenchCase($"index_select [{r},{r}] dim 0, {r} rows", BenchCase.Bytes, 8.0 * n + 4.0 * r, a =>
        {
            var (x, y, i) = (a.Random(n), a.Empty(n), a.RandomInts(r, r));
            return new Prepared(() => a.Backend.IndexSelect(x, i, y, 1, r, r, r));
        });
    }

    static BenchCase Copy(string name, int nx, int ny, (Dims6 D, Strides6 X, Strides6 Y) plan, double? bytes = null) =>
        new(name, BenchCase.Bytes, bytes ?? 4.0 * (plan.D.N + plan.D.N), a =>
        {
            var (x, y) = (a.Random(nx), a.Empty(ny));
            return new Prepared(() => a.Backend.StridedCopy(x, y, plan.D, plan.X, plan.Y, accumulate: false));
        });
}
