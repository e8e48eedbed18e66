using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// The kernel families of the tensor math, through IBackend on shapes large enough for every vector loop and row tail:
// kernels/broadcast (Broadcast.cs), kernels/reduce/ReduceDim*.cs and kernels/shape (Shape.cs). Each family's Reference against
// the math in double (DMath), then every version (the cpu default, each vector path, the ILGPU kernels) against the Reference:
// bit for bit where the family's card says so (cpu vector paths of the IEEE-exact ops, copies, column sums, max/min), within a
// tolerance elsewhere. And the layout arithmetic: broadcast shapes, the merging of dims, the reduce-to-shape plans.
public class TensorMathKernelTests
{
    static float[] Run(IBackend be, float[][] inputs, int outLength, Action<IBackend, Storage[], Storage> op, float[]? start = null)
    {
        var s = inputs.Select(v => { var t = be.Allocate(v.Length, DType.Float32); be.Upload(v, t); return t; }).ToArray();
        using var y = be.Allocate(outLength, DType.Float32);
        be.Upload(start ?? new float[outLength], y);
        op(be, s, y);
        var r = new float[outLength];
        be.Download(y, r);
        foreach (var t in s) t.Dispose();
        return r;
    }

    static IBackend RefBackend => Backends.Get("cpu", DeviceOptions.ReferenceKernels);

    static bool IsCpuVector(string version) => KernelVersions.Backend(version) is CpuBackend;

    static void Same(float[] expected, float[] actual, bool exact, string what)
    {
        if (exact)
        {
            for (int i = 0; i < expected.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (expected[i] == actual[i]),
                    $"{what}: element {i} is {actual[i]}, the reference {expected[i]} (bit for bit)");
        }
        else TestUtil.AssertClose(expected, actual, 1e-5f, 1e-5f, what);
    }

    static readonly (int[] Out, int[] A, int[] B)[] Layouts =
    [
        ([1003], [1003], [1003]),
        ([37, 70], [37, 70], [70]),
        ([37, 70], [37, 1], [37, 70]),
        ([3, 4, 50], [3, 1, 50], [4, 1]),
        ([2, 33], [], [2, 33]),
        ([5, 3, 2, 20], [5, 1, 2, 1], [3, 1, 20]),
    ];

    static int N(int[] s) => DMath.Numel(s);

    [Fact]
    public void Layout_BroadcastShapes_MergedDims_AndSumToShapePlans()
    {
        Assert.Equal([3, 4, 5], StridedLayout.BroadcastShape([3, 1, 5], [4, 1])!);
        Assert.Null(StridedLayout.BroadcastShape([2, 3], [4]));
        Assert.Equal([1, 0], StridedLayout.BroadcastStrides([4, 1], [4, 4]));
        Assert.Equal([0, 0, 1], StridedLayout.BroadcastStrides([3], [2, 4, 3]));
        // same shape: one dim; a row broadcast: (C, 1) and (0, 1); size-1 dims dropped
        var (d, s) = StridedLayout.Broadcast("t", [2, 3, 4], [2, 3, 4], [2, 3, 4]);
        Assert.Equal(1, d.Rank); Assert.Equal(24, d.N); Assert.Equal(1, s[0].T0);
        (d, s) = StridedLayout.Broadcast("t", [5, 1, 7], [5, 1, 7], [7]);
        Assert.Equal([5, 7], d.ToArray()); Assert.Equal([7, 1], s[0].ToArray(2)); Assert.Equal([0, 1], s[1].ToArray(2));
        // a row broadcast over two leading dims merges them
        (d, s) = StridedLayout.Broadcast("t", [2, 3, 7], [2, 3, 7], [7]);
        Assert.Equal([6, 7], d.ToArray()); Assert.Equal([0, 1], s[1].ToArray(2));
        // plans: column sums, row sums, a middle block, two reduced blocks (the general kernel)
        var p = StridedLayout.SumToShape("t", [37, 70], [70]);
        Assert.Equal((1, 37, 70), (p.Outer, p.Dim, p.Inner));
        p = StridedLayout.SumToShape("t", [37, 70], [37, 1]);
        Assert.Equal((37, 70, 1), (p.Outer, p.Dim, p.Inner));
        p = StridedLayout.SumToShape("t", [3, 4, 50], [3, 1, 50]);
        Assert.Equal((3, 4, 50), (p.Outer, p.Dim, p.Inner));
        p = StridedLayout.SumToShape("t", [3, 4, 50], [4, 1]);
        Assert.False(p.IsOuterDimInner);
        Assert.Equal([4], p.Kept.ToArray()); Assert.Equal([3, 50], p.Reduced.ToArray());
        var e = Assert.Throws<ArgumentException>(() => StridedLayout.Coalesce("op", [2, 2, 2, 2, 2, 2, 2], [[1, 2, 4, 8, 16, 32, 64]]));
        Assert.Contains("op", e.Message);
    }

