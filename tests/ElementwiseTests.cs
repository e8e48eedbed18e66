using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Element-wise ops. The definition (Reference.Add, Mul, Scale, Axpy, MulAcc, AddScalar: kernels/elementwise/Elementwise.Reference.cs)
// against the math in double; every version (each cpu vector path, the cpu default, the ILGPU kernel) and the ops against the
// definition, the backward against finite differences of the definition.
public class ElementwiseTests
{
    static readonly int[] Sizes = [1, 7, 256, 1000, 40_001];

    /// <summary>The definition itself, independent of it: each result against the formula in double, rounded once to float
    /// (add, mul and scale round once in float too; axpy and mulacc round the product first, so they may differ by an ulp).</summary>
    [Fact]
    public void Reference_MatchesTheMath()
    {
        var g = new Generator(1);
        foreach (int n in Sizes)
        {
            var a = TestUtil.RandomArray(g, n); var b = TestUtil.RandomArray(g, n); var y0 = TestUtil.RandomArray(g, n);
            float[] Run(Action<float[]> op, float[]? start = null)
            {
                var y = start is null ? new float[n] : (float[])start.Clone();
                op(y);
                return y;
            }
            float[] Exact(Func<int, double> f) => Enumerable.Range(0, n).Select(i => (float)f(i)).ToArray();
            TestUtil.AssertClose(Exact(i => (double)a[i] + b[i]), Run(y => Reference.Add(a, b, y, n)), what: $"add n={n}");
            TestUtil.AssertClose(Exact(i => (double)a[i] * b[i]), Run(y => Reference.Mul(a, b, y, n)), what: $"mul n={n}");
            TestUtil.AssertClose(Exact(i => -2.5 * a[i]), Run(y => Reference.Scale(a, -2.5f, y, n)), what: $"scale n={n}");
            TestUtil.AssertClose(Exact(i => y0[i] + 1.7 * a[i]), Run(y => Reference.Axpy(1.7f, a, y, n), y0), what: $"axpy n={n}");
            TestUtil.AssertClose(Exact(i => y0[i] + (double)a[i] * b[i]), Run(y => Reference.MulAcc(a, b, y, n), y0), what: $"mulacc n={n}");
            TestUtil.AssertClose(Exact(i => y0[i] + 0.1), Run(y => Reference.AddScalar(0.1f, y, n), y0), what: $"addscalar n={n}");
        }
    }

