using ScratchNet.Kernels;

namespace ScratchNet.Tests;

/// <summary>Shared helpers: the devices every kernel test runs on, random data, tolerance checks and
/// central finite differences in double precision.</summary>
public static class TestUtil
{
    /// <summary>The devices that CI can run: plain C# and ILGPU's CPU simulator (the same kernels as CUDA).
    /// Set SCRATCHNET_TEST_DEVICES=cpu,ilgpu-cpu,cuda to add a GPU.</summary>
    public static IEnumerable<object[]> Devices()
    {
        var env = Environment.GetEnvironmentVariable("SCRATCHNET_TEST_DEVICES");
        var names = string.IsNullOrWhiteSpace(env) ? ["cpu", "ilgpu-cpu"] : env.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return names.Select(n => new object[] { n });
    }

    public static float[] RandomArray(Generator g, int n, float low = -1f, float high = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = low + (high - low) * g.NextFloat();
        return a;
    }

    /// <summary>Asserts |expected − actual| ≤ atol + rtol·|expected| element-wise, reporting the worst element.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float atol = 1e-5f, float rtol = 1e-4f, string what = "")
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        int worst = -1; double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)expected[i] - actual[i]);
            double excess = diff - (atol + rtol * Math.Abs(expected[i]));
            if (double.IsNaN(actual[i]) || excess > worstExcess) { worst = i; worstExcess = double.IsNaN(actual[i]) ? double.PositiveInfinity : excess; }
        }
        if (worst >= 0)
            Assert.Fail($"{what}: element {worst} is {actual[worst]}, expected {expected[worst]} (atol {atol}, rtol {rtol})");
    }

    public static void AssertClose(double[] expected, ReadOnlySpan<float> actual, float atol, float rtol, string what = "")
        => AssertClose(expected.Select(v => (float)v).ToArray(), actual, atol, rtol, what);

    /// <summary>
    /// Central finite differences of a scalar function, in double: g[i] = (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h.
    /// The truncation error is O(h²) and, in double, round-off stays below 1e-9 for h = 1e-4, so this is
    /// an accurate oracle for a float32 analytical gradient.
    /// </summary>
    public static double[] NumericGrad(Func<double[], double> f, double[] x, double h = 1e-4)
    {
        var g = new double[x.Length];
        var xp = (double[])x.Clone();
        for (int i = 0; i < x.Length; i++)
        {
            double orig = xp[i];
            xp[i] = orig + h; double fp = f(xp);
            xp[i] = orig - h; double fm = f(xp);
            xp[i] = orig;
            g[i] = (fp - fm) / (2 * h);
        }
        return g;
    }

    /// <summary>
    /// Central differences of a function of float inputs (a loss built on the float Reference kernels, summed in double):
    /// g[i] = (f(x + h·eᵢ) − f(x − h·eᵢ)) / (the step actually taken, x + h and x − h rounded to float). For a function linear or
    /// quadratic in each single input (a matmul, a bias, a sum, dropout, a max whose winner the step does not change) the
    /// quotient is the exact slope for any h, up to the rounding of f's float outputs: a gradient check against the Reference.
    /// </summary>
    public static double[] NumericGrad(Func<float[], double> f, float[] x, float h = 1f)
    {
        var g = new double[x.Length];
        var xp = (float[])x.Clone();
        for (int i = 0; i < x.Length; i++)
        {
            float orig = xp[i], up = orig + h, down = orig - h;
            xp[i] = up; double fp = f(xp);
            xp[i] = down; double fm = f(xp);
            xp[i] = orig;
            g[i] = (fp - fm) / ((double)up - down);
        }
        return g;
    }

    public static double[] ToDouble(float[] a) => a.Select(v => (double)v).ToArray();

    /// <summary>Σ r ⊙ y, in double, of a float output y.</summary>
    public static double Dot(float[] r, float[] y)
    {
        double s = 0;
        for (int i = 0; i < r.Length; i++) s += (double)r[i] * y[i];
        return s;
    }

    /// <summary>Σ r ⊙ y: the scalar whose gradient w.r.t. y is r, so Backward(r) on y is checked against d/dx Σ r ⊙ f(x).</summary>
    public static double Dot(double[] r, double[] y)
    {
        double s = 0;
        for (int i = 0; i < r.Length; i++) s += r[i] * y[i];
        return s;
    }
}