    /// <summary>The broadcast family's Reference against the math in double: every binary op on every layout, where, SumToShape.</summary>
    [Fact]
    public void Broadcast_Reference_MatchesTheMath()
    {
        var g = new Generator(31);
        foreach (var (shape, sa, sb) in Layouts)
        {
            var a = TestUtil.RandomArray(g, N(sa), 0.5f, 2f); var b = TestUtil.RandomArray(g, N(sb), 0.5f, 2f);
            var (d, s) = StridedLayout.Broadcast("t", shape, sa, sb);
            foreach (var op in Enum.GetValues<BinaryOp>())
            {
                var y = new float[d.N];
                Reference.Binary(op, a, b, y, d, s[0], s[1]);
                Func<double, double, double> f = op switch
                {
                    BinaryOp.Add => (u, v) => u + v, BinaryOp.Sub => (u, v) => u - v, BinaryOp.Mul => (u, v) => u * v, BinaryOp.Div => (u, v) => u / v,
                    BinaryOp.Pow => Math.Pow, BinaryOp.Maximum => Math.Max, BinaryOp.Minimum => Math.Min,
                    BinaryOp.Eq => (u, v) => u == v ? 1 : 0, BinaryOp.Ne => (u, v) => u != v ? 1 : 0, BinaryOp.Lt => (u, v) => u < v ? 1 : 0,
                    BinaryOp.Le => (u, v) => u <= v ? 1 : 0, BinaryOp.Gt => (u, v) => u > v ? 1 : 0, _ => (u, v) => u >= v ? 1 : 0,
                };
                TestUtil.AssertClose(DMath.Map2(TestUtil.ToDouble(a), sa, TestUtil.ToDouble(b), sb, f), y, 1e-6f, 1e-6f, $"{op} {Check.Fmt(sa)} {Check.Fmt(sb)}");
            }
            foreach (var (to, x) in new[] { (sa, a), (sb, b) })
            {
                if (N(to) == d.N) continue;
                var dy = TestUtil.RandomArray(g, d.N);
                var acc = TestUtil.RandomArray(g, N(to));
                var expected = acc.Select(v => (double)v).ToArray();
                // Σ of dy over the output elements that read each input element
                for (int i = 0; i < d.N; i++)
                {
                    var c = DMath.Coords(i, shape);
                    var ct = to.Select((sz, k) => sz == 1 ? 0 : c[k + shape.Length - to.Length]).ToArray();
                    expected[DMath.Flat(ct, to)] += -0.5 * dy[i];
                }
                Reference.SumToShape(dy, acc, StridedLayout.SumToShape("t", shape, to), -0.5f);
                TestUtil.AssertClose(expected, acc, 1e-5f, 1e-5f, $"sum to {Check.Fmt(to)} from {Check.Fmt(shape)}");
            }
        }
    }

