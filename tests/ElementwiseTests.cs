namespace ScratchNet.Tests;

// Element-wise kernels against plain loops, and their backward against finite differences.
public class ElementwiseTests
{
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void AddMulScale_MatchReference(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(1);
        foreach (int n in new[] { 1, 7, 256, 1000, 40_001 })
        {
            var a = TestUtil.RandomArray(g, n); var b = TestUtil.RandomArray(g, n);
            var ta = Tensor.FromArray(a, d); var tb = Tensor.FromArray(b, d);
            TestUtil.AssertClose(a.Zip(b, (x, y) => x + y).ToArray(), (ta + tb).ToArray(), what: $"add n={n}");
            TestUtil.AssertClose(a.Zip(b, (x, y) => x * y).ToArray(), (ta * tb).ToArray(), what: $"mul n={n}");
            TestUtil.AssertClose(a.Select(x => -2.5f * x).ToArray(), (ta * -2.5f).ToArray(), what: $"scale n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Backward_AccumulatesAcrossUses(string device)
    {
        // y = a*b + a  →  dL/da = r⊙b + r, dL/db = r⊙a; a is used twice so its gradient is a sum.
        var d = Device.Get(device);
        var g = new Generator(2);
        int n = 33;
        var a = TestUtil.RandomArray(g, n); var b = TestUtil.RandomArray(g, n); var r = TestUtil.RandomArray(g, n);
        var ta = Tensor.FromArray(a, d); ta.RequiresGrad = true;
        var tb = Tensor.FromArray(b, d); tb.RequiresGrad = true;
        var y = ta * tb + ta;
        y.Backward(Tensor.FromArray(r, d));
        TestUtil.AssertClose(Enumerable.Range(0, n).Select(i => r[i] * b[i] + r[i]).ToArray(), ta.Grad!.ToArray(), what: "da");
        TestUtil.AssertClose(Enumerable.Range(0, n).Select(i => r[i] * a[i]).ToArray(), tb.Grad!.ToArray(), what: "db");

        // finite differences in double of L(a) = Σ r ⊙ (a ⊙ b + a)
        var rd = TestUtil.ToDouble(r); var bd = TestUtil.ToDouble(b);
        var num = TestUtil.NumericGrad(x => TestUtil.Dot(rd, x.Select((v, i) => v * bd[i] + v).ToArray()), TestUtil.ToDouble(a));
        TestUtil.AssertClose(num, ta.Grad!.ToArray(), 1e-4f, 1e-3f, "da vs finite differences");
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
