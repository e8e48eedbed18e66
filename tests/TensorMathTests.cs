using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// PyTorch's tensor math (engine/autograd/Ops.Math.cs, Ops.ReduceDim.cs, Ops.Shape.cs, Ops.MatMul.cs), op by op through the public
// API, on the cases of MathCases (TensorMathCases.cs): the forward of every version (the cpu default, each vector path, the ILGPU
// kernels) against the reference device (every family's Reference loops) and against the math in double; every backward against
// central finite differences in double, twice (the second backward must ACCUMULATE); the subgradients at ties and kinks as torch
// defines them; broadcasting and dim edge cases; bad input. The kernels on larger shapes: TensorMathKernelTests; PyTorch's own
// values: TensorMathTorchTests.
public class TensorMathTests
{
    static Device RefDevice => Device.Get("cpu", DeviceOptions.ReferenceKernels);

    static Tensor[] Upload(MathCase c, float[][] inputs, Device d, bool grad)
    {
        var ts = inputs.Select((v, i) => Tensor.FromArray(v, c.Shapes[i], d)).ToArray();
        if (grad) for (int i = 0; i < ts.Length; i++) if (c.Grad(i)) ts[i].RequiresGrad = true;
        return ts;
    }

    static void AssertSameOutput(Tensor expected, Tensor actual, string what, float atol = 1e-5f, float rtol = 1e-5f)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape {actual.ShapeString}, expected {expected.ShapeString}");
        Assert.Equal(expected.DType, actual.DType);
        if (expected.DType == DType.Int32) Assert.Equal(expected.ToIntArray(), actual.ToIntArray());
        else TestUtil.AssertClose(expected.ToArray(), actual.ToArray(), atol, rtol, what);
    }

    /// <summary>Every version against the reference device (cpu --kernels reference: each family's Reference), on every case.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Forward_EveryVersion_MatchesTheReference(string version)
    {
        var d = KernelVersions.Device(version);
        foreach (var c in MathCases.All)
        {
            var inputs = c.Inputs();
            var expected = c.Op(Upload(c, inputs, RefDevice, false));
            var actual = c.Op(Upload(c, inputs, d, false));
            AssertSameOutput(expected, actual, $"{version} {c.Name}");
        }
    }

    /// <summary>The reference itself against the math in double (DMath), shape included.</summary>
    [Fact]
    public void Forward_Reference_MatchesTheMathInDouble()
    {
        foreach (var c in MathCases.All.Where(c => c.Math is not null))
        {
            var inputs = c.Inputs();
            var y = c.Op(Upload(c, inputs, RefDevice, false));
            var exact = c.Math!(inputs.Select(TestUtil.ToDouble).ToArray());
            TestUtil.AssertClose(exact, y.ToArray(), 2e-6f, 2e-6f, c.Name);
        }
    }

    /// <summary>Every backward against central finite differences of the math in double: Backward(r) on y = op(inputs) gives
    /// d/dx Σ r ⊙ op(x). Then a second forward and backward on the same leaves: the gradients must double (accumulation).</summary>
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Backward_MatchesFiniteDifferences_AndAccumulates(string device)
    {
        var d = Device.Get(device);
        foreach (var c in MathCases.All.Where(c => c.Smooth && c.Math is not null))
        {
            var inputs = c.Inputs();
            var ts = Upload(c, inputs, d, true);
            var y = c.Op(ts);
            var r = TestUtil.RandomArray(new Generator(5), y.Numel);
            y.Backward(Tensor.FromArray(r, y.Shape, d));
            var rd = TestUtil.ToDouble(r);
            var xs = inputs.Select(TestUtil.ToDouble).ToArray();
            var numeric = new double[ts.Length][];
            for (int i = 0; i < ts.Length; i++)
            {
                if (!c.Grad(i)) continue;
                int at = i;
                numeric[i] = TestUtil.NumericGrad(v =>
                {
                    var args = (double[][])xs.Clone();
                    args[at] = v;
                    return TestUtil.Dot(rd, c.Math!(args));
                }, xs[i]);
                TestUtil.AssertClose(numeric[i], ts[i].Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} {c.Name} d/d input {i}");
            }
            c.Op(ts).Backward(Tensor.FromArray(r, y.Shape, d));
            for (int i = 0; i < ts.Length; i++)
                if (c.Grad(i)) TestUtil.AssertClose(numeric[i].Select(v => 2 * v).ToArray(), ts[i].Grad!.ToArray(), 2e-4f, 1e-3f, $"{device} {c.Name} accumulated d/d input {i}");
        }
    }

    static (float[] Ga, float[] Gb) Grads(Device d, float[] a, float[] b, Func<Tensor, Tensor, Tensor> op)
    {
        var ta = Tensor.FromArray(a, d); ta.RequiresGrad = true;
        var tb = Tensor.FromArray(b, d); tb.RequiresGrad = true;
        F.Sum(op(ta, tb)).Backward();
        return (ta.Grad!.ToArray(), tb.Grad!.ToArray());
    }

    static float[] Grad(Device d, float[] x, Func<Tensor, Tensor> op, int[]? shape = null)
    {
        var t = Tensor.FromArray(x, shape ?? [x.Length], d); t.RequiresGrad = true;
        F.Sum(op(t)).Backward();
        return t.Grad!.ToArray();
    }

    /// <summary>The subgradients at ties and kinks, as torch 1.13 defines them (its derivatives.yaml; the values below are torch's).</summary>
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Subgradients_AtTiesAndKinks_AreTorchs(string device)
    {
        var d = Device.Get(device);
        // maximum / minimum: a tie splits the gradient evenly
        var (ga, gb) = Grads(d, [1, 2, 3], [1, 1, 4], F.Maximum);
        Assert.Equal([0.5f, 1, 0], ga); Assert.Equal([0.5f, 0, 1], gb);
        (ga, gb) = Grads(d, [1, 2, 3], [1, 1, 4], F.Minimum);
        Assert.Equal([0.5f, 0, 1], ga); Assert.Equal([0.5f, 1, 0], gb);
        // clamp: the bounds pass the gradient
        Assert.Equal([0f, 1, 1, 1, 0], Grad(d, [-1, 0, 1, 2, 3], x => F.Clamp(x, 0, 2)));
        // abs: 0 at 0
        Assert.Equal([-1f, 0, 1], Grad(d, [-1, 0, 1], F.Abs));
        // pow: exponent 0 gives 0; 0^2 has slope 0; the exponent's gradient is 0 where the base is 0 and the exponent ≥ 0
        Assert.Equal([0f, 0, 0], Grad(d, [0, 1, 2], x => F.Pow(x, 0f)));
        (ga, gb) = Grads(d, [0, 0, 2], [0, 2, 1], F.Pow);
        Assert.Equal([0f, 0, 1], ga);
        Assert.Equal(0f, gb[0]); Assert.Equal(0f, gb[1]); Assert.Equal(2 * MathF.Log(2), gb[2], 5);
        // sqrt: ∞ at 0
        Assert.Equal(float.PositiveInfinity, Grad(d, [0f], F.Sqrt)[0]);
        // max along a dim: the first maximum takes the whole gradient
        Assert.Equal([0f, 1, 0, 1, 0, 0], Grad(d, [1, 3, 3, 2, 2, 1], x => F.Max(x, 1).Values, [2, 3]));
        Assert.Equal([1f, 0, 0, 0, 1, 0], Grad(d, [1, 3, 3, 2, 1, 1], x => F.Min(x, 1).Values, [2, 3]));
        // where: the condition selects which input gets the gradient
        var c = Tensor.FromArray([1, 0, 1], d);
        (ga, gb) = Grads(d, [5, 6, 7], [8, 9, 10], (a, b) => F.Where(c, a, b));
        Assert.Equal([1f, 0, 1], ga); Assert.Equal([0f, 1, 0], gb);
    }

    /// <summary>Max / argmax: the first maximum; a NaN beats every number and the first NaN wins (torch).</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void MaxAlongDim_TiesAndNaN(string version)
    {
        var d = KernelVersions.Device(version);
        // rows (inner = 1) and columns (inner > 1), each longer than a vector
        int n = 40;
        var row = Enumerable.Range(0, n).Select(i => (float)(i % 7)).ToArray();   // max 6 first at index 6
        var x = Tensor.FromArray([.. row, .. row.Select(v => -v)], [2, n], d);
        var (v, idx) = F.Max(x, 1);
        Assert.Equal([6f, 0f], v.ToArray()); Assert.Equal([6, 0], idx.ToIntArray());
        Assert.Equal([0, 6], F.Argmin(x, -1).ToIntArray());
        row[20] = float.NaN; row[30] = float.NaN;
        var (vn, inan) = F.Max(Tensor.FromArray(row, [1, n], d), 1);
        Assert.True(float.IsNaN(vn.ToArray()[0])); Assert.Equal([20], inan.ToIntArray());
        var (mn, imn) = F.Min(Tensor.FromArray(row, [1, n], d), 1);
        Assert.True(float.IsNaN(mn.ToArray()[0])); Assert.Equal([20], imn.ToIntArray());
        // along dim 0 of [n, 17]: column j holds row[(i + j) % n] so each column has its first maximum elsewhere
        var col = new float[n * 17];
        for (int i = 0; i < n; i++) for (int j = 0; j < 17; j++) col[i * 17 + j] = (i + 2 * j) % 7;
        var cidx = F.Argmax(Tensor.FromArray(col, [n, 17], d), 0).ToIntArray();
        for (int j = 0; j < 17; j++) Assert.Equal(Enumerable.Range(0, n).First(i => (i + 2 * j) % 7 == 6), cidx[j]);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Broadcasting_EdgeCases_ShapesAndKeepdim(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(3);
        Tensor R(params int[] s) => Tensor.Uniform(s, -1, 1, g, d);
        Assert.Equal([3, 4, 5], (R(3, 1, 5) + R(4, 1)).Shape);
        Assert.Equal([2, 3], (R(2, 3) * R()).Shape);                 // rank 0
        Assert.Equal([2, 3], (R() - R(2, 3)).Shape);
        Assert.Equal([1], (R(1) + R()).Shape);
        Assert.Equal([4, 1, 6], F.Maximum(R(4, 1, 1), R(1, 6)).Shape);
        Assert.Equal([5, 3, 7], F.Where(R(5, 1, 1), R(3, 1), R(7)).Shape);
        Assert.Equal(Array.Empty<int>(), F.Sum(R(7), 0).Shape);       // a 1-D tensor reduced: rank 0, as torch
        Assert.Equal([1], F.Sum(R(7), 0, keepdim: true).Shape);
        Assert.Equal([2, 4], F.Mean(R(2, 3, 4), -2).Shape);
        Assert.Equal([2, 1, 4], F.Mean(R(2, 3, 4), -2, keepdim: true).Shape);
        Assert.Equal([3], F.Sum(R(2, 3, 4), [0, 2]).Shape);
        Assert.Equal([1, 3, 1], F.Var(R(2, 3, 4), [0, -1], keepdim: true).Shape);
        Assert.Equal([2, 3], F.Max(R(2, 3, 4), 2).Values.Shape);
        Assert.Equal([2, 3, 1], F.Argmax(R(2, 3, 4), -1, keepdim: true).Shape);
        Assert.Equal([3], F.MatMul(R(3, 4), R(4)).Shape);
        Assert.Equal(Array.Empty<int>(), F.MatMul(R(4), R(4)).Shape);
        Assert.Equal([5, 2, 3, 6], F.MatMul(R(5, 1, 3, 4), R(2, 4, 6)).Shape);
        Assert.Equal([2, 3, 4, 1], R(2, 3, 4).Unsqueeze(-1).Shape);
        Assert.Equal([2, 3, 4], R(2, 1, 3, 1, 4).Squeeze().Shape);
        Assert.Equal([24], R(2, 3, 4).Flatten(0).Shape);
        Assert.Equal([2, 3, 4, 1], F.Stack([R(2, 3, 4)], 3).Shape);

        // a broadcast input's gradient is summed back to its shape, through a chain of ops
        var a = R(3, 1, 5); a.RequiresGrad = true;
        var b = R(4, 1); b.RequiresGrad = true;
        F.Sum(a * b - b).Backward();
        var av = a.ToArray(); var bv = b.ToArray();
        double sb = bv.Sum(v => (double)v);
        var expectA = av.Select(_ => (float)sb).ToArray();
        TestUtil.AssertClose(expectA, a.Grad!.ToArray(), 1e-5f, 1e-5f, "d(a·b − b)/da");
        var expectB = bv.Select(_ => (float)(av.Sum(v => (double)v) - 15)).ToArray();
        TestUtil.AssertClose(expectB, b.Grad!.ToArray(), 1e-5f, 1e-5f, "d(a·b − b)/db");
    }

    [Fact]
    public void BadInput_IsAnArgumentException_NamingTheOpShapesAndDim()
    {
        var x = Tensor.Zeros([2, 3]);
        void Throws(Action f, params string[] parts)
        {
            var e = Assert.Throws<ArgumentException>(f);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Throws(() => _ = x + Tensor.Zeros([4]), "add", "[2, 3]", "[4]", "dim -1");
        Throws(() => _ = x / Tensor.Zeros([3, 3]), "div", "[2, 3]", "[3, 3]", "dim -2");
        Throws(() => F.Where(Tensor.Zeros([5]), x, x), "where", "[5]", "[2, 3]");
        Throws(() => F.Sum(x, 2), "sum", "dim 2", "[2, 3]");
        Throws(() => F.Mean(x, -3), "mean", "dim -3", "[2, 3]");
        Throws(() => F.Max(x, 5), "max", "dim 5");
        Throws(() => F.Softmax(x, 2), "softmax", "dim 2", "[2, 3]");
        Throws(() => F.Var(x, [0, 0]), "var", "repeats");
        Throws(() => x.Unsqueeze(3), "unsqueeze", "dim 3");
        Throws(() => x.Transpose(0, 2), "transpose", "dim 2");
        Throws(() => x.Permute(0, 0), "permute", "repeat");
        Throws(() => x.Expand(4, 3), "expand", "[2, 3]", "[4, 3]");
        Throws(() => x.Narrow(1, 2, 2), "narrow", "size 3");
        Throws(() => F.Cat([x, Tensor.Zeros([3, 3])], 1), "cat", "[2, 3]", "[3, 3]");
        Throws(() => x.IndexSelect(1, 0, 3), "index_select", "index[1] = 3", "size 3");
        Throws(() => F.MatMul(Tensor.Zeros([2, 3, 4]), Tensor.Zeros([5, 2])), "matmul", "[2, 3, 4]", "[5, 2]");
        Throws(() => F.MatMul(Tensor.Zeros([2, 3, 4]), Tensor.Zeros([3, 4, 5])), "matmul", "batch");
        Throws(() => F.Clamp(x), "clamp");
        var other = Tensor.Zeros([2, 3], Device.Get("ilgpu-cpu"));
        Throws(() => _ = x - other, "sub", "different devices", "ilgpu-cpu");
        Throws(() => F.Maximum(x, other), "maximum", "different devices");
        Throws(() => F.Cat([x, other]), "cat", "different devices");
        Throws(() => F.MatMul(x, Tensor.Zeros([3, 2], Device.Get("ilgpu-cpu"))), "matmul", "different devices");
        // size-0 dimensions are not supported: a tensor refuses them
        Throws(() => Tensor.Zeros([0, 3]), "sizes must be positive");
    }

    [Fact]
    public void Views_ShareStorage_CopiesDoNot()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), [2, 3, 4]);
        Assert.Same(x.Storage, x.View(6, 4).Storage);
        Assert.Same(x.Storage, x.Flatten(1).Storage);
        Assert.Same(x.Storage, x.Unsqueeze(0).Squeeze(0).Storage);
        Assert.NotSame(x.Storage, x.Transpose(0, 1).Storage);
        Assert.Equal([0f, 12, 4, 16, 8, 20], x.Permute(2, 1, 0).ToArray().Take(6));
        Assert.Equal(x.ToArray(), x.Transpose(1, 2).Transpose(1, 2).ToArray());
    }
}