    /// <summary>Every version of the broadcast family against its Reference: binary ops (bit for bit on the cpu vector paths),
    /// their gradients, the unary ops and their backward (bit for bit but exp and log), where and SumToShape.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Broadcast_EveryVersion_MatchesTheReference(string version)
    {
        var be = KernelVersions.Backend(version);
        bool cpu = IsCpuVector(version);
        var g = new Generator(32);
        foreach (var (shape, sa, sb) in Layouts)
        {
            var a = TestUtil.RandomArray(g, N(sa), 0.5f, 2f); var b = TestUtil.RandomArray(g, N(sb), 0.5f, 2f);
            var (d, s) = StridedLayout.Broadcast("t", shape, sa, sb);
            var dy = TestUtil.RandomArray(g, d.N); var g0 = TestUtil.RandomArray(g, d.N);
            string tag = $"{version} {Check.Fmt(sa)}⊕{Check.Fmt(sb)}";
            foreach (var op in Enum.GetValues<BinaryOp>())
            {
                Action<IBackend, Storage[], Storage> f = (k, t, y) => k.Binary(op, t[0], t[1], y, d, s[0], s[1]);
                Same(Run(RefBackend, [a, b], d.N, f), Run(be, [a, b], d.N, f), cpu && op != BinaryOp.Pow, $"{tag} {op}");
                if (op >= BinaryOp.Eq) continue;
                for (int which = 0; which < 2; which++)
                {
                    int w = which;
                    Action<IBackend, Storage[], Storage> gr = (k, t, gs) =>
                    {
                        using var y = k.Allocate(d.N, DType.Float32);
                        k.Binary(op, t[0], t[1], y, d, s[0], s[1]);
                        k.BinaryGrad(op, w, t[0], t[1], y, t[2], gs, d, s[0], s[1], accumulate: true);
                    };
                    Same(Run(RefBackend, [a, b, dy], d.N, gr, g0), Run(be, [a, b, dy], d.N, gr, g0), false, $"{tag} {op} grad {w}");
                }
            }
            var c = TestUtil.RandomArray(g, N(sa)).Select(v => v < 0 ? 0f : 1f).ToArray();
            Action<IBackend, Storage[], Storage> wh = (k, t, y) => k.Where(t[0], t[1], t[2], y, d, s[0], s[0], s[1]);
            Same(Run(RefBackend, [c, a, b], d.N, wh), Run(be, [c, a, b], d.N, wh), true, $"{tag} where");
            foreach (var to in new[] { sa, sb })
            {
                if (N(to) == d.N) continue;
                var plan = StridedLayout.SumToShape("t", shape, to);
                var start = TestUtil.RandomArray(g, N(to));
                Action<IBackend, Storage[], Storage> st = (k, t, y) => k.SumToShape(t[0], y, plan, 0.75f);
                Same(Run(RefBackend, [dy], N(to), st, start), Run(be, [dy], N(to), st, start), false, $"{tag} sum to {Check.Fmt(to)}");
            }
        }
        foreach (int n in new[] { 1, 15, 1003, 70_001 })
        {
            if (n > 5000 && !cpu) continue;
            var x = TestUtil.RandomArray(g, n, 0.25f, 2f); var dy = TestUtil.RandomArray(g, n); var dx0 = TestUtil.RandomArray(g, n);
            foreach (var op in Enum.GetValues<UnaryOp>())
            {
                var (p, q) = op == UnaryOp.Clamp ? (0.5f, 1.5f) : (1.7f, 0f);
                Action<IBackend, Storage[], Storage> f = (k, t, y) => k.Unary(op, p, q, t[0], y, n);
                var yr = Run(RefBackend, [x], n, f);
                Same(yr, Run(be, [x], n, f), cpu && BroadcastSimd.IsExactUnary(op), $"{version} {op} n={n}");
                Action<IBackend, Storage[], Storage> bw = (k, t, dx) => k.UnaryBackward(op, p, q, t[0], t[1], t[2], dx, n);
                Same(Run(RefBackend, [x, yr, dy], n, bw, dx0), Run(be, [x, yr, dy], n, bw, dx0), cpu && op is not (UnaryOp.Pow or UnaryOp.RPow), $"{version} {op} backward n={n}");
            }
        }
    }

    static readonly (int Outer, int Dim, int Inner)[] Views = [(1, 1, 1), (2, 1000, 1), (37, 70, 1), (3, 50, 37), (1, 300, 7), (5, 1, 40), (2, 9, 600)];