    /// <summary>Every version: the ops (+, *, scalar *) and the kernels the backward passes use (axpy, mulacc, the broadcast
    /// scalar add) through IBackend, against Reference on the same inputs.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Kernels_MatchReference(string version)
    {
        var d = KernelVersions.Device(version);
        var be = d.Backend;
        var g = new Generator(1);
        foreach (int n in Sizes)
        {
            var a = TestUtil.RandomArray(g, n); var b = TestUtil.RandomArray(g, n); var y0 = TestUtil.RandomArray(g, n);
            float[] Ref(Action<float[]> op, float[]? start = null)
            {
                var y = start is null ? new float[n] : (float[])start.Clone();
                op(y);
                return y;
            }
            var ta = Tensor.FromArray(a, d); var tb = Tensor.FromArray(b, d);
            TestUtil.AssertClose(Ref(y => Reference.Add(a, b, y, n)), (ta + tb).ToArray(), what: $"{version} add n={n}");
            TestUtil.AssertClose(Ref(y => Reference.Mul(a, b, y, n)), (ta * tb).ToArray(), what: $"{version} mul n={n}");
            TestUtil.AssertClose(Ref(y => Reference.Scale(a, -2.5f, y, n)), (ta * -2.5f).ToArray(), what: $"{version} scale n={n}");

            float[] Kernel(Action<Storage, Storage, Storage> op)
            {
                using Storage sa = be.Allocate(n, DType.Float32), sb = be.Allocate(n, DType.Float32), sy = be.Allocate(n, DType.Float32);
                be.Upload(a, sa); be.Upload(b, sb); be.Upload(y0, sy);
                op(sa, sb, sy);
                var y = new float[n];
                be.Download(sy, y);
                return y;
            }
            TestUtil.AssertClose(Ref(y => Reference.Axpy(1.7f, a, y, n), y0), Kernel((sa, _, sy) => be.Axpy(1.7f, sa, sy, n)), what: $"{version} axpy n={n}");
            TestUtil.AssertClose(Ref(y => Reference.MulAcc(a, b, y, n), y0), Kernel((sa, sb, sy) => be.MulAcc(sa, sb, sy, n)), what: $"{version} mulacc n={n}");
            // y += alpha·s[0], s read on the device: here s = b[0] and alpha = −0.5.
            TestUtil.AssertClose(Ref(y => Reference.AddScalar(-0.5f * b[0], y, n), y0), Kernel((_, sb, sy) => be.AddBroadcastScalar(sb, -0.5f, sy, n)),
                what: $"{version} add broadcast scalar n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Backward_AccumulatesAcrossUses(string device)
    {
        // y = a*b + a  →  dL/da = r⊙b + r, dL/db = r⊙a; a is used twice so its gradient is a sum. The expected gradients are
        // central differences of L = Σ r ⊙ (a ⊙ b + a) computed by Reference's forward (linear in each input: exact slopes).
        var d = Device.Get(device);
        var g = new Generator(2);
        int n = 33;
        var a = TestUtil.RandomArray(g, n); var b = TestUtil.RandomArray(g, n); var r = TestUtil.RandomArray(g, n);
        var ta = Tensor.FromArray(a, d); ta.RequiresGrad = true;
        var tb = Tensor.FromArray(b, d); tb.RequiresGrad = true;
        var y = ta * tb + ta;
        y.Backward(Tensor.FromArray(r, d));

        double Loss(float[] av, float[] bv)
        {
            var ab = new float[n]; var yv = new float[n];
            Reference.Mul(av, bv, ab, n);
            Reference.Add(ab, av, yv, n);
            return TestUtil.Dot(r, yv);
        }
        TestUtil.AssertClose(TestUtil.NumericGrad(v => Loss(v, b), a), ta.Grad!.ToArray(), 1e-5f, 1e-4f, "da");
        TestUtil.AssertClose(TestUtil.NumericGrad(v => Loss(a, v), b), tb.Grad!.ToArray(), 1e-5f, 1e-4f, "db");
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Reshape_SharesStorage_AndPassesGradient(string device)
    {
        var d = Device.Get(device);
        var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), [2, 3, 4], d);
        x.RequiresGrad = true;
        var y = x.Reshape(2, -1);
        Assert.Equal(new[] { 2, 12 }, y.Shape);
        Assert.Equal(x.ToArray(), y.ToArray());
        (y * 3f).Backward(Tensor.Ones([2, 12], d));
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void BadInput_NamesOpAndShapes()
    {
        var a = Tensor.Zeros([2, 3]); var b = Tensor.Zeros([3, 2]);
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("add", e.Message); Assert.Contains("[2, 3]", e.Message); Assert.Contains("[3, 2]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([0, 3]));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([-1]));
        var e2 = Assert.Throws<ArgumentException>(() => a + Tensor.Zeros([2, 3], Device.Get("ilgpu-cpu")));
        Assert.Contains("different devices", e2.Message);
        Assert.Throws<ArgumentException>(() => a.Reshape(4, -1));
    }

    [Fact]
    public void TensorScope_ReturnsBuffersToPool_AllocationsStayFlat()
    {
        var d = Device.Get("ilgpu-cpu");
        var w = Tensor.Ones([1000], d);
        long after1 = 0;
        for (int step = 0; step < 50; step++)
        {
            using var scope = new TensorScope();
            var y = (w * 2f + w) * w;
            _ = y.ToArray();
            if (step == 1) after1 = d.Memory.Allocations;
        }
        Assert.Equal(after1, d.Memory.Allocations);
    }
}
