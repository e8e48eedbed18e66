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

    /// <summary>The kernels' parameter in these tests: LeakyRelu's slope (not torch's 0.01, to see it), 0 for the others.</summary>
    static float Alpha(ActivationKind k) => k == ActivationKind.LeakyRelu ? 0.2f : 0f;

    /// <summary>The op's name in the graph.</summary>
    static string OpName(ActivationKind k) => k switch
    {
        ActivationKind.LeakyRelu => "leaky_relu",
        ActivationKind.Gelu or ActivationKind.GeluTanh => "gelu",
        _ => k.ToString().ToLowerInvariant(),
    };

    /// <summary>erfc in double, independent of the kernels' fit: the Maclaurin series of erf below 3 (terms stay below 3⁷/3! ≈ 400,
    /// so about 13 correct digits), the continued fraction of erfc from 3 on; erfc(−x) = 2 − erfc(x).</summary>
    internal static double ErfcInDouble(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return 2 - ErfcInDouble(-x);
        if (x < 3)
        {
            double sum = 0, term = x;   // term = (−1)^n x^(2n+1) / n!
            for (int n = 0; n < 200 && Math.Abs(term) > 1e-18; n++)
            {
                sum += term / (2 * n + 1);
                term *= -x * x / (n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated from the tail.
        double f = x;
        for (int k = 200; k >= 1; k--) f = x + k / 2.0 / f;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    static double Phi(double x) => 0.5 * ErfcInDouble(-x / Math.Sqrt(2));
    static double PhiDensity(double x) => Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);
    const double K0 = 0.7978845608028654, K1 = 0.044715;   // √(2/π), the cubic coefficient of the tanh GELU

    // The math, in double: only Reference_MatchesTheMath uses it.
    static double InDouble(ActivationKind k, double x) => k switch
    {
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.LeakyRelu => x > 0 ? x : Alpha(k) * x,
        ActivationKind.Gelu => x * Phi(x),
        // ½x·(1 + tanh u) written as x·σ(2u): in double too, 1 + tanh u loses every digit where tanh u rounds to −1.
        ActivationKind.GeluTanh => x / (1 + Math.Exp(-2 * K0 * (x + K1 * x * x * x))),
        _ => x > 0 ? 1 : 0,
    };

    static double DerivativeInDouble(ActivationKind k, double x) => k switch
    {
        ActivationKind.Relu => x > 0 ? 1 : 0,
        ActivationKind.Sigmoid => InDouble(k, x) * (1 - InDouble(k, x)),
        ActivationKind.Tanh => 1 - Math.Tanh(x) * Math.Tanh(x),
        ActivationKind.LeakyRelu => x > 0 ? 1 : Alpha(k),
        ActivationKind.Gelu => Phi(x) + x * PhiDensity(x),
        ActivationKind.GeluTanh => GeluTanhDerivative(x),
        _ => 0,
    };

    static double GeluTanhDerivative(double x)
    {
        double sg = 1 / (1 + Math.Exp(-2 * K0 * (x + K1 * x * x * x))), ds = sg * (1 - sg);   // σ(2u) = ½(1 + tanh u)
        return sg + (ds == 0 ? 0 : 2 * x * ds * K0 * (1 + 3 * K1 * x * x));
    }

    // Relu and Step are exact, leaky relu within one rounding of its product. Sigmoid and tanh: relative 2e-6 (a few float ulps;
    // the GPU's exp is a 2-ulp approximation), absolute 1e-38 only so denormal results (σ(−100) ≈ 4e−44) are not held to rtol.
    // The GELUs: relative 1e-5 (the erfc fit's 1.2e-7 and, far in the tails, the float rounding of x² in e^(−x²), which grows
    // with x²).
    static (float atol, float rtol) Tolerance(ActivationKind k) => k switch
    {
        ActivationKind.Relu or ActivationKind.Step => (0f, 0f),
        ActivationKind.LeakyRelu => (0f, 1e-7f),
        ActivationKind.Gelu or ActivationKind.GeluTanh => (1e-38f, 1e-5f),
        _ => (1e-38f, 2e-6f),
    };

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
        Reference.ActivationForward(kind, x, y, n, Alpha(kind));
        Reference.ActivationBackward(kind, x, y, dy, dx, n, Alpha(kind));
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
            b.ActivationForward(kind, sx, sy, n, Alpha(kind));
            b.ActivationBackward(kind, sx, sy, sdy, sdx, n, Alpha(kind));
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
        // Leaky relu and the GELUs: NaN passes through; the tails (GELU(−100) is −0: Φ underflows; GELU(100) = 100).
        var l = x.LeakyRelu(0.5f).ToArray();
        Assert.Equal(new[] { -5e29f, -50f, 0f, 100f, 1e30f }, l[..5]);
        foreach (var approximate in new[] { "none", "tanh" })
        {
            var ge = x.Gelu(approximate).ToArray();
            Assert.Equal(new[] { 0f, 0f, 0f, 100f, 1e30f }, ge[..5]);
            Assert.True(float.IsNaN(ge[5]) && float.IsNaN(l[5]));
        }

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
            ActivationKind.LeakyRelu => t => F.LeakyRelu(t, Alpha(kind)),
            ActivationKind.Gelu => t => F.Gelu(t),
            ActivationKind.GeluTanh => t => F.Gelu(t, "tanh"),
            _ => F.Step,
        };
        var y = op(tx);
        Assert.Equal(shape, y.Shape);
        Assert.Equal(OpName(kind), y.Op);
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
        foreach (var (name, op) in new (string, Func<Tensor, Tensor>)[] { ("relu", F.Relu), ("sigmoid", F.Sigmoid), ("tanh", F.Tanh), ("step", F.Step),
                                                                           ("leaky_relu", t => F.LeakyRelu(t)), ("gelu", t => F.Gelu(t)) })
        {
            var e = Assert.Throws<ArgumentException>(() => op(labels));
            Assert.Contains(name, e.Message); Assert.Contains("[3]", e.Message);
        }
        var x = Tensor.Zeros([2, 3]);
        var g = Assert.Throws<ArgumentException>(() => F.Gelu(x, "erf"));
        Assert.Contains("gelu", g.Message); Assert.Contains("'erf'", g.Message); Assert.Contains("[2, 3]", g.Message);
        Assert.Contains("negative_slope", Assert.Throws<ArgumentException>(() => F.LeakyRelu(x, float.NaN)).Message);
    }
}
