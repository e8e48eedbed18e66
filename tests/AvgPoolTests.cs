using ScratchNet.Kernels;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// Average pooling (count_include_pad true and false), adaptive average pooling, and ceil_mode for max and average pooling.
// The definitions (Reference.AvgPool2d*, Reference.AdaptiveAvgPool2d*, kernels/pool/Pool.Reference.cs) against the math: a
// scan of the whole window that counts the divisor by enumeration, torch's output-size rule written out, hand values, and
// the backwards against central finite differences in double. Every version (each cpu vector path, the cpu default, the
// ILGPU kernels) against the definitions, bit for bit; the ops and modules against them; bad input.
public class AvgPoolTests
{
    // (N, C, H, W, KH, KW, StrideH, StrideW, PadH, PadW, ceil): kernel 1–5, stride 1–3, padding 0–2, ceil_mode windows that
    // reach past the padded edge, a kernel larger than the image in ceil mode, rows long enough for 16-lane vector bodies.
    public static readonly int[][] Geometries =
    [
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
        [2, 3, 7, 5, 2, 2, 2, 2, 0, 0, 0],
        [2, 3, 7, 5, 2, 2, 2, 2, 0, 0, 1],
        [1, 2, 9, 9, 3, 3, 2, 2, 1, 1, 1],
        [2, 1, 8, 6, 3, 3, 2, 2, 1, 1, 0],
        [1, 3, 5, 7, 2, 3, 1, 2, 1, 1, 1],
        [1, 1, 11, 4, 3, 2, 3, 1, 1, 0, 1],
        [1, 2, 13, 13, 3, 3, 1, 1, 1, 1, 0],
        [1, 1, 2, 2, 3, 3, 2, 2, 0, 0, 1],
        [1, 2, 6, 9, 4, 5, 2, 3, 2, 2, 1],
        [2, 2, 20, 37, 3, 3, 1, 1, 1, 1, 0],
        [1, 2, 10, 40, 2, 2, 2, 2, 1, 1, 1],
        [1, 1, 9, 35, 5, 4, 2, 2, 2, 2, 0],
    ];

