namespace ScratchNet.Tests;

/// <summary>
/// The math of the tensor ops in double, written from their definitions with plain loops over row-major arrays, independent of
/// the engine and its kernels: the oracle of the finite-difference gradient checks (TensorMathTests) and of the kernel families'
/// references (TensorMathKernelTests).
/// </summary>
public static class DMath
{
    public static int Numel(int[] shape) => shape.Aggregate(1, (p, v) => p * v);

    public static int[] Strides(int[] shape)
    {
        var t = new int[shape.Length];
        for (int k = shape.Length - 1, s = 1; k >= 0; s *= shape[k], k--) t[k] = s;
        return t;
    }

    /// <summary>Coordinates of flat index i in shape.</summary>
    public static int[] Coords(int i, int[] shape)
    {
        var c = new int[shape.Length];
        for (int k = shape.Length - 1; k >= 0; k--) { c[k] = i % shape[k]; i /= shape[k]; }
        return c;
    }

    public static int Flat(int[] c, int[] shape)
    {
        int i = 0;
        for (int k = 0; k < shape.Length; k++) i = i * shape[k] + c[k];
        return i;
    }

    public static int[] BroadcastShape(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        return Enumerable.Range(0, rank).Select(k => shapes.Select(s => k - (rank - s.Length) is var j and >= 0 ? s[j] : 1).Max()).ToArray();
    }

    /// <summary>x of shape <paramref name="from"/> repeated to <paramref name="to"/> (NumPy broadcasting).</summary>
    public static double[] Expand(double[] x, int[] from, int[] to)
    {
        var y = new double[Numel(to)];
        for (int i = 0; i < y.Length; i++)
        {
            var c = Coords(i, to);
            var cf = new int[from.Length];
            for (int k = 0; k < from.Length; k++) cf[k] = from[k] == 1 ? 0 : c[k + to.Length - from.Length];
            y[i] = x[Flat(cf, from)];
        }
        return y;
    }

    public static double[] Map(double[] x, Func<double, double> f) => x.Select(f).ToArray();

    public static double[] Map2(double[] a, int[] sa, double[] b, int[] sb, Func<double, double, double> f)
    {
        var s = BroadcastShape(sa, sb);
        var ea = Expand(a, sa, s); var eb = Expand(b, sb, s);
        return ea.Select((v, i) => f(v, eb[i])).ToArray();
    }

    /// <summary>f of the values along dim k for each output position (the output in [outer, inner] order).</summary>
    public static double[] Reduce(double[] x, int[] shape, int k, Func<double[], double> f)
    {
        int outer = shape.Take(k).Aggregate(1, (p, v) => p * v), n = shape[k], inner = shape.Skip(k + 1).Aggregate(1, (p, v) => p * v);
        var y = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
                y[o * inner + i] = f(Enumerable.Range(0, n).Select(d => x[(o * n + d) * inner + i]).ToArray());
        return y;
    }

    public static double Variance(double[] v, int correction)
    {
        double m = v.Average();
        return v.Sum(e => (e - m) * (e - m)) / Math.Max(0, v.Length - correction);
    }