    /// <summary>The reduce-along-a-dim family's Reference against the math in double.</summary>
    [Fact]
    public void ReduceDim_Reference_MatchesTheMath()
    {
        var g = new Generator(41);
        foreach (var (outer, dim, inner) in Views)
        {
            int[] shape = [outer, dim, inner];
            var x = TestUtil.RandomArray(g, outer * dim * inner, -2f, 2f);
            var xd = TestUtil.ToDouble(x);
            int m = outer * inner;
            var y = new float[m]; var idx = new int[m]; var mean = new float[m];
            Reference.ReduceDim(DimReduction.Sum, x, y, null, null, outer, dim, inner, 0.5f);
            TestUtil.AssertClose(DMath.Reduce(xd, shape, 1, v => 0.5 * v.Sum()), y, 1e-6f, 1e-6f, "sum");
            Reference.ReduceDim(DimReduction.Max, x, y, idx, null, outer, dim, inner, 1f);
            TestUtil.AssertClose(DMath.Reduce(xd, shape, 1, v => v.Max()), y, 0, 0, "max");
            Assert.Equal(DMath.Reduce(xd, shape, 1, v => Array.IndexOf(v, v.Max())).Select(v => (int)v), idx);
            Reference.ReduceDim(DimReduction.Min, x, y, idx, null, outer, dim, inner, 1f);
            Assert.Equal(DMath.Reduce(xd, shape, 1, v => Array.IndexOf(v, v.Min())).Select(v => (int)v), idx);
            Reference.ReduceDim(DimReduction.Var, x, y, null, mean, outer, dim, inner, 1f / Math.Max(1, dim - 1));
            TestUtil.AssertClose(DMath.Reduce(xd, shape, 1, v => dim == 1 ? 0 : DMath.Variance(v, 1)), y, 1e-6f, 1e-5f, "var");
            TestUtil.AssertClose(DMath.Reduce(xd, shape, 1, v => v.Average()), mean, 1e-6f, 1e-5f, "mean");
            foreach (bool log in new[] { false, true })
            {
                var s = new float[x.Length];
                Reference.SoftmaxDim(x, s, outer, dim, inner, log);
                TestUtil.AssertClose(DMath.Softmax(xd, shape, 1, log), s, 1e-6f, 1e-5f, log ? "log_softmax" : "softmax");
            }
        }
    }

