using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// F.Linear and F.MatMul on every device: forward against the definitions of the GEMM and bias families (Reference.Gemm,
// Reference.BiasAdd; GemmTests and ConvTests check them against the math in double), backward against central finite
// differences of that Reference forward, L = Σ r ⊙ f(x) summed in double. f is linear in each single input (quadratic in
// a diagonal element of A·A), so the difference quotient with step 1 is the exact slope, up to the rounding of f's floats.
// Tolerances: forward 1e-4 + 1e-4·|ref| (K ≤ 150 products of values in [−1, 1]); gradients 1e-4 + 1e-3·|ref|.
public class LinearTests
{
    /// <summary>y[n, o] = b[o] + Σ_i x[n, i]·w[o, i]: Reference.Gemm with w transposed, then Reference.BiasAdd.</summary>
    static float[] LinearRef(float[] x, float[] w, float[]? b, int n, int inF, int outF)
    {
        var y = new float[n * outF];
        Reference.Gemm(new GemmArgs(false, true, n, outF, inF), x, w, y);
        if (b is not null) Reference.BiasAdd(y, b, n, outF, 1);
        return y;
    }

    /// <summary>c[i, j] = Σ_p a[i, p]·b[p, j]: Reference.Gemm.</summary>
    static float[] MatMulRef(float[] a, float[] b, int m, int k, int n)
    {
        var c = new float[m * n];
        Reference.Gemm(new GemmArgs(false, false, m, n, k), a, b, c);
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

        float[]? bd = withBias ? b : null;
        TestUtil.AssertClose(LinearRef(x, w, bd, n, inF, outF), y.ToArray(), 1e-4f, 1e-4f, $"{device} linear forward");

        y.Backward(Tensor.FromArray(r, [n, outF], d));
        var gx = TestUtil.NumericGrad(v => TestUtil.Dot(r, LinearRef(v, w, bd, n, inF, outF)), x);
        var gw = TestUtil.NumericGrad(v => TestUtil.Dot(r, LinearRef(x, v, bd, n, inF, outF)), w);
        TestUtil.AssertClose(gx, tx.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} linear dx");
        TestUtil.AssertClose(gw, tw.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} linear dw");
        if (withBias)
        {
            var gb = TestUtil.NumericGrad(v => TestUtil.Dot(r, LinearRef(x, w, v, n, inF, outF)), b);
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

        TestUtil.AssertClose(MatMulRef(a, b, m, k, n), c.ToArray(), 1e-4f, 1e-4f, $"{device} matmul forward");
        c.Backward(Tensor.FromArray(r, [m, n], d));
        TestUtil.AssertClose(TestUtil.NumericGrad(v => TestUtil.Dot(r, MatMulRef(v, b, m, k, n)), a), ta.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} matmul da");
        TestUtil.AssertClose(TestUtil.NumericGrad(v => TestUtil.Dot(r, MatMulRef(a, v, m, k, n)), b), tb.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} matmul db");
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
        var num = TestUtil.NumericGrad(v => TestUtil.Dot(r, MatMulRef(v, v, m, m, m)), a);
        TestUtil.AssertClose(num, ta.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} d(A·A)/dA");

        var x = Tensor.FromArray(TestUtil.RandomArray(gen, 3 * 4), [3, 4], d); x.RequiresGrad = true;
        var w = Tensor.FromArray(TestUtil.RandomArray(gen, 5 * 4), [5, 4], d);   // frozen
        var b = Tensor.Zeros([5], d); b.RequiresGrad = true;
        F.Linear(x, w, b).Backward(Tensor.Ones([3, 5], d));
        Assert.Null(w.Grad);
        Assert.All(b.Grad!.ToArray(), v => Assert.Equal(3f, v, 5));   // db = Σ over the 3 rows of 1
        // dx[n, i] = Σ_o w[o, i]: central differences of Σ Linear(x) by Reference
        var expected = TestUtil.NumericGrad(v => TestUtil.Dot(Enumerable.Repeat(1f, 15).ToArray(), LinearRef(v, w.ToArray(), new float[5], 3, 4, 5)), x.ToArray());
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
        Bad(() => F.MatMul(x, Tensor.Zeros([4])), "matmul", "[4, 3]", "[4]");   // a 1-D operand is a column (torch.matmul): 3 ≠ 4
        Bad(() => F.MatMul(x, Tensor.Zeros([])), "matmul", "at least one dimension", "[]");
        Bad(() => F.MatMul(x, Tensor.Zeros([3, 2], Device.Get("ilgpu-cpu"))), "matmul", "different devices");
    }
}
