using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Activations. The definition (Reference.ActivationForward / ActivationBackward, kernels/activation/Activation.Reference.cs)
// against the math in double: the closed forms (Math.Tanh, 1 / (1 + e^−x), ...), their derivatives, and central finite
// differences of the closed forms. Every version (each cpu vector path, the cpu default, the ILGPU kernel) and the ops
// against the definition on the same inputs, special values included.
public class ActivationTests
{
    public static IEnumerable<object[]> VersionsAndKinds() =>
        from v in KernelVersions.All()
        from k in Enum.GetValues<ActivationKind>()
        select new object[] { v[0], k };

    public static IEnumerable<object[]> DevicesAndKinds() =>
        from d in TestUtil.Devices()
        from k in Enum.GetValues<ActivationKind>()
        select new object[] { d[0], k };

    public static IEnumerable<object[]> Kinds() => Enum.GetValues<ActivationKind>().Select(k => new object[] { k });

    // The math, in double: only Reference_MatchesTheMath uses it.
    static double InDouble(ActivationKind k, double x) => k switch
    {
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        _ => x > 0 ? 1 : 0,
    };

    static double DerivativeInDouble(ActivationKind k, double x) => k switch
    {
        ActivationKind.Relu => x > 0 ? 1 : 0,
        ActivationKind.Sigmoid => InDouble(k, x) * (1 - InDouble(k, x)),
        ActivationKind.Tanh => 1 - Math.Tanh(x) * Math.Tanh(x),
        _ => 0,
    };

    // Relu and Step are exact. Sigmoid and tanh: relative 2e-6 (a few float ulps; the GPU's exp is a
    // 2-ulp approximation), absolute 1e-38 only so denormal results (σ(−100) ≈ 4e−44) are not held to rtol.
    static (float atol, float rtol) Tolerance(ActivationKind k) =>
        k is ActivationKind.Relu or ActivationKind.Step ? (0f, 0f) : (1e-38f, 2e-6f);

    static readonly float[] Special = [-200f, -100f, -88.7f, -30f, -10f, -1f, -0.3f, -0.25f, -0.2499f, -1e-3f, -1e-8f, -0f,
        0f, 1e-8f, 1e-3f, 0.2499f, 0.25f, 0.3f, 1f, 10f, 30f, 88.7f, 100f, 200f, float.MaxValue, float.MinValue];

    static float[] Inputs(Generator g, int n)
    {
        var x = TestUtil.RandomArray(g, n, -8f, 8f);
        for (int i = 0; i < Math.Min(n, Special.Length); i++) x[i * (n / Math.Min(n, Special.Length))] = Special[i];
        return x;
    }

    /// <summary>Reference's forward, and its backward accumulated into a copy of dx0.</summary>
    static (float[] y, float[] dx) RunReference(ActivationKind kind, float[] x, float[] dy, float[] dx0)
    {
        int n = x.Length;
        var y = new float[n]; var dx = (float[])dx0.Clone();
        Reference.ActivationForward(kind, x, y, n);
        Reference.ActivationBackward(kind, x, y, dy, dx, n);
        return (y, dx);
    }