    /// <summary>Every version of the reduce-along-a-dim family against its Reference, forward and backward.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void ReduceDim_EveryVersion_MatchesTheReference(string version)
    {
        var be = KernelVersions.Backend(version);
        bool cpu = IsCpuVector(version);
        var g = new Generator(42);
        foreach (var (outer, dim, inner) in Views)
        {
            int n = outer * dim * inner, m = outer * inner;
            string tag = $"{version} [{outer},{dim},{inner}]";
            var x = TestUtil.RandomArray(g, n, -2f, 2f); var dy = TestUtil.RandomArray(g, m); var dx0 = TestUtil.RandomArray(g, n);
            Action<IBackend, Storage[], Storage> sum = (k, t, y) => k.ReduceDim(DimReduction.Sum, t[0], y, null, outer, dim, inner, 0.25f);
            Same(Run(RefBackend, [x], m, sum), Run(be, [x], m, sum), cpu && inner > 1, $"{tag} sum");
            var plan = StridedLayout.SumToShape("t", [outer, dim, inner], [outer, 1, inner]);
            Action<IBackend, Storage[], Storage> sumAcc = (k, t, y) => k.SumToShape(t[0], y, plan, -1.5f);
            Same(Run(RefBackend, [x], m, sumAcc, dy), Run(be, [x], m, sumAcc, dy), cpu && inner > 1, $"{tag} sum accumulate");
            foreach (var op in new[] { DimReduction.Max, DimReduction.Min })
            {
                int[] IndexOf(IBackend k)
                {
                    using var xs = k.Allocate(n, DType.Float32); using var y = k.Allocate(m, DType.Float32); using var i = k.Allocate(m, DType.Int32);
                    k.Upload(x, xs);
                    k.ReduceDim(op, xs, y, i, outer, dim, inner, 1f);
                    var r = new int[m];
                    k.Download(i, r);
                    return r;
                }
                Assert.Equal(IndexOf(RefBackend), IndexOf(be));
                Action<IBackend, Storage[], Storage> f = (k, t, y) => { using var i = k.Allocate(m, DType.Int32); k.ReduceDim(op, t[0], y, i, outer, dim, inner, 1f); };
                Same(Run(RefBackend, [x], m, f), Run(be, [x], m, f), true, $"{tag} {op}");
                Action<IBackend, Storage[], Storage> bw = (k, t, dx) =>
                {
                    using var y = k.Allocate(m, DType.Float32); using var i = k.Allocate(m, DType.Int32);
                    k.ReduceDim(op, t[0], y, i, outer, dim, inner, 1f);
                    k.ReduceDimBackward(op, t[0], i, t[1], dx, outer, dim, inner, 1f);
                };
                Same(Run(RefBackend, [x, dy], n, bw, dx0), Run(be, [x, dy], n, bw, dx0), true, $"{tag} {op} backward");
            }
            Action<IBackend, Storage[], Storage> sbw = (k, t, dx) => k.ReduceDimBackward(DimReduction.Sum, t[0], null, t[1], dx, outer, dim, inner, 0.25f);
            Same(Run(RefBackend, [x, dy], n, sbw, dx0), Run(be, [x, dy], n, sbw, dx0), cpu, $"{tag} sum backward");
            float scale = 1f / Math.Max(1, dim - 1);
            Action<IBackend, Storage[], Storage> v = (k, t, y) => k.ReduceDim(DimReduction.Var, t[0], y, null, outer, dim, inner, scale);
            Same(Run(RefBackend, [x], m, v), Run(be, [x], m, v), false, $"{tag} var");
            Action<IBackend, Storage[], Storage> vbw = (k, t, dx) =>
            {
                using var y = k.Allocate(m, DType.Float32); using var mean = k.Allocate(m, DType.Float32);
                k.ReduceDim(DimReduction.Var, t[0], y, mean, outer, dim, inner, scale);
                k.ReduceDimBackward(DimReduction.Var, t[0], mean, t[1], dx, outer, dim, inner, scale);
            };
            Same(Run(RefBackend, [x, dy], n, vbw, dx0), Run(be, [x, dy], n, vbw, dx0), false, $"{tag} var backward");
            var dyn = TestUtil.RandomArray(g, n);
            foreach (bool log in new[] { false, true })
            {
                Action<IBackend, Storage[], Storage> sm = (k, t, y) => k.SoftmaxDim(t[0], y, outer, dim, inner, log);
                var yr = Run(RefBackend, [x], n, sm);
                Same(yr, Run(be, [x], n, sm), false, $"{tag} softmax log={log}");
                Action<IBackend, Storage[], Storage> smb = (k, t, dx) => k.SoftmaxDimBackward(t[0], t[1], dx, outer, dim, inner, log);
                Same(Run(RefBackend, [yr, dyn], n, smb, dx0), Run(be, [yr, dyn], n, smb, dx0), false, $"{tag} softmax backward log={log}");
            }
        }
    }

