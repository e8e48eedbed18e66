namespace ScratchNet.Tests;

// F.Linear and F.MatMul: forward against loops in double, backward against central finite differences
// (double, CPU) of L = Σ r ⊙ f(x), on every device.
// Tolerances: forward 1e-4 + 1e-4·|ref| (K ≤ 150 products of values in [−1, 1]); gradients 1e-4 + 1e-3·|ref|.
public class LinearTests
{
    /// <summary>y[n, o] = b[o] + Σ_i x[n, i]·w[o, i], in double.</summary>
    static double[] LinearRef(double[] x, double[] w, double[]? b, int n, int inF, int outF)
    {
        var y = new double[n * outF];
        for (int r = 0; r < n; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = b is null ? 0 : b[o];
                for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
                y[r * outF + o] = s;
            }
        return y;
    }

    /// <summary>c[i, j] = Σ_p a[i, p]·b[p, j], in double.</summary>
    static double[] MatMulRef(double[] a, double[] b, int m, int k, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    // (N, in, out): single elements, batch 1, sizes not a multiple of any tile, in ≫ out and out ≫ in.
    public static IEnumerable<object[]> LinearCases()
    {
        int[][] shapes = [[1, 1, 1], [1, 7, 3], [5, 3, 9], [4, 150, 2], [3, 2, 70], [9, 33, 17]];
        foreach (var d in TestUtil.Devices())
            foreach (var s in shapes)
                foreach (bool bias in new[] { true, false })
                    yield return [d[0], s[0], s[1], s[2], bias];
    }

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void Linear_ForwardAndBackward(string device, int n, int inF, int outF, bool withBias)
    {
        var d = Device.Get(device);
        var gen = new Generator((ulong)(n * 10007 + inF * 101 + outF));
        var x = TestUtil.RandomArray(gen, n * inF); var w = TestUtil.RandomArray(gen, outF * inF);
        var b = TestUtil.RandomArray(gen, outF); var r = TestUtil.RandomArray(gen, n * outF);

        var tx = Tensor.FromArray(x, [n, inF], d); tx.RequiresGrad = true;
        var tw = Tensor.FromArray(w, [outF, inF], d); tw.RequiresGrad = true;
        var tb = withBias ? Tensor.FromArray(b, [outF], d) : null;
        if (tb is not null) tb.RequiresGrad = true;
        var y = F.Linear(tx, tw, tb);
        Assert.Equal(new[] { n, outF }, y.Shape);

        double[] xd = TestUtil.ToDouble(x), wd = TestUtil.ToDouble(w), rd = TestUtil.ToDouble(r);
        double[]? bd = withBias ? TestUtil.ToDouble(b) : null;
        TestUtil.AssertClose(LinearRef(xd, wd, bd, n, inF, outF), y.ToArray(), 1e-4f, 1e-4f, $"{device} linear forward");

        y.Backward(Tensor.FromArray(r, [n, outF], d));
        var gx = TestUtil.NumericGrad(v => TestUtil.Dot(rd, LinearRef(v, wd, bd, n, inF, outF)), xd);
        var gw = TestUtil.NumericGrad(v => TestUtil.Dot(rd, LinearRef(xd, v, bd, n, inF, outF)), wd);
        TestUtil.AssertClose(gx, tx.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} linear dx");
        TestUtil.AssertClose(gw, tw.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} linear dw");
        if (withBias)
        {
            var gb = TestUtil.NumericGrad(v => TestUtil.Dot(rd, LinearRef(xd, wd, v, n, inF, outF)), bd!);
            TestUtil.AssertClose(gb, tb!.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} linear db");
        }
    }

    public static IEnumerable<object[]> MatMulCases()
    {
        int[][] shapes = [[1, 1, 1], [1, 5, 8], [6, 1, 4], [3, 40, 2], [17, 9, 21], [70, 3, 5]];
        foreach (var d in TestUtil.Devices())
            foreach (var s in shapes)
                yield return [d[0], s[0], s[1], s[2]];
    }

    [Theory]
    [MemberData(nameof(MatMulCases))]
    public void MatMul_ForwardAndBackward(string device, int m, int k, int n)
    {
        var d = Device.Get(device);
        var gen = new Generator((ulong)(m * 7919 + k * 31 + n));
        var a = TestUtil.RandomArray(gen, m * k); var b = TestUtil.RandomArray(gen, k * n); var r = TestUtil.RandomArray(gen, m * n);
        var ta = Tensor.FromArray(a, [m, k], d); ta.RequiresGrad = true;
        var tb = Tensor.FromArray(b, [k, n], d); tb.RequiresGrad = true;
        var c = F.MatMul(ta, tb);
        Assert.Equal(new[] { m, n }, c.Shape);

        double[] ad = TestUtil.ToDouble(a), bd = TestUtil.ToDouble(b), rd = TestUtil.ToDouble(r);
        TestUtil.AssertClose(MatMulRef(ad, bd, m, k, n), c.ToArray(), 1e-4f, 1e-4f, $"{device} matmul forward");
        c.Backward(Tensor.FromArray(r, [m, n], d));
        TestUtil.AssertClose(TestUtil.NumericGrad(v => TestUtil.Dot(rd, MatMulRef(v, bd, m, k, n)), ad), ta.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} matmul da");
        TestUtil.AssertClose(TestUtil.NumericGrad(v => TestUtil.Dot(rd, MatMulRef(ad, v, m, k, n)), bd), tb.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} matmul db");
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Gradients_AccumulateAcrossUses_AndOnlyWhereRequired(string device)
    {
        // z = A·A (A used twice) → dA = r·Aᵀ + Aᵀ·r; a Linear whose weight is frozen leaves it without a gradient.
        var d = Device.Get(device);
        var gen = new Generator(77);
        int m = 6;
        var a = TestUtil.RandomArray(gen, m * m); var r = TestUtil.RandomArray(gen, m * m);
        var ta = Tensor.FromArray(a, [m, m], d); ta.RequiresGrad = true;
        F.MatMul(ta, ta).Backward(Tensor.FromArray(r, [m, m], d));
        double[] ad = TestUtil.ToDouble(a), rd = TestUtil.ToDouble(r);
        var num = TestUtil.NumericGrad(v => TestUtil.Dot(rd, MatMulRef(v, v, m, m, m)), ad);
        TestUtil.AssertClose(num, ta.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} d(A·A)/dA");

        var x = Tensor.FromArray(TestUtil.RandomArray(gen, 3 * 4), [3, 4], d); x.RequiresGrad = true;
        var w = Tensor.FromArray(TestUtil.RandomArray(gen, 5 * 4), [5, 4], d);   // frozen
        var b = Tensor.Zeros([5], d); b.RequiresGrad = true;
        F.Linear(x, w, b).Backward(Tensor.Ones([3, 5], d));
        Assert.Null(w.Grad);
        Assert.All(b.Grad!.ToArray(), v => Assert.Equal(3f, v, 5));   // db = Σ over the 3 rows of 1
        // dx[n, i] = Σ_o w[o, i]
        var wv = w.ToArray();
        var expected = Enumerable.Range(0, 12).Select(k => Enumerable.Range(0, 5).Sum(o => wv[o * 4 + k % 4])).ToArray();
        TestUtil.AssertClose(expected, x.Grad!.ToArray(), 1e-5f, 1e-5f, "dx with frozen w");
    }

    [Fact]
    public void BadInput_NamesOpAndShapes()
    {
        var x = Tensor.Zeros([4, 3]);
        var w = Tensor.Zeros([5, 3]);
        void Bad(Func<Tensor> f, string op, params string[] fragments)
        {
            var e = Assert.Throws<ArgumentException>(() => f());
            Assert.Contains(op, e.Message);
            foreach (var s in fragments) Assert.Contains(s, e.Message);
        }
        Bad(() => F.Linear(x, Tensor.Zeros([5, 4]), null), "linear", "in_features", "[4, 3]", "[5, 4]");
        Bad(() => F.Linear(x, w, Tensor.Zeros([4])), "linear", "bias", "[4]", "[5, 3]");
        Bad(() => F.Linear(Tensor.Zeros([2, 4, 3]), w, null), "linear", "input", "2 dimensions", "[2, 4, 3]");
        Bad(() => F.Linear(x, Tensor.Zeros([15]), null), "linear", "weight", "2 dimensions");
        Bad(() => F.Linear(x, w, Tensor.Zeros([5, 1])), "linear", "bias", "1 dimensions");
        Bad(() => F.Linear(x, w.To("ilgpu-cpu"), null), "linear", "different devices");
        Bad(() => F.Linear(x, w, Tensor.Zeros([5], Device.Get("ilgpu-cpu"))), "linear", "different devices");
        Bad(() => F.Linear(Tensor.Labels([1, 2, 3], Device.Cpu).Reshape(1, 3), w, null), "linear", "Float32");
        Bad(() => F.MatMul(x, Tensor.Zeros([4, 2])), "matmul", "[4, 3]", "[4, 2]");
        Bad(() => F.MatMul(x, Tensor.Zeros([3])), "matmul", "2 dimensions", "[3]");
        Bad(() => F.MatMul(x, Tensor.Zeros([3, 2], Device.Get("ilgpu-cpu"))), "matmul", "different devices");
    }
}