    static PoolGeometry Geometry(int[] s) => new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], "avg_pool2d", s[10] != 0);

    // (N, C, H, W, OH, OW): divisible, overlapping windows (7 → 3), output larger than the input (repeats), 1×1.
    public static readonly int[][] AdaptiveGeometries =
    [
        [2, 3, 6, 6, 3, 3],
        [1, 2, 7, 5, 3, 2],
        [2, 1, 5, 9, 4, 4],
        [1, 2, 3, 2, 6, 5],
        [2, 2, 13, 13, 6, 6],
        [1, 1, 1, 1, 6, 6],
        [1, 3, 8, 11, 1, 1],
    ];

    static AdaptivePoolGeometry Adaptive(int[] s) => new(s[0], s[1], s[2], s[3], s[4], s[5]);

    /// <summary>torch's output size, written as its source does (pooling_output_shape).</summary>
    static int TorchOutputSize(int size, int k, int s, int p, bool ceil)
    {
        int num = size + 2 * p - k + (ceil ? s - 1 : 0);
        int o = (int)Math.Floor((double)num / s) + 1;
        if (ceil && (o - 1) * s >= size + p) o--;
        return o;
    }

    /// <summary>The math: every position of the whole KH×KW window, those inside the image summed (in double), the divisor
    /// counted: the positions inside the padded image (include) or inside the image (exclude).</summary>
    static double[] AvgMath(double[] x, PoolGeometry g, bool includePad)
    {
        var y = new double[g.OutputSize];
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++, o++)
        {
            double sum = 0; int inside = 0, padded = 0;
            for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
            {
                int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                if (ih < g.H + g.PadH && iw < g.W + g.PadW) padded++;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                sum += x[plane * g.H * g.W + ih * g.W + iw];
                inside++;
            }
            y[o] = sum / (includePad ? padded : inside);
        }
        return y;
    }

    /// <summary>The math of adaptive pooling: the windows from real-number bounds floor(o·H/OH), ceil((o+1)·H/OH).</summary>
    static double[] AdaptiveMath(double[] x, AdaptivePoolGeometry g)
    {
        var y = new double[g.OutputSize];
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++, o++)
        {
            int h0 = (int)Math.Floor((double)oh * g.H / g.OH), h1 = (int)Math.Ceiling((double)(oh + 1) * g.H / g.OH);
            int w0 = (int)Math.Floor((double)ow * g.W / g.OW), w1 = (int)Math.Ceiling((double)(ow + 1) * g.W / g.OW);
            double sum = 0;
            for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
                sum += x[plane * g.H * g.W + ih * g.W + iw];
            y[o] = sum / ((h1 - h0) * (w1 - w0));
        }
        return y;
    }

    static float[] F32(double[] a) => a.Select(v => (float)v).ToArray();

    static (float[] y, float[] dx) RefAvg(PoolGeometry g, bool include, float[] x, float[] dy, float[] dx0)
    {
        var y = new float[g.OutputSize]; var dx = (float[])dx0.Clone();
        Reference.AvgPool2dForward(g, include, x, y);
        Reference.AvgPool2dBackward(g, include, dy, dx);
        return (y, dx);
    }

    static (float[] y, float[] dx) RefAdaptive(AdaptivePoolGeometry g, float[] x, float[] dy, float[] dx0)
    {
        var y = new float[g.OutputSize]; var dx = (float[])dx0.Clone();
        Reference.AdaptiveAvgPool2dForward(g, x, y);
        Reference.AdaptiveAvgPool2dBackward(g, dy, dx);
        return (y, dx);
    }

    [Fact]
    public void Geometry_FollowsTorchsOutputSizeRule()
    {
        foreach (var s in Geometries.Concat(PoolTests.Geometries.Select(p => (int[])[.. p, 0])).Concat(PoolTests.Geometries.Select(p => (int[])[.. p, 1])))
        {
            bool ceil = s[10] != 0;
            int oh = TorchOutputSize(s[2], s[4], s[6], s[8], ceil), ow = TorchOutputSize(s[3], s[5], s[7], s[9], ceil);
            var g = Geometry(s);
            Assert.True(g.OH == oh && g.OW == ow, $"{g}: torch gives {oh}×{ow}");
            Assert.True((g.OH - 1) * g.StrideH - g.PadH < g.H && (g.OW - 1) * g.StrideW - g.PadW < g.W, $"{g}: a window starts past the image");
        }
        // Hand values (torch 1.13): 2×2 input, kernel 3, stride 2: floor mode has no window, ceil mode one.
        Assert.Throws<ArgumentException>(() => new PoolGeometry(1, 1, 2, 2, 3, 3, 2, 2, 0, 0));
        Assert.Equal(1, new PoolGeometry(1, 1, 2, 2, 3, 3, 2, 2, 0, 0, ceilMode: true).OH);
        Assert.Equal(3, new PoolGeometry(1, 1, 5, 5, 2, 2, 2, 2, 0, 0, ceilMode: true).OH);   // floor: 2
        Assert.Equal(4, new PoolGeometry(1, 1, 6, 6, 3, 3, 2, 2, 1, 1, ceilMode: true).OH);   // the 5th window would start in the padding
    }

    [Fact]
    public void Reference_MatchesTheMath()
    {
        var gen = new Generator(31);
        foreach (var s in Geometries)
        foreach (bool include in new[] { true, false })
        {
            var g = Geometry(s);
            var x = TestUtil.RandomArray(gen, g.InputSize);
            var (y, _) = RefAvg(g, include, x, new float[g.OutputSize], new float[g.InputSize]);
            TestUtil.AssertClose(F32(AvgMath(TestUtil.ToDouble(x), g, include)), y, 1e-6f, 1e-5f, $"avg_pool2d {g} include={include}");
            // The average is linear: central differences are exact up to rounding, at any step.
            var r = TestUtil.RandomArray(gen, g.OutputSize);
            var (_, grad) = RefAvg(g, include, x, r, new float[g.InputSize]);
            var rd = TestUtil.ToDouble(r);
            var num = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, AvgMath(xs, g, include)), TestUtil.ToDouble(x));
            TestUtil.AssertClose(num, grad, 1e-5f, 1e-4f, $"avg_pool2d backward {g} include={include}");
        }
        foreach (var s in AdaptiveGeometries)
        {
            var g = Adaptive(s);
            var x = TestUtil.RandomArray(gen, g.InputSize);
            var r = TestUtil.RandomArray(gen, g.OutputSize);
            var (y, grad) = RefAdaptive(g, x, r, new float[g.InputSize]);
            TestUtil.AssertClose(F32(AdaptiveMath(TestUtil.ToDouble(x), g)), y, 1e-6f, 1e-5f, $"adaptive {g}");
            var rd = TestUtil.ToDouble(r);
            var num = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, AdaptiveMath(xs, g)), TestUtil.ToDouble(x));
            TestUtil.AssertClose(num, grad, 1e-5f, 1e-4f, $"adaptive backward {g}");
        }

        // Hand values from torch 1.13: arange(25) as 5×5, kernel 2, stride 2, ceil_mode; arange(4) as 2×2, kernel 3, stride 2,
        // padding 1, ceil_mode (include: the corner windows count their padding).
        var x25 = Enumerable.Range(0, 25).Select(i => (float)i).ToArray();
        var (y25, _) = RefAvg(new PoolGeometry(1, 1, 5, 5, 2, 2, 2, 2, 0, 0, ceilMode: true), true, x25, new float[9], new float[25]);
        Assert.Equal([3f, 5f, 6.5f, 13f, 15f, 16.5f, 20.5f, 22.5f, 24f], y25);
        var (y4, _) = RefAvg(new PoolGeometry(1, 1, 2, 2, 3, 3, 2, 2, 1, 1, ceilMode: true), true, [0f, 1f, 2f, 3f], new float[4], new float[4]);
        TestUtil.AssertClose([6f / 9, 6f / 9, 5f / 6, 0.75f], y4, 1e-7f, 1e-6f, "hand values include_pad");
        var (y4x, _) = RefAvg(new PoolGeometry(1, 1, 2, 2, 3, 3, 2, 2, 1, 1, ceilMode: true), false, [0f, 1f, 2f, 3f], new float[4], new float[4]);
        Assert.Equal([1.5f, 2f, 2.5f, 3f], y4x);
    }

    /// <summary>Every version against the definitions, bit for bit: the average forward and backward (both divisors), the
    /// adaptive ones, and max pooling in ceil mode (values, argmax, backward).</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Kernels_MatchReference(string version)
    {
        var b = KernelVersions.Backend(version);
        var gen = new Generator(32);
        foreach (var s in Geometries)
        {
            var g = Geometry(s);
            foreach (bool include in new[] { true, false })
            {
                var (x, dy, dx0) = (TestUtil.RandomArray(gen, g.InputSize), TestUtil.RandomArray(gen, g.OutputSize), TestUtil.RandomArray(gen, g.InputSize));
                using Storage sx = b.Allocate(g.InputSize, DType.Float32), sy = b.Allocate(g.OutputSize, DType.Float32),
                    sdy = b.Allocate(g.OutputSize, DType.Float32), sdx = b.Allocate(g.InputSize, DType.Float32);
                b.Upload(x, sx); b.Upload(dy, sdy); b.Upload(dx0, sdx);
                b.AvgPool2dForward(g, include, sx, sy);
                b.AvgPool2dBackward(g, include, sdy, sdx);
                var (yRef, dxRef) = RefAvg(g, include, x, dy, dx0);
                var (y, dx) = (new float[g.OutputSize], new float[g.InputSize]);
                b.Download(sy, y); b.Download(sdx, dx);
                Assert.True(yRef.SequenceEqual(y), $"{version} avg forward {g} include={include}");
                Assert.True(dxRef.SequenceEqual(dx), $"{version} avg backward {g} include={include}");
            }
            // Max pooling on the same geometry (ceil mode included).
            var mg = new PoolGeometry(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], ceilMode: s[10] != 0);
            var (mx, mdy, mdx0) = (TestUtil.RandomArray(gen, mg.InputSize), TestUtil.RandomArray(gen, mg.OutputSize), TestUtil.RandomArray(gen, mg.InputSize));
            using Storage px = b.Allocate(mg.InputSize, DType.Float32), py = b.Allocate(mg.OutputSize, DType.Float32), pa = b.Allocate(mg.OutputSize, DType.Int32),
                pdy = b.Allocate(mg.OutputSize, DType.Float32), pdx = b.Allocate(mg.InputSize, DType.Float32);
            b.Upload(mx, px); b.Upload(mdy, pdy); b.Upload(mdx0, pdx);
            b.MaxPool2dForward(mg, px, py, pa);
            b.MaxPool2dBackward(mg, pdy, pa, pdx);
            var (ry, ra, rdx) = (new float[mg.OutputSize], new int[mg.OutputSize], (float[])mdx0.Clone());
            Reference.MaxPool2dForward(mg, mx, ry, ra);
            Reference.MaxPool2dBackward(mg, mdy, ra, rdx);
            var (gy, ga, gdx) = (new float[mg.OutputSize], new int[mg.OutputSize], new float[mg.InputSize]);
            b.Download(py, gy); b.Download(pa, ga); b.Download(pdx, gdx);
            Assert.True(ry.SequenceEqual(gy) && ra.SequenceEqual(ga) && rdx.SequenceEqual(gdx), $"{version} max pooling {mg}");
        }
        foreach (var s in AdaptiveGeometries)
        {
            var g = Adaptive(s);
            var (x, dy, dx0) = (TestUtil.RandomArray(gen, g.InputSize), TestUtil.RandomArray(gen, g.OutputSize), TestUtil.RandomArray(gen, g.InputSize));
            using Storage sx = b.Allocate(g.InputSize, DType.Float32), sy = b.Allocate(g.OutputSize, DType.Float32),
                sdy = b.Allocate(g.OutputSize, DType.Float32), sdx = b.Allocate(g.InputSize, DType.Float32);
            b.Upload(x, sx); b.Upload(dy, sdy); b.Upload(dx0, sdx);
            b.AdaptiveAvgPool2dForward(g, sx, sy);
            b.AdaptiveAvgPool2dBackward(g, sdy, sdx);
            var (yRef, dxRef) = RefAdaptive(g, x, dy, dx0);
            var (y, dx) = (new float[g.OutputSize], new float[g.InputSize]);
            b.Download(sy, y); b.Download(sdx, dx);
            Assert.True(yRef.SequenceEqual(y), $"{version} adaptive forward {g}");
            Assert.True(dxRef.SequenceEqual(dx), $"{version} adaptive backward {g}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Ops_AndModules_MatchReference_WithGradients(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(33);
        foreach (var s in Geometries.Take(10))
        foreach (bool include in new[] { true, false })
        {
            var g = Geometry(s);
            var x = TestUtil.RandomArray(gen, g.InputSize);
            var r = TestUtil.RandomArray(gen, g.OutputSize);
            var tx = Tensor.FromArray(x, [g.N, g.C, g.H, g.W], d);
            tx.RequiresGrad = true;
            var y = F.AvgPool2d(tx, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, g.CeilMode, include);
            Assert.Equal(g.OutputShape, y.Shape);
            Assert.Equal("avg_pool2d", y.Op);
            y.Backward(Tensor.FromArray(r, y.Shape, d));
            var (yRef, dxRef) = RefAvg(g, include, x, r, new float[g.InputSize]);
            Assert.Equal(yRef, y.ToArray());
            Assert.Equal(dxRef, tx.Grad!.ToArray());
            if (g.KH == g.KW && g.StrideH == g.StrideW && g.PadH == g.PadW)
                Assert.Equal(yRef, new AvgPool2d(g.KH, g.StrideH, g.PadH, g.CeilMode, include).Forward(tx).ToArray());
        }
        foreach (var s in AdaptiveGeometries)
        {
            var g = Adaptive(s);
            var x = TestUtil.RandomArray(gen, g.InputSize);
            var r = TestUtil.RandomArray(gen, g.OutputSize);
            var tx = Tensor.FromArray(x, [g.N, g.C, g.H, g.W], d);
            tx.RequiresGrad = true;
            var y = new AdaptiveAvgPool2d(g.OH, g.OW).Forward(tx);
            Assert.Equal(g.OutputShape, y.Shape);
            y.Backward(Tensor.FromArray(r, y.Shape, d));
            var (yRef, dxRef) = RefAdaptive(g, x, r, new float[g.InputSize]);
            // A divisible size runs as avg_pool2d: the same windows, sums and divisors, so the same bits.
            Assert.Equal(yRef, y.ToArray());
            Assert.Equal(dxRef, tx.Grad!.ToArray());
            Assert.Equal(g.H % g.OH == 0 && g.W % g.OW == 0 ? "avg_pool2d" : "adaptive_avg_pool2d", y.Op);
        }
        // The module keeps ceil_mode and padding for max pooling too.
        var xm = Tensor.FromArray(TestUtil.RandomArray(gen, 2 * 3 * 9 * 7), [2, 3, 9, 7], d);
        Assert.Equal(F.MaxPool2d(xm, 3, 3, 2, 2, 1, 1, ceilMode: true).ToArray(), new MaxPool2d(3, 2, 1, ceilMode: true).Forward(xm).ToArray());
        Assert.Equal(new[] { 2, 3, 5, 4 }, new MaxPool2d(3, 2, 1, ceilMode: true).Forward(xm).Shape);
        Assert.Equal(new[] { 2, 3, 4, 3 }, new MaxPool2d(3, 2).Forward(xm).Shape);
    }

    [Fact]
    public void BadInput_NamesOpAndShapes()
    {
        var x = Tensor.Zeros([1, 2, 5, 5]);
        void Throws(Action f, params string[] parts)
        {
            var e = Assert.Throws<ArgumentException>(f);
            foreach (var part in parts) Assert.Contains(part, e.Message);
        }
        Throws(() => F.AvgPool2d(x, 0), "avg_pool2d", "kernel", "[1, 2, 5, 5]");
        Throws(() => F.AvgPool2d(x, 2, 0), "avg_pool2d", "stride");
        Throws(() => F.AvgPool2d(x, 3, 1, 2), "avg_pool2d", "padding");
        Throws(() => F.AvgPool2d(x, 6), "avg_pool2d", "larger than the padded input", "[1, 2, 5, 5]");
        Throws(() => F.AvgPool2d(Tensor.Zeros([2, 5, 5]), 2), "avg_pool2d", "4 dimensions", "[2, 5, 5]");
        Throws(() => F.AdaptiveAvgPool2d(x, 0, 3), "adaptive_avg_pool2d", "output size", "[1, 2, 5, 5]");
        Throws(() => F.AdaptiveAvgPool2d(Tensor.Zeros([5, 5]), 2, 2), "adaptive_avg_pool2d", "[5, 5]");
        Throws(() => new AvgPool2d(3, padding: 2), "AvgPool2d", "padding");
        Throws(() => new MaxPool2d(2, padding: 2), "MaxPool2d", "padding");
        Throws(() => new AdaptiveAvgPool2d(6, 6).Forward(Tensor.Zeros([2, 7, 7])), "AdaptiveAvgPool2d", "[2, 7, 7]");
    }
}