    /// <summary>The shape family: the Reference's permutations against DMath, and every version against the Reference bit for bit
    /// (copies, transposes in tiles, expand, narrow, cat slices, accumulating copies, index_select and its adjoint).</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Shape_EveryVersion_MatchesTheReference_AndTheMath(string version)
    {
        var be = KernelVersions.Backend(version);
        var g = new Generator(51);
        foreach (var (shape, p) in new[] { (new[] { 40, 50 }, new[] { 1, 0 }), ([3, 4, 35], [2, 0, 1]), ([2, 33, 20], [0, 2, 1]), ([4, 5, 6, 7], [3, 1, 0, 2]), ([70, 9], [1, 0]) })
        {
            var x = TestUtil.RandomArray(g, N(shape));
            var (d, sx, sy) = Bench.ShapeOp.Permutation(shape, p);
            Action<IBackend, Storage[], Storage> f = (k, t, y) => k.StridedCopy(t[0], y, d, sx, sy, accumulate: false);
            var yr = Run(RefBackend, [x], x.Length, f);
            TestUtil.AssertClose(DMath.Permute(TestUtil.ToDouble(x), shape, p), yr, 0, 0, $"permute {Check.Fmt(shape)}");
            Same(yr, Run(be, [x], x.Length, f), true, $"{version} permute {Check.Fmt(shape)} ({string.Join(",", p)})");
            var start = TestUtil.RandomArray(g, x.Length);
            Action<IBackend, Storage[], Storage> acc = (k, t, y) => k.StridedCopy(t[0], y, d, sx, sy, accumulate: true);
            Same(Run(RefBackend, [x], x.Length, acc, start), Run(be, [x], x.Length, acc, start), true, $"{version} permute accumulate {Check.Fmt(shape)}");
        }
        {
            var (d, s) = StridedLayout.Broadcast("expand", [30, 4, 50], [30, 1, 50], [30, 4, 50]);
            var x = TestUtil.RandomArray(g, 1500);
            Action<IBackend, Storage[], Storage> f = (k, t, y) => k.StridedCopy(t[0], y, d, s[0], s[1], accumulate: false);
            var yr = Run(RefBackend, [x], d.N, f);
            TestUtil.AssertClose(DMath.Expand(TestUtil.ToDouble(x), [30, 1, 50], [30, 4, 50]), yr, 0, 0, "expand");
            Same(yr, Run(be, [x], d.N, f), true, $"{version} expand");
            (d, s) = StridedLayout.Coalesce("narrow", [6, 30, 9], [[450, 9, 1], [270, 9, 1]], [7 * 9, 0]);
            x = TestUtil.RandomArray(g, 2700);
            f = (k, t, y) => k.StridedCopy(t[0], y, d, s[0], s[1], accumulate: false);
            yr = Run(RefBackend, [x], d.N, f);
            TestUtil.AssertClose(DMath.Select(TestUtil.ToDouble(x), [6, 50, 9], 1, [.. Enumerable.Range(7, 30)]), yr, 0, 0, "narrow");
            Same(yr, Run(be, [x], d.N, f), true, $"{version} narrow");
        }
        foreach (var (outer, dimIn, inner, idx) in new[] { (3, 10, 40, new[] { 9, 0, 3, 3, 7 }), (1, 50, 70, new[] { 1, 1, 1, 49 }), (20, 6, 1, new[] { 5, 2 }) })
        {
            int count = idx.Length;
            var x = TestUtil.RandomArray(g, outer * dimIn * inner); var dy = TestUtil.RandomArray(g, outer * count * inner);
            Action<IBackend, Storage[], Storage> f = (k, t, y) =>
            {
                using var i = k.Allocate(count, DType.Int32); k.Upload(idx, i);
                k.IndexSelect(t[0], i, y, outer, dimIn, count, inner);
            };
            var yr = Run(RefBackend, [x], outer * count * inner, f);
            TestUtil.AssertClose(DMath.Select(TestUtil.ToDouble(x), [outer, dimIn, inner], 1, idx), yr, 0, 0, "index_select");
            Same(yr, Run(be, [x], yr.Length, f), true, $"{version} index_select");
            Action<IBackend, Storage[], Storage> bw = (k, t, dx) =>
            {
                using var i = k.Allocate(count, DType.Int32); k.Upload(idx, i);
                k.IndexSelectBackward(i, t[0], dx, outer, dimIn, count, inner);
            };
            var start = TestUtil.RandomArray(g, x.Length);
            var br = Run(RefBackend, [dy], x.Length, bw, start);
            var expected = start.Select(v => (double)v).ToArray();
            for (int o = 0; o < outer; o++) for (int j = 0; j < count; j++) for (int i = 0; i < inner; i++)
                expected[(o * dimIn + idx[j]) * inner + i] += dy[(o * count + j) * inner + i];
            TestUtil.AssertClose(expected, br, 1e-6f, 1e-6f, "index_select backward (repeated indices add up)");
            Same(br, Run(be, [dy], x.Length, bw, start), true, $"{version} index_select backward");
        }
    }
}