    /// <summary>The definition itself, independent of it: the closed forms and their derivatives in double on the
    /// inputs of Kernels_MatchReference (special values included), and the derivative against central finite differences
    /// of the closed form (h = 1e-4, inputs kept 0.01 away from the kinks of relu and step).</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Reference_MatchesTheMath(ActivationKind kind)
    {
        var gen = new Generator(21);
        var (atol, rtol) = Tolerance(kind);
        foreach (int n in new[] { 1, 7, 1000, 4099, 100_003 })
        {
            var x = Inputs(gen, n);
            var dy = TestUtil.RandomArray(gen, n);
            var dx0 = TestUtil.RandomArray(gen, n);
            var (y, dx) = RunReference(kind, x, dy, dx0);
            TestUtil.AssertClose(x.Select(v => (float)InDouble(kind, v)).ToArray(), y, atol, rtol, $"{kind} forward n={n}");
            Assert.All(y, v => Assert.True(float.IsFinite(v), $"{kind}: non-finite output {v}"));
            // dx = dx0 + dy · f'(x) with f' from the double formulas: float rounding of y(1−y) and 1−y² near
            // saturation is absolute (≈ 1e−7), so this check is absolute.
            var dxMath = Enumerable.Range(0, n).Select(i => (float)(dx0[i] + dy[i] * DerivativeInDouble(kind, x[i]))).ToArray();
            TestUtil.AssertClose(dxMath, dx, 1e-6f, 1e-5f, $"{kind} backward n={n}");
        }

        // The derivative against central finite differences of the closed form: inputs in [−4, 4] kept at least 0.01 away
        // from 0, where relu and step have their kink (h = 1e-4).
        var gen2 = new Generator(22);
        int m = 2 * 3 * 5 * 7;
        var xf = TestUtil.RandomArray(gen2, m, -4f, 4f).Select(v => MathF.Abs(v) < 0.01f ? v + 0.02f : v).ToArray();
        var r = TestUtil.RandomArray(gen2, m);
        var (_, grad) = RunReference(kind, xf, r, new float[m]);
        var rd = TestUtil.ToDouble(r);
        var num = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, xs.Select(v => InDouble(kind, v)).ToArray()), TestUtil.ToDouble(xf));
        TestUtil.AssertClose(num, grad, 1e-5f, 1e-4f, $"{kind} Reference backward vs finite differences");
        if (kind == ActivationKind.Step) Assert.All(grad, v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(VersionsAndKinds))]
    public void Kernels_MatchReference(string version, ActivationKind kind)
    {
        var b = KernelVersions.Backend(version);
        var gen = new Generator(21);
        var sizes = KernelVersions.IsIlgpu(version) ? new[] { 1, 7, 1000, 4099 } : new[] { 1, 7, 1000, 4099, 100_003 };
        var (atol, rtol) = Tolerance(kind);
        foreach (int n in sizes)
        {
            var x = Inputs(gen, n);
            var dy = TestUtil.RandomArray(gen, n);
            var dx0 = TestUtil.RandomArray(gen, n);
            using Storage sx = b.Allocate(n, DType.Float32), sy = b.Allocate(n, DType.Float32),
                sdy = b.Allocate(n, DType.Float32), sdx = b.Allocate(n, DType.Float32);
            b.Upload(x, sx); b.Upload(dy, sdy); b.Upload(dx0, sdx);
            b.ActivationForward(kind, sx, sy, n);
            b.ActivationBackward(kind, sx, sy, sdy, sdx, n);
            var y = new float[n]; var dx = new float[n];
            b.Download(sy, y); b.Download(sdx, dx);

            var (yRef, dxRef) = RunReference(kind, x, dy, dx0);
            TestUtil.AssertClose(yRef, y, atol, rtol, $"{version} {kind} forward n={n}");
            Assert.All(y, v => Assert.True(float.IsFinite(v), $"{kind}: non-finite output {v}"));
            // Absolute: the version's y feeds its own y(1−y) and 1−y², which near saturation round at ≈ 1e−7.
            TestUtil.AssertClose(dxRef, dx, 1e-6f, 1e-5f, $"{version} {kind} backward n={n}");
        }
    }

    /// <summary>The versions and the reference device (--kernels reference: Reference itself).</summary>
    public static IEnumerable<object[]> VersionsAndReference() => KernelVersions.All().Append(["cpu --kernels reference"]);

    /// <summary>Hand values: the definition's (on the reference device) and every version's.</summary>
    [Theory]
    [MemberData(nameof(VersionsAndReference))]
    public void SpecialValues(string version)
    {
        var d = KernelVersions.Device(version);
        var x = Tensor.FromArray([-1e30f, -100f, 0f, 100f, 1e30f, float.NaN], d);
        Assert.Equal(new[] { 0f, 0f, 0f, 100f, 1e30f }, x.Relu().ToArray()[..5]);
        var s = x.Sigmoid().ToArray();
        Assert.Equal(0f, s[0]); Assert.InRange(s[1], 3.7e-44f, 3.8e-44f); Assert.Equal(0.5f, s[2]); Assert.Equal(1f, s[3]); Assert.Equal(1f, s[4]);
        var t = x.Tanh().ToArray();
        Assert.Equal(new[] { -1f, -1f, 0f, 1f, 1f }, t[..5]);
        Assert.Equal(new[] { 0f, 0f, 0f, 1f, 1f, 0f }, x.Step().ToArray());
        // NaN passes through relu, sigmoid and tanh (as PyTorch), and H(NaN) = 0 by the definition "1 if x > 0".
        Assert.True(float.IsNaN(x.Relu().ToArray()[5]) && float.IsNaN(s[5]) && float.IsNaN(t[5]));

        // Relu's backward selects: a NaN upstream gradient where x ≤ 0 still gives 0.
        var xr = Tensor.FromArray([-1f, 2f], d); xr.RequiresGrad = true;
        xr.Relu().Backward(Tensor.FromArray([float.NaN, 3f], d));
        Assert.Equal(new[] { 0f, 3f }, xr.Grad!.ToArray());
    }

    /// <summary>The ops (F.Relu, ...) on each device: forward and gradient against Reference's forward and backward (which
    /// Reference_MatchesTheMath checks against finite differences of the closed forms, on these inputs).</summary>
    [Theory]
    [MemberData(nameof(DevicesAndKinds))]
    public void Op_ForwardAndBackward_MatchReference(string device, ActivationKind kind)
    {
        var d = Device.Get(device);
        var gen = new Generator(22);
        int[] shape = [2, 3, 5, 7];
        int n = Tensor.NumelOf(shape);
        // Inputs in [−4, 4] kept at least 0.01 away from 0, where relu and step have their kink.
        var x = TestUtil.RandomArray(gen, n, -4f, 4f).Select(v => MathF.Abs(v) < 0.01f ? v + 0.02f : v).ToArray();
        var r = TestUtil.RandomArray(gen, n);
        var tx = Tensor.FromArray(x, shape, d);
        tx.RequiresGrad = true;
        Func<Tensor, Tensor> op = kind switch
        {
            ActivationKind.Relu => F.Relu,
            ActivationKind.Sigmoid => F.Sigmoid,
            ActivationKind.Tanh => F.Tanh,
            _ => F.Step,
        };
        var y = op(tx);
        Assert.Equal(shape, y.Shape);
        Assert.Equal(kind.ToString().ToLowerInvariant(), y.Op);
        y.Backward(Tensor.FromArray(r, shape, d));

        var (yRef, gradRef) = RunReference(kind, x, r, new float[n]);
        var (atol, rtol) = Tolerance(kind);
        TestUtil.AssertClose(yRef, y.ToArray(), atol, rtol, $"{kind} op forward");
        TestUtil.AssertClose(gradRef, tx.Grad!.ToArray(), 1e-5f, 1e-4f, $"{kind} grad vs Reference");
        if (kind == ActivationKind.Step) Assert.All(tx.Grad!.ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Op_GradientAccumulates_WhenInputIsUsedTwice(string device)
    {
        // y = relu(x) + sigmoid(x)  →  dL/dx = r ⊙ (1[x > 0] + σ(x)(1 − σ(x))): Reference's two backward passes into one dx.
        var d = Device.Get(device);
        var gen = new Generator(23);
        var x = TestUtil.RandomArray(gen, 50, -3f, 3f);
        var r = TestUtil.RandomArray(gen, 50);
        var tx = Tensor.FromArray(x, d); tx.RequiresGrad = true;
        (tx.Relu() + tx.Sigmoid()).Backward(Tensor.FromArray(r, d));
        var (_, expected) = RunReference(ActivationKind.Relu, x, r, new float[50]);
        (_, expected) = RunReference(ActivationKind.Sigmoid, x, r, expected);
        TestUtil.AssertClose(expected, tx.Grad!.ToArray(), 1e-6f, 1e-5f, "relu + sigmoid grad");
    }

    [Fact]
    public void BadInput_NamesOp()
    {
        var labels = Tensor.Labels([1, 2, 3]);
        foreach (var (name, op) in new (string, Func<Tensor, Tensor>)[] { ("relu", F.Relu), ("sigmoid", F.Sigmoid), ("tanh", F.Tanh), ("step", F.Step) })
        {
            var e = Assert.Throws<ArgumentException>(() => op(labels));
            Assert.Contains(name, e.Message); Assert.Contains("[3]", e.Message);
        }
    }
}