    /// <summary>softmax (or log_softmax) along k.</summary>
    public static double[] Softmax(double[] x, int[] shape, int k, bool log)
    {
        int outer = shape.Take(k).Aggregate(1, (p, v) => p * v), n = shape[k], inner = shape.Skip(k + 1).Aggregate(1, (p, v) => p * v);
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                var at = Enumerable.Range(0, n).Select(d => (o * n + d) * inner + i).ToArray();
                double m = at.Max(j => x[j]), s = at.Sum(j => Math.Exp(x[j] - m));
                foreach (int j in at) y[j] = log ? x[j] - m - Math.Log(s) : Math.Exp(x[j] - m) / s;
            }
        return y;
    }

    public static double[] Permute(double[] x, int[] shape, int[] p)
    {
        var ys = p.Select(k => shape[k]).ToArray();
        var y = new double[x.Length];
        for (int i = 0; i < y.Length; i++)
        {
            var c = Coords(i, ys);
            var cx = new int[shape.Length];
            for (int k = 0; k < p.Length; k++) cx[p[k]] = c[k];
            y[i] = x[Flat(cx, shape)];
        }
        return y;
    }

    /// <summary>The elements of x whose coordinate along k passes keep(coordinate) → its position in y's dim k.</summary>
    public static double[] Select(double[] x, int[] shape, int k, int[] index)
    {
        var ys = (int[])shape.Clone(); ys[k] = index.Length;
        var y = new double[Numel(ys)];
        for (int i = 0; i < y.Length; i++)
        {
            var c = Coords(i, ys);
            c[k] = index[c[k]];
            y[i] = x[Flat(c, shape)];
        }
        return y;
    }

    public static double[] Cat(double[][] xs, int[][] shapes, int k)
    {
        var ys = (int[])shapes[0].Clone(); ys[k] = shapes.Sum(s => s[k]);
        var y = new double[Numel(ys)];
        for (int i = 0; i < y.Length; i++)
        {
            var c = Coords(i, ys);
            int t = 0;
            while (c[k] >= shapes[t][k]) { c[k] -= shapes[t][k]; t++; }
            y[i] = xs[t][Flat(c, shapes[t])];
        }
        return y;
    }

    /// <summary>torch.matmul for operands of rank ≥ 2 (batch dims broadcast): [..., M, K] · [..., K, N].</summary>
    public static double[] MatMul(double[] a, int[] sa, double[] b, int[] sb)
    {
        int m = sa[^2], k = sa[^1], n = sb[^1];
        var batch = BroadcastShape(sa[..^2], sb[..^2]);
        var ea = Expand(a, sa, [.. batch, m, k]); var eb = Expand(b, sb, [.. batch, k, n]);
        int count = Numel(batch);
        var y = new double[count * m * n];
        for (int t = 0; t < count; t++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += ea[(t * m + i) * k + p] * eb[(t * k + p) * n + j];
                    y[(t * m + i) * n + j] = s;
                }
        return y;
    }
}

/// <summary>
/// One op of the tensor-math API as a test case: its inputs' shapes and value range, the op on tensors, the same math in double
/// (DMath), and the same op in PyTorch (an expression over the inputs a, b, c). Inputs listed in <see cref="NoGrad"/> (a where's
/// condition, an index) get no gradient; <see cref="Smooth"/> = false skips the finite differences (integer outputs).
/// </summary>
public sealed record MathCase(string Name, int[][] Shapes, Func<Tensor[], Tensor> Op, Func<double[][], double[]>? Math, string Torch,
    float Lo = -1f, float Hi = 1f, int[]? NoGrad = null, bool Smooth = true, Func<Generator, int, int, float[]>? Data = null)
{
    public override string ToString() => Name;

    /// <summary>The inputs: uniform in [Lo, Hi) (or Data(gen, input, n)), seeded by the case name.</summary>
    public float[][] Inputs(int seed = 0)
    {
        var g = new Generator((ulong)(Name.Aggregate(17, (h, ch) => h * 31 + ch) & 0x7fffffff) + (ulong)seed);
        return Shapes.Select((s, i) => Data?.Invoke(g, i, DMath.Numel(s)) ?? TestUtil.RandomArray(g, DMath.Numel(s), Lo, Hi)).ToArray();
    }

    public bool Grad(int input) => Smooth && !(NoGrad?.Contains(input) ?? false);
}

/// <summary>The cases of every op (shapes small enough for ILGPU's CPU simulator).</summary>
public static class MathCases
{
    static double[] D(double[][] x, int i) => x[i];

    static float[] Mask(Generator g, int input, int n) => input == 0 ? Enumerable.Range(0, n).Select(_ => g.NextFloat() < 0.5f ? 0f : 1f).ToArray() : TestUtil.RandomArray(g, n);
    static float[] Positive(Generator g, int input, int n) => TestUtil.RandomArray(g, n, 0.5f, 2f);

    public static readonly MathCase[] All =
    [
        // ---- binary with broadcasting
        new("add [3,1,5]+[4,1]", [[3, 1, 5], [4, 1]], t => t[0] + t[1], x => DMath.Map2(D(x, 0), [3, 1, 5], D(x, 1), [4, 1], (a, b) => a + b), "a + b"),
        new("add [2,3]+[]", [[2, 3], []], t => F.Add(t[0], t[1]), x => DMath.Map2(D(x, 0), [2, 3], D(x, 1), [], (a, b) => a + b), "a + b"),
        new("sub [2,3]-[3]", [[2, 3], [3]], t => t[0] - t[1], x => DMath.Map2(D(x, 0), [2, 3], D(x, 1), [3], (a, b) => a - b), "a - b"),
        new("sub [3]-[2,3]", [[3], [2, 3]], t => t[0] - t[1], x => DMath.Map2(D(x, 0), [3], D(x, 1), [2, 3], (a, b) => a - b), "a - b"),
        new("mul [4,1]*[1,5]", [[4, 1], [1, 5]], t => t[0] * t[1], x => DMath.Map2(D(x, 0), [4, 1], D(x, 1), [1, 5], (a, b) => a * b), "a * b"),
        new("mul [2,3,4]*[3,4]", [[2, 3, 4], [3, 4]], t => t[0] * t[1], x => DMath.Map2(D(x, 0), [2, 3, 4], D(x, 1), [3, 4], (a, b) => a * b), "a * b"),
        new("div [3,4]/[3,1]", [[3, 4], [3, 1]], t => t[0] / t[1], x => DMath.Map2(D(x, 0), [3, 4], D(x, 1), [3, 1], (a, b) => a / b), "a / b", 0.5f, 2f),
        new("pow [3,4]^[4]", [[3, 4], [4]], t => F.Pow(t[0], t[1]), x => DMath.Map2(D(x, 0), [3, 4], D(x, 1), [4], Math.Pow), "torch.pow(a, b)", 0.5f, 2f),
        new("maximum [2,3,4],[3,1]", [[2, 3, 4], [3, 1]], t => F.Maximum(t[0], t[1]), x => DMath.Map2(D(x, 0), [2, 3, 4], D(x, 1), [3, 1], Math.Max), "torch.maximum(a, b)"),
        new("minimum [5],[]", [[5], []], t => F.Minimum(t[0], t[1]), x => DMath.Map2(D(x, 0), [5], D(x, 1), [], Math.Min), "torch.minimum(a, b)"),
        new("gt [3,4],[4]", [[3, 4], [4]], t => F.Gt(t[0], t[1]), x => DMath.Map2(D(x, 0), [3, 4], D(x, 1), [4], (a, b) => a > b ? 1 : 0), "(a > b).float()", Smooth: false),
        new("where [3,1],[3,4],[4]", [[3, 1], [3, 4], [4]], t => F.Where(t[0], t[1], t[2]),
            x => DMath.Map2(DMath.Map2(D(x, 0), [3, 1], D(x, 1), [3, 4], (c, a) => c != 0 ? a : double.NaN), [3, 4], D(x, 2), [4], (v, b) => double.IsNaN(v) ? b : v),
            "torch.where(a != 0, b, c)", NoGrad: [0], Data: Mask),
        // ---- tensor ⊕ scalar
        new("x + 2.5", [[3, 4]], t => t[0] + 2.5f, x => DMath.Map(D(x, 0), v => v + 2.5), "a + 2.5"),
        new("x - 2.5", [[3, 4]], t => t[0] - 2.5f, x => DMath.Map(D(x, 0), v => v - 2.5), "a - 2.5"),
        new("3 - x", [[3, 4]], t => 3f - t[0], x => DMath.Map(D(x, 0), v => 3 - v), "3 - a"),
        new("x * -1.5", [[3, 4]], t => t[0] * -1.5f, x => DMath.Map(D(x, 0), v => v * -1.5), "a * -1.5"),
        new("x / 1.5", [[3, 4]], t => t[0] / 1.5f, x => DMath.Map(D(x, 0), v => v / 1.5), "a / 1.5"),
        new("2 / x", [[3, 4]], t => 2f / t[0], x => DMath.Map(D(x, 0), v => 2 / v), "2 / a", 0.5f, 2f),
        // ---- unary
        new("neg", [[2, 5]], t => -t[0], x => DMath.Map(D(x, 0), v => -v), "-a"),
        new("exp", [[2, 5]], t => F.Exp(t[0]), x => DMath.Map(D(x, 0), Math.Exp), "torch.exp(a)"),
        new("log", [[2, 5]], t => F.Log(t[0]), x => DMath.Map(D(x, 0), Math.Log), "torch.log(a)", 0.5f, 2f),
        new("sqrt", [[2, 5]], t => F.Sqrt(t[0]), x => DMath.Map(D(x, 0), Math.Sqrt), "torch.sqrt(a)", 0.5f, 2f),
        new("abs", [[2, 5]], t => F.Abs(t[0]), x => DMath.Map(D(x, 0), Math.Abs), "torch.abs(a)"),
        new("pow x^3", [[2, 5]], t => F.Pow(t[0], 3f), x => DMath.Map(D(x, 0), v => v * v * v), "torch.pow(a, 3)"),
        new("pow x^2.5", [[2, 5]], t => F.Pow(t[0], 2.5f), x => DMath.Map(D(x, 0), v => Math.Pow(v, 2.5)), "torch.pow(a, 2.5)", 0.5f, 2f),
        new("pow 2^x", [[2, 5]], t => F.Pow(2f, t[0]), x => DMath.Map(D(x, 0), v => Math.Pow(2, v)), "torch.pow(2, a)"),
        new("clamp", [[4, 5]], t => F.Clamp(t[0], -0.5f, 0.5f), x => DMath.Map(D(x, 0), v => Math.Clamp(v, -0.5, 0.5)), "torch.clamp(a, -0.5, 0.5)"),
        new("clamp min", [[4, 5]], t => F.Clamp(t[0], min: 0f), x => DMath.Map(D(x, 0), v => Math.Max(v, 0)), "torch.clamp(a, min=0)"),
        // ---- reductions along dims
        new("sum dim 1", [[3, 4, 5]], t => F.Sum(t[0], 1), x => DMath.Reduce(D(x, 0), [3, 4, 5], 1, v => v.Sum()), "torch.sum(a, 1)"),
        new("sum dims 0,2 keepdim", [[3, 4, 5]], t => F.Sum(t[0], [0, -1], keepdim: true),
            x => DMath.Reduce(DMath.Reduce(D(x, 0), [3, 4, 5], 2, v => v.Sum()), [3, 4], 0, v => v.Sum()), "torch.sum(a, (0, -1), keepdim=True)"),
        new("sum dim 0 of [7]", [[7]], t => F.Sum(t[0], 0), x => [D(x, 0).Sum()], "torch.sum(a, 0)"),
        new("mean dim -1", [[3, 4, 5]], t => F.Mean(t[0], -1), x => DMath.Reduce(D(x, 0), [3, 4, 5], 2, v => v.Average()), "torch.mean(a, -1)"),
        new("mean dims 0,1", [[3, 4, 5]], t => F.Mean(t[0], [0, 1]),
            x => DMath.Reduce(DMath.Reduce(D(x, 0), [3, 4, 5], 1, v => v.Average()), [3, 5], 0, v => v.Average()), "torch.mean(a, (0, 1))"),
        new("max dim 1", [[4, 6, 3]], t => F.Max(t[0], 1).Values, x => DMath.Reduce(D(x, 0), [4, 6, 3], 1, v => v.Max()), "torch.max(a, 1).values"),
        new("max indices dim 1", [[4, 6, 3]], t => F.Max(t[0], 1).Indices, null, "torch.max(a, 1).indices", Smooth: false),
        new("min dim -1 keepdim", [[4, 6, 3]], t => F.Min(t[0], -1, keepdim: true).Values, x => DMath.Reduce(D(x, 0), [4, 6, 3], 2, v => v.Min()), "torch.min(a, -1, keepdim=True).values"),
        new("argmax dim 0", [[5, 4]], t => F.Argmax(t[0], 0), null, "torch.argmax(a, 0)", Smooth: false),
        new("argmin dim -1 keepdim", [[5, 4]], t => F.Argmin(t[0], -1, keepdim: true), null, "torch.argmin(a, -1, keepdim=True)", Smooth: false),
        new("var dim 1", [[3, 4, 5]], t => F.Var(t[0], 1), x => DMath.Reduce(D(x, 0), [3, 4, 5], 1, v => DMath.Variance(v, 1)), "torch.var(a, 1)"),
        new("var dim 0 biased keepdim", [[3, 4, 5]], t => F.Var(t[0], 0, unbiased: false, keepdim: true),
            x => DMath.Reduce(D(x, 0), [3, 4, 5], 0, v => DMath.Variance(v, 0)), "torch.var(a, 0, unbiased=False, keepdim=True)"),
        new("var dims 0,2", [[3, 4, 5]], t => F.Var(t[0], [0, 2]),
            x => DMath.Reduce(DMath.Permute(D(x, 0), [3, 4, 5], [1, 0, 2]), [4, 15], 1, v => DMath.Variance(v, 1)), "torch.var(a, (0, 2))"),
        new("var all", [[3, 4]], t => F.Var(t[0]), x => [DMath.Variance(D(x, 0), 1)], "torch.var(a).reshape(1)"),
        new("softmax dim 1", [[3, 4, 5]], t => F.Softmax(t[0], 1), x => DMath.Softmax(D(x, 0), [3, 4, 5], 1, false), "torch.softmax(a, 1)", -3f, 3f),
        new("softmax dim -1", [[3, 4, 5]], t => F.Softmax(t[0], -1), x => DMath.Softmax(D(x, 0), [3, 4, 5], 2, false), "torch.softmax(a, -1)", -3f, 3f),
        new("log_softmax dim 0", [[3, 4, 5]], t => F.LogSoftmax(t[0], 0), x => DMath.Softmax(D(x, 0), [3, 4, 5], 0, true), "torch.log_softmax(a, 0)", -3f, 3f),
        new("log_softmax dim -1", [[6, 7]], t => F.LogSoftmax(t[0], -1), x => DMath.Softmax(D(x, 0), [6, 7], 1, true), "torch.log_softmax(a, -1)", -3f, 3f),
        // ---- shape
        new("view", [[3, 4, 5]], t => t[0].View(12, -1) * 2f, x => DMath.Map(D(x, 0), v => 2 * v), "a.view(12, -1) * 2"),
        new("flatten 1..2", [[3, 4, 5]], t => t[0].Flatten(1, 2) * 2f, x => DMath.Map(D(x, 0), v => 2 * v), "torch.flatten(a, 1, 2) * 2"),
        new("squeeze unsqueeze", [[3, 1, 5]], t => t[0].Squeeze(1).Unsqueeze(0) * 2f, x => DMath.Map(D(x, 0), v => 2 * v), "a.squeeze(1).unsqueeze(0) * 2"),
        new("expand", [[3, 1, 5]], t => t[0].Expand(2, 3, 4, 5), x => DMath.Expand(D(x, 0), [3, 1, 5], [2, 3, 4, 5]), "a.expand(2, 3, 4, 5)"),
        new("expand -1", [[3, 1]], t => t[0].Expand(-1, 4), x => DMath.Expand(D(x, 0), [3, 1], [3, 4]), "a.expand(-1, 4)"),
        new("transpose 0,2", [[2, 3, 4]], t => t[0].Transpose(0, 2), x => DMath.Permute(D(x, 0), [2, 3, 4], [2, 1, 0]), "a.transpose(0, 2)"),
        new("transpose -1,-2", [[2, 9, 11]], t => t[0].Transpose(-1, -2), x => DMath.Permute(D(x, 0), [2, 9, 11], [0, 2, 1]), "a.transpose(-1, -2)"),
        new("permute 2,0,1", [[2, 3, 4]], t => t[0].Permute(2, 0, 1), x => DMath.Permute(D(x, 0), [2, 3, 4], [2, 0, 1]), "a.permute(2, 0, 1)"),
        new("cat dim 1", [[2, 3, 4], [2, 1, 4], [2, 2, 4]], t => F.Cat([t[0], t[1], t[2]], 1),
            x => DMath.Cat([D(x, 0), D(x, 1), D(x, 2)], [[2, 3, 4], [2, 1, 4], [2, 2, 4]], 1), "torch.cat([a, b, c], 1)"),
        new("cat dim -1", [[2, 3], [2, 2]], t => F.Cat([t[0], t[1]], -1), x => DMath.Cat([D(x, 0), D(x, 1)], [[2, 3], [2, 2]], 1), "torch.cat([a, b], -1)"),
        new("stack dim -1", [[2, 3], [2, 3]], t => F.Stack([t[0], t[1]], -1),
            x => DMath.Cat([D(x, 0), D(x, 1)], [[2, 3, 1], [2, 3, 1]], 2), "torch.stack([a, b], -1)"),
        new("narrow", [[3, 5, 2]], t => t[0].Narrow(1, 1, 3), x => DMath.Select(D(x, 0), [3, 5, 2], 1, [1, 2, 3]), "a.narrow(1, 1, 3)"),
        new("narrow negative start", [[3, 5]], t => t[0].Narrow(-1, -2, 2), x => DMath.Select(D(x, 0), [3, 5], 1, [3, 4]), "a.narrow(-1, -2, 2)"),
        new("index_select", [[3, 4, 2]], t => t[0].IndexSelect(1, 2, 0, 2), x => DMath.Select(D(x, 0), [3, 4, 2], 1, [2, 0, 2]),
            "torch.index_select(a, 1, torch.tensor([2, 0, 2]))"),
        // ---- matmul
        new("matmul [3,4]@[4,5]", [[3, 4], [4, 5]], t => F.MatMul(t[0], t[1]), x => DMath.MatMul(D(x, 0), [3, 4], D(x, 1), [4, 5]), "torch.matmul(a, b)"),
        new("matmul [2,3,4]@[4,5]", [[2, 3, 4], [4, 5]], t => F.MatMul(t[0], t[1]), x => DMath.MatMul(D(x, 0), [2, 3, 4], D(x, 1), [4, 5]), "torch.matmul(a, b)"),
        new("matmul [3,4]@[2,4,5]", [[3, 4], [2, 4, 5]], t => F.MatMul(t[0], t[1]), x => DMath.MatMul(D(x, 0), [3, 4], D(x, 1), [2, 4, 5]), "torch.matmul(a, b)"),
        new("matmul [2,1,3,4]@[3,4,2]", [[2, 1, 3, 4], [3, 4, 2]], t => F.MatMul(t[0], t[1]),
            x => DMath.MatMul(D(x, 0), [2, 1, 3, 4], D(x, 1), [3, 4, 2]), "torch.matmul(a, b)"),
        new("matmul [4]@[2,4,5]", [[4], [2, 4, 5]], t => F.MatMul(t[0], t[1]), x => DMath.MatMul(D(x, 0), [1, 4], D(x, 1), [2, 4, 5]), "torch.matmul(a, b)"),
        new("matmul [2,3,4]@[4]", [[2, 3, 4], [4]], t => F.MatMul(t[0], t[1]), x => DMath.MatMul(D(x, 0), [2, 3, 4], D(x, 1), [4, 1]), "torch.matmul(a, b)"),
        new("matmul [4]@[4]", [[4], [4]], t => F.MatMul(t[0], t[1]), x => DMath.MatMul(D(x, 0), [1, 4], D(x, 1), [4, 1]), "torch.matmul(a, b)"),
    ];
}
