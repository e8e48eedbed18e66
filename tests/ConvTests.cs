using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// The definition (Reference.Conv2d*, kernels/conv/Conv.Reference.cs: nested loops summing in double) against
// hand-computed values and finite differences of its own forward; then im2col / col2im / bias kernels, the conv2d
// driver, the direct and implicit ILGPU kernels and the cpu device's image-parallel conv against it, on every
// device; then F.Conv2d's backward against central finite differences of a separate forward in double (CPU).
// Tolerances: kernels that only move data (im2col) must match exactly; sums (col2im, bias, the conv
// itself, K = C·KH·KW ≤ 200 products of values in [−1, 1]) within 1e-4 + 1e-4·|ref|; gradients vs finite
// differences within 1e-4 + 1e-3·|ref| (the float32 analytical gradient has ~1e-6 relative round-off, the
// O(h²) difference quotient in double ~1e-8; an index error shows up at order 0.1).
public class ConvTests
{
    const float Atol = 1e-4f, Rtol = 1e-4f;

    // (N, C, H, W, O, KH, KW, SH, SW, PH, PW): kernels 1/3/5/7, strides 1–3, padding 0–3, non-square
    // images, rectangular kernel/stride/padding, a kernel as large as the (padded) input, batch 1.
    public static readonly ConvGeometry[] Geometries =
    [
        new(1, 1, 5, 5, 1, 1, 1),                       // pointwise (no im2col)
        new(2, 3, 6, 5, 4, 1, 1),                       // pointwise, batch 2
        new(2, 2, 7, 9, 3, 1, 1, 2, 2, 1, 1),           // 1×1 with stride and padding (goes through im2col)
        new(1, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1),
        new(3, 2, 9, 7, 4, 3, 3, 2, 2, 0, 0),
        new(2, 3, 11, 10, 2, 5, 5, 3, 3, 2, 2),
        new(1, 2, 13, 9, 3, 7, 7, 2, 1, 3, 3),
        new(2, 1, 6, 10, 3, 3, 5, 1, 2, 0, 2),          // rectangular kernel, stride and padding
        new(1, 4, 5, 5, 6, 5, 5),                       // kernel == input: 1×1 output
        new(2, 2, 4, 4, 3, 7, 7, 1, 1, 2, 2),           // kernel larger than the image, not than the padded image
        new(1, 2, 9, 11, 3, 3, 3, 3, 2, 3, 1),
    ];

    public static IEnumerable<object[]> DevicesAndGeometries()
    {
        foreach (var d in TestUtil.Devices())
            for (int i = 0; i < Geometries.Length; i++) yield return [d[0], i];
    }

    static int Ix(ConvGeometry g, int n, int c, int h, int w) => ((n * g.C + c) * g.H + h) * g.W + w;
    static int Iy(ConvGeometry g, int n, int o, int oh, int ow) => ((n * g.O + o) * g.OH + oh) * g.OW + ow;
    static int Iw(ConvGeometry g, int o, int c, int kh, int kw) => ((o * g.C + c) * g.KH + kh) * g.KW + kw;

    /// <summary>
    /// conv2d on double inputs: the loss of the finite-difference checks of F.Conv2d, which perturb single inputs by
    /// h = 1e-4 (float inputs could not hold x + h). Written apart from Reference on purpose: a second, independent oracle.
    /// </summary>
    static double[] ForwardInDouble(ConvGeometry g, double[] x, double[] w, double[]? b)
    {
        var y = new double[g.N * g.OutputImage];
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        double s = b is null ? 0 : b[o];
                        for (int c = 0; c < g.C; c++)
                            for (int kh = 0; kh < g.KH; kh++)
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                                    if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) s += w[Iw(g, o, c, kh, kw)] * x[Ix(g, n, c, ih, iw)];
                                }
                        y[Iy(g, n, o, oh, ow)] = s;
                    }
        return y;
    }

    static float[] RefForward(ConvGeometry g, float[] x, float[] w, float[]? b)
    {
        var y = new float[g.N * g.OutputImage];
        Reference.Conv2dForward(g, x, w, b, y);
        return y;
    }

    [Fact]
    public void Reference_MatchesHandComputedValues()
    {
        // One 3×3 image, one 2×2 filter, stride 2, padding 1: output 2×2, each window a 2×2 block of the padded
        // image [0 0 0 0 0; 0 1 2 3 0; 0 4 5 6 0; 0 7 8 9 0; 0 0 0 0 0] at rows/columns {0,1} and {2,3}.
        var g = new ConvGeometry(1, 1, 3, 3, 1, 2, 2, 2, 2, 1, 1);
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9], w = [1, 2, 3, 4], bias = [0.5f];
        var y = new float[4];
        Reference.Conv2dForward(g, x, w, bias, y);
        // y00 = 4·1;  y01 = 3·2 + 4·3;  y10 = 2·4 + 4·7;  y11 = 1·5 + 2·6 + 3·8 + 4·9; each + 0.5
        Assert.Equal(new[] { 4.5f, 18.5f, 36.5f, 77.5f }, y);

        // Stride 2 = kernel size: every pixel is read by exactly one tap of one window, so dx is w·dy term by term.
        float[] dy = [1, 10, 100, 1000];
        var dx = Enumerable.Repeat(0.5f, 9).ToArray();              // accumulates into what is there
        Reference.Conv2dBackwardData(g, w, dy, dx);
        Assert.Equal(new[] { 4.5f, 30.5f, 40.5f, 200.5f, 1000.5f, 2000.5f, 400.5f, 3000.5f, 4000.5f }, dx);

        // dw[kh, kw] = Σ dy[oh, ow]·x under that tap: w00 only meets a pixel in window (1, 1) (x = 5), w11 in all four.
        float[] dw = [1, 1, 1, 1];
        Reference.Conv2dBackwardWeights(g, x, dy, dw);
        Assert.Equal(new[] { 1 + 5000f, 1 + 4 * 100 + 6 * 1000f, 1 + 2 * 10 + 8 * 1000f, 1 + 1 + 3 * 10 + 7 * 100 + 9 * 1000f }, dw);

        float[] db = [2];
        Reference.Conv2dBackwardBias(g, dy, db);
        Assert.Equal(new[] { 1113f }, db);
    }

    public static readonly ConvGeometry[] ReferenceGradGeometries =
    [
        new(1, 2, 7, 6, 2, 3, 3, 2, 2, 0, 1),           // stride 2 with a ragged edge, padding on one axis
        new(2, 1, 6, 8, 2, 2, 5, 3, 1, 1, 2),           // rectangular kernel, stride 3 > kernel height: rows no tap reads
        new(1, 2, 3, 3, 2, 5, 4, 1, 2, 2, 1),           // kernel larger than the image
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Reference_Backward_MatchesFiniteDifferencesOfItsForward(int gi)
    {
        // L = Σ r ⊙ conv(x, w, b) is linear in each single input, so the central difference quotient with any step is
        // its exact slope. With small integers for every value, all sums are exact in float too: the quotient with
        // step 1 and the reference's dx, dw, db must agree exactly. An index error changes them by whole numbers.
        var g = ReferenceGradGeometries[gi];
        var gen = new Generator(900 + (ulong)gi);
        float[] Ints(int n) => Enumerable.Range(0, n).Select(_ => MathF.Floor(7 * gen.NextFloat()) - 3).ToArray();
        float[] x = Ints(g.N * g.InputImage), w = Ints(g.O * g.ColRows), b = Ints(g.O), r = Ints(g.N * g.OutputImage);

        double Loss(float[] xv, float[] wv, float[] bv) => TestUtil.Dot(TestUtil.ToDouble(r), TestUtil.ToDouble(RefForward(g, xv, wv, bv)));
        float[] Numeric(float[] v, Func<float[], double> loss)
        {
            var grad = new float[v.Length];
            for (int i = 0; i < v.Length; i++)
            {
                float orig = v[i];
                v[i] = orig + 1; double lp = loss(v);
                v[i] = orig - 1; double lm = loss(v);
                v[i] = orig;
                grad[i] = (float)((lp - lm) / 2);
            }
            return grad;
        }

        var dx = new float[x.Length]; var dw = new float[w.Length]; var db = new float[b.Length];
        Reference.Conv2dBackwardData(g, w, r, dx);
        Reference.Conv2dBackwardWeights(g, x, r, dw);
        Reference.Conv2dBackwardBias(g, r, db);
        Assert.Equal(Numeric(x, v => Loss(v, w, b)), dx);
        Assert.Equal(Numeric(w, v => Loss(x, v, b)), dw);
        Assert.Equal(Numeric(b, v => Loss(x, w, v)), db);
        Assert.Contains(dx, v => v != 0);
    }

    [Fact]
    public void Reference_BadBuffers_NameTheOpAndShapes()
    {
        var g = new ConvGeometry(2, 3, 6, 6, 4, 3, 3);
        float[] x = new float[g.N * g.InputImage], w = new float[g.O * g.ColRows], y = new float[g.N * g.OutputImage], small = new float[10];
        Assert.Contains("conv2d forward: the input buffer holds 10", Assert.Throws<ArgumentException>(() => Reference.Conv2dForward(g, small, w, null, y)).Message);
        Assert.Contains("conv2d forward: the bias buffer holds 3", Assert.Throws<ArgumentException>(() => Reference.Conv2dForward(g, x, w, new float[3], y)).Message);
        Assert.Contains("conv2d backward data: the output buffer holds 10", Assert.Throws<ArgumentException>(() => Reference.Conv2dBackwardData(g, w, small, x)).Message);
        var e = Assert.Throws<ArgumentException>(() => Reference.Conv2dBackwardWeights(g, x, y, small)).Message;
        Assert.Contains("conv2d backward weights: the weight buffer holds 10", e);
        Assert.Contains("[4, 3, 3, 3]", e);
        Assert.Contains("conv2d backward bias", Assert.Throws<ArgumentException>(() => Reference.Conv2dBackwardBias(g, small, new float[4])).Message);
    }

    static Storage Put(IBackend be, float[] data)
    {
        var s = be.Allocate(data.Length, DType.Float32);
        be.Upload(data, s);
        return s;
    }

    static float[] Get(IBackend be, Storage s, int n)
    {
        var a = new float[n];
        be.Download(s, a);
        return a;
    }

    [Theory]
    [MemberData(nameof(DevicesAndGeometries))]
    public void Im2Col_And_Col2Im_MatchReference(string device, int gi)
    {
        var g = Geometries[gi];
        var be = Device.Get(device).Backend;
        var gen = new Generator(100 + (ulong)gi);
        var x = TestUtil.RandomArray(gen, g.N * g.InputImage);
        int ckk = g.ColRows, ohw = g.ColCols;
        // Convert the last images of the batch only (n0 > 0 when N > 1) to test the image offset.
        int n0 = g.N > 1 ? 1 : 0, count = g.N - n0;

        var expected = new float[count * ckk * ohw];
        for (int l = 0; l < count; l++)
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                        for (int oh = 0; oh < g.OH; oh++)
                            for (int ow = 0; ow < g.OW; ow++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                                bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                                expected[(((c * g.KH + kh) * g.KW + kw) * count + l) * ohw + oh * g.OW + ow] = inside ? x[Ix(g, n0 + l, c, ih, iw)] : 0f;
                            }
        using var sx = Put(be, x);
        using var scol = Put(be, Enumerable.Repeat(float.NaN, expected.Length).ToArray());
        be.Im2Col(g, sx, n0, count, scol);
        Assert.Equal(expected, Get(be, scol, expected.Length));

        // col2im accumulates each col entry into the pixel it came from; images before n0 stay untouched.
        var col = TestUtil.RandomArray(gen, expected.Length);
        var dx0 = TestUtil.RandomArray(gen, x.Length);
        var dxRef = TestUtil.ToDouble(dx0);
        for (int l = 0; l < count; l++)
            for (int c = 0; c < g.C; c++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                        for (int oh = 0; oh < g.OH; oh++)
                            for (int ow = 0; ow < g.OW; ow++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                                    dxRef[Ix(g, n0 + l, c, ih, iw)] += col[(((c * g.KH + kh) * g.KW + kw) * count + l) * ohw + oh * g.OW + ow];
                            }
        using var scol2 = Put(be, col);
        using var sdx = Put(be, dx0);
        be.Col2Im(g, scol2, n0, count, sdx);
        TestUtil.AssertClose(dxRef, Get(be, sdx, x.Length), Atol, Rtol, $"{device} col2im {g}");
    }

    /// <summary>Random inputs for geometry g and the conv's forward and accumulated adjoints by the Reference loops.</summary>
    sealed record Case(float[] X, float[] W, float[] B, float[] Dy, float[] Dx0, float[] Dw0, float[] Db0,
        float[] YRef, float[] DxRef, float[] DwRef, float[] DbRef);

    static Case ReferenceCase(ConvGeometry g, ulong seed)
    {
        var gen = new Generator(seed);
        var x = TestUtil.RandomArray(gen, g.N * g.InputImage);
        var w = TestUtil.RandomArray(gen, g.O * g.ColRows);
        var b = TestUtil.RandomArray(gen, g.O);
        var dy = TestUtil.RandomArray(gen, g.N * g.OutputImage);
        var dx0 = TestUtil.RandomArray(gen, x.Length);
        var dw0 = TestUtil.RandomArray(gen, w.Length);
        var db0 = TestUtil.RandomArray(gen, b.Length);

        // The forward, and the adjoints accumulated into dx0, dw0, db0: dx += Σ w·dy over the taps that read a pixel, dw += Σ dy·x, db += Σ dy.
        var yRef = RefForward(g, x, w, b);
        var dxRef = (float[])dx0.Clone(); var dwRef = (float[])dw0.Clone(); var dbRef = (float[])db0.Clone();
        Reference.Conv2dBackwardData(g, w, dy, dxRef);
        Reference.Conv2dBackwardWeights(g, x, dy, dwRef);
        Reference.Conv2dBackwardBias(g, dy, dbRef);
        return new Case(x, w, b, dy, dx0, dw0, db0, yRef, dxRef, dwRef, dbRef);
    }

    [Theory]
    [MemberData(nameof(DevicesAndGeometries))]
    public void Im2ColAlgorithm_ForwardAndBackward_MatchReference(string device, int gi)
    {
        var g = Geometries[gi];
        var be = Device.Get(device).Backend;
        var (x, w, b, dy, dx0, dw0, db0, yRef, dxRef, dwRef, dbRef) = ReferenceCase(g, 200 + (ulong)gi);

        // Default chunking (all images at once here) and one image per chunk (maxColElements = 1).
        foreach (int maxCol in new[] { ConvIm2Col.DefaultMaxColElements, 1 })
        {
            string what = $"{device} {g} maxCol={maxCol}";
            using var sx = Put(be, x); using var sw = Put(be, w); using var sb = Put(be, b); using var sdy = Put(be, dy);
            using var sy = Put(be, Enumerable.Repeat(float.NaN, yRef.Length).ToArray());
            ConvIm2Col.Forward(be, g, sx, sw, sb, sy, maxCol);
            TestUtil.AssertClose(yRef, Get(be, sy, yRef.Length), Atol, Rtol, "forward " + what);

            using var sdx = Put(be, dx0); using var sdw = Put(be, dw0); using var sdb = Put(be, db0);
            ConvIm2Col.BackwardData(be, g, sw, sdy, sdx, maxCol);
            ConvIm2Col.BackwardWeights(be, g, sx, sdy, sdw, maxCol);
            be.BiasBackward(sdy, sdb, g.N, g.O, g.ColCols);
            TestUtil.AssertClose(dxRef, Get(be, sdx, x.Length), Atol, Rtol, "backward data " + what);
            TestUtil.AssertClose(dwRef, Get(be, sdw, w.Length), Atol, Rtol, "backward weights " + what);
            TestUtil.AssertClose(dbRef, Get(be, sdb, b.Length), Atol, Rtol, "backward bias " + what);
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Im2ColAlgorithm_ChunksOfSeveralImages(string device)
    {
        // 5 images, col buffer for 2: chunks of 2, 2 and 1 (a partial last chunk).
        var g = new ConvGeometry(5, 2, 6, 7, 3, 3, 3, 1, 2, 1, 0);
        var be = Device.Get(device).Backend;
        var gen = new Generator(300);
        var x = TestUtil.RandomArray(gen, g.N * g.InputImage);
        var w = TestUtil.RandomArray(gen, g.O * g.ColRows);
        int maxCol = 2 * g.ColRows * g.ColCols + 3;
        Assert.Equal(2, ConvIm2Col.ImagesPerChunk(g, maxCol));
        using var sx = Put(be, x); using var sw = Put(be, w); using var sy = be.Allocate(g.N * g.OutputImage, DType.Float32);
        ConvIm2Col.Forward(be, g, sx, sw, null, sy, maxCol);
        TestUtil.AssertClose(RefForward(g, x, w, null), Get(be, sy, g.N * g.OutputImage), Atol, Rtol, $"{device} chunked forward");

        // Backward through chunks equals backward in one chunk.
        var dy = TestUtil.RandomArray(gen, g.N * g.OutputImage);
        using var sdy = Put(be, dy);
        float[] Grads(int mc, bool data)
        {
            using var s = Put(be, new float[data ? x.Length : w.Length]);
            if (data) ConvIm2Col.BackwardData(be, g, sw, sdy, s, mc); else ConvIm2Col.BackwardWeights(be, g, sx, sdy, s, mc);
            return Get(be, s, data ? x.Length : w.Length);
        }
        TestUtil.AssertClose(Grads(ConvIm2Col.DefaultMaxColElements, true), Grads(maxCol, true), Atol, Rtol, "dx chunked");
        TestUtil.AssertClose(Grads(ConvIm2Col.DefaultMaxColElements, false), Grads(maxCol, false), Atol, Rtol, "dw chunked");
    }

    [Fact]
    public void Im2ColAlgorithm_SpreadsImagesEvenlyOverChunks()
    {
        var conv2 = new ConvGeometry(256, 64, 16, 16, 192, 5, 5, 1, 1, 2, 2);    // 1600·256 floats per image: 40 fit in 16M
        Assert.Equal(37, ConvIm2Col.ImagesPerChunk(conv2));                    // 7 chunks: 37 × 6 + 34
        Assert.Equal(256, ConvIm2Col.ImagesPerChunk(new ConvGeometry(256, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1)));  // all fit
        Assert.Equal(1, ConvIm2Col.ImagesPerChunk(conv2, 1000));              // not even one fits: one at a time
        Assert.Equal(3, ConvIm2Col.ImagesPerChunk(new ConvGeometry(9, 1, 4, 4, 1, 1, 1, 2, 2), 4 * 4));  // 4 fit: 3 chunks of 3
    }

    // The ILGPU implicit-GEMM convolution (kernels/conv/Conv.Ilgpu.Implicit.cs) on top of Geometries: tile edges
    // of the 128×128 GEMM tile (130 output channels, 130 input channels for backward data, 162 and 192 columns),
    // pixel counts that are (64) and are not (81) multiples of 4 (the float4 and the scalar paths of ImageMatrix),
    // and weight gradients long enough in K to be split.
    public static readonly ConvGeometry[] ImplicitGeometries =
    [
        .. Geometries,
        new(3, 5, 8, 8, 130, 3, 3, 1, 1, 1, 1),
        new(2, 3, 9, 9, 7, 3, 3, 1, 1, 1, 1),
        new(2, 130, 4, 4, 3, 3, 3, 1, 1, 1, 1),
        new(2, 4, 10, 10, 6, 5, 5, 2, 2, 2, 2),
        new(4, 2, 12, 12, 3, 3, 3, 1, 1, 1, 1),         // dW's K = N·OHW = 576: split over K (float4 rows of dy)
        new(3, 2, 11, 11, 3, 3, 3, 1, 1, 1, 1),         // K = 363, 121 pixels: split, scalar rows of dy
    ];

    public static IEnumerable<object[]> IlgpuDevicesAndImplicitGeometries()
    {
        foreach (var d in IlgpuDevices())
            for (int i = 0; i < ImplicitGeometries.Length; i++) yield return [d[0], i];
    }

    [Theory]
    [MemberData(nameof(IlgpuDevicesAndImplicitGeometries))]
    public void Implicit_ForwardAndBackward_MatchReference(string device, int gi)
    {
        var g = ImplicitGeometries[gi];
        var il = (IlgpuBackend)Device.Get(device, new DeviceOptions { Conv = ConvAlgorithm.Implicit }).Backend;
        var (x, w, b, dy, dx0, dw0, _, yRef, dxRef, dwRef, _) = ReferenceCase(g, 700 + (ulong)gi);
        {
            string what = $"{device} {g}";
            using var sx = Put(il, x); using var sw = Put(il, w); using var sb = Put(il, b); using var sdy = Put(il, dy);
            using var sy = Put(il, Enumerable.Repeat(float.NaN, yRef.Length).ToArray());
            il.Conv2dForward(g, sx, sw, sb, sy);
            TestUtil.AssertClose(yRef, Get(il, sy, yRef.Length), Atol, Rtol, "implicit forward " + what);

            using var sdx = Put(il, dx0);
            il.Conv2dBackwardData(g, sw, sdy, sdx);
            TestUtil.AssertClose(dxRef, Get(il, sdx, x.Length), Atol, Rtol, "implicit backward data " + what);

            // Whole K in one group per tile, then K split over up to 64 groups (partials summed by the reduce kernel).
            foreach (int groups in new[] { 1, 64 })
            {
                // A device of its own for each split-K target, sharing the accelerator (storages move between them freely).
                var split = (IlgpuBackend)Device.Get(device, il.Options with { SplitKTargetGroups = groups }).Backend;
                if (groups > 1 && g.N * g.ColCols >= 256)
                    Assert.True(split.SplitKFor(new GemmArgs(false, true, g.O, g.ColRows, g.N * g.ColCols)) > 1, $"dW of {g} should split K");
                using var sdw = Put(il, dw0);
                split.Conv2dBackwardWeights(g, sx, sdy, sdw);
                TestUtil.AssertClose(dwRef, Get(il, sdw, w.Length), Atol, Rtol, $"implicit backward weights, {groups} groups wanted, {what}");
            }
        }
    }

    /// <summary>Every (device, algorithm) pair the device takes, through the options a user sets with --conv.</summary>
    public static IEnumerable<object[]> DevicesAndAlgorithms()
    {
        foreach (var d in TestUtil.Devices())
        {
            bool cpu = Device.Get((string)d[0]).Backend is CpuBackend;
            foreach (var a in Enum.GetValues<ConvAlgorithm>())
                if (!(cpu && a == ConvAlgorithm.Implicit) && !(!cpu && a == ConvAlgorithm.PerImage)) yield return [d[0], a];
        }
    }

    /// <summary>The three passes through IBackend on a device created with --conv ALGORITHM, against the definition, on a
    /// few geometries (several images so per-image runs, a pointwise one, stride and padding).</summary>
    [Theory]
    [MemberData(nameof(DevicesAndAlgorithms))]
    public void EveryConvAlgorithm_ChosenByOptions_MatchesReference(string device, ConvAlgorithm algorithm)
    {
        var be = Device.Get(device, new DeviceOptions { Conv = algorithm }).Backend;
        ConvGeometry[] shapes = [new(4, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1), new(3, 4, 6, 6, 2, 1, 1), new(2, 2, 11, 11, 3, 5, 5, 2, 2, 2, 2)];
        foreach (var g in shapes)
        {
            var (x, w, b, dy, dx0, dw0, _, yRef, dxRef, dwRef, _) = ReferenceCase(g, 900);
            string what = $"{device} --conv {DeviceOptions.Name(algorithm)} {g}";
            using var sx = Put(be, x); using var sw = Put(be, w); using var sb = Put(be, b); using var sdy = Put(be, dy);
            using var sy = Put(be, Enumerable.Repeat(float.NaN, yRef.Length).ToArray());
            be.Conv2dForward(g, sx, sw, sb, sy);
            TestUtil.AssertClose(yRef, Get(be, sy, yRef.Length), Atol, Rtol, "forward " + what);
            using var sdx = Put(be, dx0); using var sdw = Put(be, dw0);
            be.Conv2dBackwardData(g, sw, sdy, sdx);
            be.Conv2dBackwardWeights(g, sx, sdy, sdw);
            TestUtil.AssertClose(dxRef, Get(be, sdx, x.Length), Atol, Rtol, "backward data " + what);
            TestUtil.AssertClose(dwRef, Get(be, sdw, w.Length), Atol, Rtol, "backward weights " + what);
        }
        if (be is CpuBackend cpu && algorithm != ConvAlgorithm.Auto)
            Assert.Equal(algorithm, cpu.ConvAlgorithmFor(shapes[0]));
    }

    [Fact]
    public void ConvOptions_ThatADeviceCannotRun_AreRefusedNamingTheOption()
    {
        Assert.Contains("--conv implicit", Assert.Throws<ArgumentException>(() => Device.Get("cpu", new DeviceOptions { Conv = ConvAlgorithm.Implicit })).Message);
        Assert.Contains("--conv per-image", Assert.Throws<ArgumentException>(() => Device.Get("ilgpu-cpu", new DeviceOptions { Conv = ConvAlgorithm.PerImage })).Message);
        Assert.Contains("--kernels reference", Assert.Throws<ArgumentException>(() => Device.Get("ilgpu-cpu", DeviceOptions.ReferenceKernels)).Message);
        Assert.Contains("--gemm-version", Assert.Throws<ArgumentException>(() => Device.Get("cpu", new DeviceOptions { GemmVersion = 3 })).Message);
        // The reference device runs the definition: Auto is Direct there.
        Assert.Equal(ConvAlgorithm.Direct, ((CpuBackend)Device.Get("cpu", DeviceOptions.ReferenceKernels).Backend).ConvAlgorithmFor(new ConvGeometry(8, 3, 9, 9, 4, 3, 3)));
    }

    public static IEnumerable<object[]> IlgpuDevices() =>
        TestUtil.Devices().Where(d => Device.Get((string)d[0]).Backend is IlgpuBackend);

    [Theory]
    [MemberData(nameof(IlgpuDevices))]
    public void ConvAlgorithms_AgreeThroughAutograd(string device)
    {
        // F.Conv2d → IBackend.Conv2d*: on an ILGPU device im2col, the implicit GEMM and Auto agree. Each algorithm is a
        // device of its own options.
        var g = new ConvGeometry(3, 3, 10, 10, 5, 3, 3, 1, 1, 1, 1);
        var c = ReferenceCase(g, 78);
        float[][] Run(Device d)
        {
            var x = Tensor.FromArray(c.X, [g.N, g.C, g.H, g.W], d); x.RequiresGrad = true;
            var w = Tensor.FromArray(c.W, [g.O, g.C, g.KH, g.KW], d); w.RequiresGrad = true;
            var bias = Tensor.FromArray(c.B, [g.O], d); bias.RequiresGrad = true;
            var y = F.Conv2d(x, w, bias, 1, 1);
            F.Sum(y * Tensor.FromArray(c.Dy, [g.N, g.O, g.OH, g.OW], d)).Backward();
            return [y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), bias.Grad!.ToArray()];
        }
        var im2col = Run(Device.Get(device, new DeviceOptions { Conv = ConvAlgorithm.Im2Col }));
        var implicitGemm = Run(Device.Get(device, new DeviceOptions { Conv = ConvAlgorithm.Implicit }));
        for (int i = 0; i < im2col.Length; i++) TestUtil.AssertClose(im2col[i], implicitGemm[i], 1e-5f, 1e-5f, $"implicit output {i}");

        // Auto with measuring on (the default on a GPU): the first call of each pass times both algorithms on
        // scratch buffers, so the gradients must still be accumulated exactly once.
        var tuning = Device.Get(device, new DeviceOptions { ConvAutoTune = true });
        var il = (IlgpuBackend)tuning.Backend;
        il.ClearTuned();
        var auto = Run(tuning);
        for (int i = 0; i < im2col.Length; i++) TestUtil.AssertClose(im2col[i], auto[i], 1e-5f, 1e-5f, $"auto output {i}");
        Assert.Equal(new[] { ConvPass.Forward, ConvPass.BackwardData, ConvPass.BackwardWeights }, il.Tuned.Select(t => t.Pass).Order());
        Assert.All(il.Tuned, t => Assert.True(t.Im2ColMs > 0 && t.ImplicitMs > 0, $"{t}"));
        var again = Run(tuning);                                            // cached: no new measurements
        Assert.Equal(3, il.Tuned.Count);
        for (int i = 0; i < im2col.Length; i++) TestUtil.AssertClose(im2col[i], again[i], 1e-5f, 1e-5f, $"auto (cached) output {i}");
        il.ClearTuned();
    }

    [Fact]
    public void Implicit_BadBuffers_NameTheOpAndShapes()
    {
        var il = (IlgpuBackend)Device.Get("ilgpu-cpu").Backend;
        var g = new ConvGeometry(2, 3, 6, 6, 4, 3, 3);
        using var small = il.Allocate(10, DType.Float32);
        using var x = il.Allocate(g.N * g.InputImage, DType.Float32);
        using var w = il.Allocate(g.O * g.ColRows, DType.Float32);
        using var y = il.Allocate(g.N * g.OutputImage, DType.Float32);
        Assert.Contains("conv2d forward: the input storage holds 10", Assert.Throws<ArgumentException>(() => il.Conv2dForwardImplicit(g, small, w, null, y)).Message);
        Assert.Contains("conv2d backward data: the weight storage holds 10", Assert.Throws<ArgumentException>(() => il.Conv2dBackwardDataImplicit(g, small, y, x)).Message);
        var e = Assert.Throws<ArgumentException>(() => il.Conv2dBackwardWeightsImplicit(g, x, small, w)).Message;
        Assert.Contains("conv2d backward weights: the output storage holds 10", e);
        Assert.Contains("[2, 4, 4, 4]", e);
    }

    // The direct ILGPU convolution (kernels/conv/Conv.Ilgpu.Direct.cs), one thread per output element of each pass,
    // on Geometries and two more: a 1×1 kernel with padding 2 (whole output rows and columns in the padding: empty tap
    // ranges, y = bias), and stride 3 over a 2×2 kernel (input rows and columns that no tap reads: dx gets nothing).
    public static readonly ConvGeometry[] DirectGeometries =
    [
        .. Geometries,
        new(2, 2, 4, 5, 2, 1, 1, 1, 1, 2, 2),
        new(1, 2, 8, 7, 2, 2, 2, 3, 3, 1, 0),
    ];

    public static IEnumerable<object[]> IlgpuDevicesAndDirectGeometries()
    {
        foreach (var d in IlgpuDevices())
            for (int i = 0; i < DirectGeometries.Length; i++) yield return [d[0], i];
    }

    [Theory]
    [MemberData(nameof(IlgpuDevicesAndDirectGeometries))]
    public void Direct_ForwardAndBackward_MatchReference(string device, int gi)
    {
        var g = DirectGeometries[gi];
        var il = (IlgpuBackend)Device.Get(device).Backend;
        var (x, w, b, dy, dx0, dw0, _, yRef, dxRef, dwRef, _) = ReferenceCase(g, 800 + (ulong)gi);
        string what = $"{device} {g}";
        using var sx = Put(il, x); using var sw = Put(il, w); using var sb = Put(il, b); using var sdy = Put(il, dy);

        // Forward overwrites y (NaN before), with and without the bias.
        using var sy = Put(il, Enumerable.Repeat(float.NaN, yRef.Length).ToArray());
        il.Conv2dForwardDirect(g, sx, sw, sb, sy);
        TestUtil.AssertClose(yRef, Get(il, sy, yRef.Length), Atol, Rtol, "direct forward " + what);
        il.Conv2dForwardDirect(g, sx, sw, null, sy);
        TestUtil.AssertClose(RefForward(g, x, w, null), Get(il, sy, yRef.Length), Atol, Rtol, "direct forward without bias " + what);

        // The backward passes add into dx0 and dw0 (random, non-zero); a second run from the same start gives the same bits.
        float[] Backward(bool data)
        {
            using var s = Put(il, data ? dx0 : dw0);
            if (data) il.Conv2dBackwardDataDirect(g, sw, sdy, s); else il.Conv2dBackwardWeightsDirect(g, sx, sdy, s);
            return Get(il, s, data ? x.Length : w.Length);
        }
        var dx = Backward(true);
        TestUtil.AssertClose(dxRef, dx, Atol, Rtol, "direct backward data " + what);
        Assert.Equal(dx, Backward(true));
        var dw = Backward(false);
        TestUtil.AssertClose(dwRef, dw, Atol, Rtol, "direct backward weights " + what);
        Assert.Equal(dw, Backward(false));
    }

    [Fact]
    public void Direct_BadBuffers_NameTheOpAndShapes()
    {
        var il = (IlgpuBackend)Device.Get("ilgpu-cpu").Backend;
        var g = new ConvGeometry(2, 3, 6, 6, 4, 3, 3);
        using var small = il.Allocate(3, DType.Float32);
        using var x = il.Allocate(g.N * g.InputImage, DType.Float32);
        using var w = il.Allocate(g.O * g.ColRows, DType.Float32);
        using var y = il.Allocate(g.N * g.OutputImage, DType.Float32);
        Assert.Contains("conv2d forward: the input storage holds 3", Assert.Throws<ArgumentException>(() => il.Conv2dForwardDirect(g, small, w, null, y)).Message);
        Assert.Contains("conv2d forward: the bias storage holds 3 elements, [4] needs 4", Assert.Throws<ArgumentException>(() => il.Conv2dForwardDirect(g, x, w, small, y)).Message);
        Assert.Contains("conv2d backward data: the weight storage holds 3", Assert.Throws<ArgumentException>(() => il.Conv2dBackwardDataDirect(g, small, y, x)).Message);
        var e = Assert.Throws<ArgumentException>(() => il.Conv2dBackwardWeightsDirect(g, x, small, w)).Message;
        Assert.Contains("conv2d backward weights: the output storage holds 3", e);
        Assert.Contains("[2, 4, 4, 4]", e);
    }

    [Fact]
    public void Direct_KernelsCompileToPtx_WithoutSpills()
    {
        // `scratchnet ptx` finds the kernels by name (static methods of IlgpuBackend ending in "Kernel"); every sum of
        // the direct kernels is a scalar, so nothing should live in local memory.
        var direct = PtxInspector.KernelMethods().Where(m => m.Name.EndsWith("DirectKernel", StringComparison.Ordinal)).ToList();
        Assert.Equal(["Conv2dBackwardDataDirectKernel", "Conv2dBackwardWeightsDirectKernel", "Conv2dForwardDirectKernel"], direct.Select(PtxInspector.KernelName));
        foreach (var k in direct)
        {
            var r = PtxInspector.Analyze(k.Name, PtxInspector.CompilePtx(k, ILGPU.Runtime.Cuda.CudaArchitecture.SM_90, ILGPU.Runtime.Cuda.CudaInstructionSet.ISA_80));
            Assert.True(r.NoSpills, $"{r}");
        }
    }

    // The cpu device's per-image convolution (kernels/conv/Conv.Cpu.PerImage.cs): 2 to 5 images over the team's
    // threads (uneven parts), strides, padding, rectangular kernels, one input channel (the seed CNN's conv1).
    public static readonly ConvGeometry[] ImageGeometries =
    [
        new(2, 2, 7, 9, 3, 1, 1, 2, 2, 1, 1),
        new(3, 2, 9, 7, 4, 3, 3, 2, 2, 0, 0),
        new(5, 2, 6, 7, 3, 3, 3, 1, 2, 1, 0),
        new(2, 1, 6, 10, 3, 3, 5, 1, 2, 0, 2),
        new(3, 1, 12, 12, 8, 5, 5),
        new(4, 8, 12, 12, 16, 5, 5),
        new(2, 2, 4, 4, 3, 7, 7, 1, 1, 2, 2),
        new(3, 3, 11, 10, 2, 5, 5, 3, 3, 2, 2),
        new(2, 2, 20, 20, 3, 5, 5),                     // 16-wide rows: one AVX-512 vector
        new(3, 2, 8, 8, 3, 5, 5),                       // 4-wide rows
        new(3, 1, 20, 20, 4, 3, 3),                     // 324 pixels, 4 channels: dW as dot products on AVX-512 (Sgemm.DotNT)
    ];

    public static IEnumerable<object[]> SimdPathsAndImageGeometries()
    {
        foreach (var path in new[] { KernelPath.Avx512, KernelPath.Avx2, KernelPath.Vector })
            if (CpuSimd.IsSupported(path))
                for (int i = 0; i < ImageGeometries.Length; i++) yield return [path, i];
    }

    /// <summary>The cpu device on one SIMD path (its SGEMM micro-kernel too) and one conv algorithm.</summary>
    static IBackend CpuOn(KernelPath path, ConvAlgorithm algorithm) =>
        Device.Get("cpu", new DeviceOptions { Kernels = path, Conv = algorithm }).Backend;

    [Theory]
    [MemberData(nameof(SimdPathsAndImageGeometries))]
    public void PerImage_ForwardAndBackward_MatchReference(KernelPath path, int gi)
    {
        var g = ImageGeometries[gi];
        var be = CpuOn(path, ConvAlgorithm.PerImage);
        var (x, w, b, dy, dx0, dw0, _, yRef, dxRef, dwRef, _) = ReferenceCase(g, 400 + (ulong)gi);
        {
            Assert.Equal(ConvAlgorithm.PerImage, ((CpuBackend)be).ConvAlgorithmFor(g));
            string what = $"{path} {g}";
            using var sx = Put(be, x); using var sw = Put(be, w); using var sb = Put(be, b); using var sdy = Put(be, dy);
            using var sy = Put(be, Enumerable.Repeat(float.NaN, yRef.Length).ToArray());
            be.Conv2dForward(g, sx, sw, sb, sy);
            TestUtil.AssertClose(yRef, Get(be, sy, yRef.Length), Atol, Rtol, "per-image forward " + what);

            using var sdx = Put(be, dx0); using var sdw = Put(be, dw0);
            be.Conv2dBackwardData(g, sw, sdy, sdx);
            be.Conv2dBackwardWeights(g, sx, sdy, sdw);
            TestUtil.AssertClose(dxRef, Get(be, sdx, x.Length), Atol, Rtol, "per-image backward data " + what);
            var dw1 = Get(be, sdw, w.Length);
            TestUtil.AssertClose(dwRef, dw1, Atol, Rtol, "per-image backward weights " + what);

            // Fixed image ranges per part, partials added in part order: the same bits on every run.
            using var sdw2 = Put(be, dw0);
            be.Conv2dBackwardWeights(g, sx, sdy, sdw2);
            Assert.Equal(dw1, Get(be, sdw2, w.Length));
        }
    }

    [Fact]
    public void PerImage_IsChosenWhenEveryThreadGetsAnImage_AndAgreesWithIm2Col()
    {
        int batch = Math.Max(64, Environment.ProcessorCount), maxCol = DeviceOptions.Default.MaxColElements;
        Assert.True(ConvPerImage.Prefers(new ConvGeometry(batch, 1, 28, 28, 8, 5, 5), maxCol));        // seed CNN conv1
        var alexConv2 = new ConvGeometry(batch, 64, 16, 16, 192, 5, 5, 1, 1, 2, 2);
        Assert.Equal(ConvPerImage.Parts(alexConv2) * 1600L * 256, ConvPerImage.ColBufferElements(alexConv2));  // one [CKK, OHW] per part
        Assert.Equal(ConvPerImage.ColBufferElements(alexConv2) <= maxCol, ConvPerImage.Prefers(alexConv2, maxCol)); // yes up to 40 cores
        Assert.False(ConvPerImage.Prefers(new ConvGeometry(batch, 8, 12, 12, 16, 1, 1), maxCol));     // pointwise: no im2col at all
        Assert.False(ConvPerImage.Prefers(new ConvGeometry(batch, 64, 224, 224, 64, 3, 3), maxCol));  // col buffers above 64 MiB: im2col
        Assert.Equal(Environment.ProcessorCount <= 1, ConvPerImage.Prefers(new ConvGeometry(1, 3, 8, 8, 4, 3, 3), maxCol)); // 1 image: the GEMM threads instead

        // Whole path through autograd (F.Conv2d → IBackend.Conv2d*): im2col and per-image agree.
        var g = new ConvGeometry(6, 3, 10, 10, 5, 3, 3, 1, 1, 1, 1);
        var c = ReferenceCase(g, 77);
        float[][] Run(ConvAlgorithm algorithm)
        {
            var d = Device.Get("cpu", new DeviceOptions { Conv = algorithm });
            var x = Tensor.FromArray(c.X, [g.N, g.C, g.H, g.W], d); x.RequiresGrad = true;
            var w = Tensor.FromArray(c.W, [g.O, g.C, g.KH, g.KW], d); w.RequiresGrad = true;
            var bias = Tensor.FromArray(c.B, [g.O], d); bias.RequiresGrad = true;
            var y = F.Conv2d(x, w, bias, 1, 1);
            F.Sum(y * Tensor.FromArray(c.Dy, [g.N, g.O, g.OH, g.OW], d)).Backward();
            return [y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), bias.Grad!.ToArray()];
        }
        var im2col = Run(ConvAlgorithm.Im2Col);
        var perImage = Run(ConvAlgorithm.PerImage);
        for (int i = 0; i < im2col.Length; i++) TestUtil.AssertClose(im2col[i], perImage[i], 1e-5f, 1e-5f, $"output {i}");
    }

    [Theory]
    [MemberData(nameof(SimdPathsAndImageGeometries))]
    public void Im2ColOne_And_Col2ImOne_MatchTheChunkKernels(KernelPath path, int gi)
    {
        var g = ImageGeometries[gi];
        var gen = new Generator(500 + (ulong)gi);
        var x = TestUtil.RandomArray(gen, g.N * g.InputImage);
        int size = g.ColRows * g.ColCols, n = g.N - 1, colBase = 7;
        var one = new float[colBase + size];
        var chunk = new float[size];
        ConvSimd.Im2ColOne(path, g, x, n, one, colBase);
        Reference.Im2Col(g, x, n, 1, chunk);
        Assert.Equal(chunk, one[colBase..]);

        var dxOne = TestUtil.RandomArray(gen, x.Length);
        var dxChunk = (float[])dxOne.Clone();
        ConvSimd.Col2ImOne(path, g, one, colBase, n, dxOne);
        Reference.Col2Im(g, chunk, n, 1, dxChunk);
        Assert.Equal(dxChunk, dxOne);   // the same additions in the same order: the same bits

        Assert.Throws<ArgumentException>(() => ConvSimd.Im2ColOne(path, g, x, g.N, one, colBase));             // no such image
        Assert.Throws<ArgumentException>(() => ConvSimd.Im2ColOne(path, g, x, n, one, colBase + 1));           // col too short
        Assert.Throws<ArgumentException>(() => ConvSimd.Col2ImOne(KernelPath.Reference, g, one, colBase, n, dxOne)); // not a vector path
    }

    [Fact]
    public void PerImage_BadBuffers_NameTheOpAndShapes()
    {
        var be = CpuOn(KernelPath.Simd, ConvAlgorithm.PerImage);
        var g = new ConvGeometry(4, 2, 6, 6, 3, 3, 3);
        {
            using var x = be.Allocate(g.N * g.InputImage - 1, DType.Float32);
            using var w = be.Allocate(g.O * g.ColRows, DType.Float32);
            using var y = be.Allocate(g.N * g.OutputImage, DType.Float32);
            var e = Assert.Throws<ArgumentException>(() => be.Conv2dForward(g, x, w, null, y));
            Assert.Contains("conv2d", e.Message);
            Assert.Contains("[4, 2, 6, 6]", e.Message);
        }
    }

    // Bias add and its gradient (kernels/bias/). inner = 1 is the linear layout (one kernel on ILGPU), inner > 1 the conv layout
    // (group reduction); outer·inner = 600 > 256 makes every thread of a reduction group sum several elements.
    static readonly (int Outer, int Channels, int Inner)[] BiasShapes = [(1, 1, 1), (7, 5, 1), (3, 300, 1), (1, 3, 17), (4, 6, 150), (2, 1, 300)];

    /// <summary>The bias family's definition itself (Reference.BiasAdd / BiasBackward), independent of it: y + bias[c] and
    /// dbias + Σ dy written out in double.</summary>
    [Fact]
    public void BiasReference_MatchesTheMath()
    {
        var gen = new Generator(400);
        foreach (var (outer, channels, inner) in BiasShapes.Append((64, 16, 576)))   // and one big enough to run in parallel
        {
            int n = outer * channels * inner;
            var y0 = TestUtil.RandomArray(gen, n); var bias = TestUtil.RandomArray(gen, channels); var db0 = TestUtil.RandomArray(gen, channels);
            var yMath = new double[n]; var dbMath = TestUtil.ToDouble(db0);
            for (int o = 0; o < outer; o++)
                for (int c = 0; c < channels; c++)
                    for (int i = 0; i < inner; i++)
                    {
                        int k = (o * channels + c) * inner + i;
                        yMath[k] = (double)y0[k] + bias[c];
                        dbMath[c] += y0[k];
                    }
            var db = (float[])db0.Clone();
            Reference.BiasBackward(y0, db, outer, channels, inner);   // dbias += Σ y0 (before y changes)
            var y = (float[])y0.Clone();
            Reference.BiasAdd(y, bias, outer, channels, inner);
            TestUtil.AssertClose(yMath, y, Atol, Rtol, $"Reference bias_add [{outer}, {channels}, {inner}]");
            TestUtil.AssertClose(dbMath, db, Atol, Rtol, $"Reference bias_backward [{outer}, {channels}, {inner}]");
        }
    }

    /// <summary>Every version of the bias kernels (each cpu vector path, the cpu default, the ILGPU kernels) against Reference.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void BiasKernels_MatchReference(string version)
    {
        var be = KernelVersions.Backend(version);
        var gen = new Generator(400);
        foreach (var (outer, channels, inner) in BiasShapes)
        {
            int n = outer * channels * inner;
            var y0 = TestUtil.RandomArray(gen, n); var bias = TestUtil.RandomArray(gen, channels); var db0 = TestUtil.RandomArray(gen, channels);
            var dbRef = (float[])db0.Clone();
            Reference.BiasBackward(y0, dbRef, outer, channels, inner);
            var yRef = (float[])y0.Clone();
            Reference.BiasAdd(yRef, bias, outer, channels, inner);
            using var sy = Put(be, y0); using var sb = Put(be, bias); using var sdb = Put(be, db0);
            be.BiasBackward(sy, sdb, outer, channels, inner);   // dbias += Σ y0 (before y changes)
            be.BiasAdd(sy, sb, outer, channels, inner);
            TestUtil.AssertClose(yRef, Get(be, sy, n), Atol, Rtol, $"{version} bias_add [{outer}, {channels}, {inner}]");
            TestUtil.AssertClose(dbRef, Get(be, sdb, channels), Atol, Rtol, $"{version} bias_backward [{outer}, {channels}, {inner}]");
        }
        using var small = be.Allocate(10, DType.Float32);
        Assert.Contains("bias_add", Assert.Throws<ArgumentException>(() => be.BiasAdd(small, small, 2, 3, 2)).Message);
        Assert.Contains("bias_backward", Assert.Throws<ArgumentException>(() => be.BiasBackward(small, small, 1, 0, 1)).Message);
        using var big = be.Allocate(100, DType.Float32);
        Assert.Contains("bias storage", Assert.Throws<ArgumentException>(() => be.BiasAdd(big, small, 1, 11, 2)).Message);
    }

    // (N, C, H, W, O, KH, KW, SH, SW, PH, PW) for the finite-difference checks: padding, stride 2 with a
    // ragged edge, a rectangular kernel with stride 3, and a pointwise conv.
    public static IEnumerable<object[]> GradCases()
    {
        int[][] cases =
        [
            [2, 2, 5, 4, 3, 3, 3, 1, 1, 1, 1],
            [1, 2, 7, 6, 2, 3, 3, 2, 2, 0, 1],
            [2, 1, 6, 8, 2, 2, 5, 3, 1, 1, 2],
            [2, 3, 3, 4, 2, 1, 1, 1, 1, 0, 0],
        ];
        foreach (var d in TestUtil.Devices())
            for (int i = 0; i < cases.Length; i++) yield return [d[0], cases[i]];
    }

    [Theory]
    [MemberData(nameof(GradCases))]
    public void Conv2d_Backward_MatchesFiniteDifferences(string device, int[] s)
    {
        var g = new ConvGeometry(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10]);
        var d = Device.Get(device);
        var gen = new Generator(500 + (ulong)s.Sum());
        var x = TestUtil.RandomArray(gen, g.N * g.InputImage);
        var w = TestUtil.RandomArray(gen, g.O * g.ColRows);
        var b = TestUtil.RandomArray(gen, g.O);
        var r = TestUtil.RandomArray(gen, g.N * g.OutputImage);

        var tx = Tensor.FromArray(x, [g.N, g.C, g.H, g.W], d); tx.RequiresGrad = true;
        var tw = Tensor.FromArray(w, [g.O, g.C, g.KH, g.KW], d); tw.RequiresGrad = true;
        var tb = Tensor.FromArray(b, [g.O], d); tb.RequiresGrad = true;
        var y = F.Conv2d(tx, tw, tb, g.StrideH, g.StrideW, g.PadH, g.PadW);
        Assert.Equal(new[] { g.N, g.O, g.OH, g.OW }, y.Shape);
        TestUtil.AssertClose(RefForward(g, x, w, b), y.ToArray(), Atol, Rtol, "forward");
        y.Backward(Tensor.FromArray(r, y.Shape, d));

        // L = Σ r ⊙ conv(x, w, b) in double, differentiated numerically in each argument.
        double[] xd = TestUtil.ToDouble(x), wd = TestUtil.ToDouble(w), bd = TestUtil.ToDouble(b), rd = TestUtil.ToDouble(r);
        var gx = TestUtil.NumericGrad(v => TestUtil.Dot(rd, ForwardInDouble(g, v, wd, bd)), xd);
        var gw = TestUtil.NumericGrad(v => TestUtil.Dot(rd, ForwardInDouble(g, xd, v, bd)), wd);
        var gb = TestUtil.NumericGrad(v => TestUtil.Dot(rd, ForwardInDouble(g, xd, wd, v)), bd);
        TestUtil.AssertClose(gx, tx.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} dx {g}");
        TestUtil.AssertClose(gw, tw.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} dw {g}");
        TestUtil.AssertClose(gb, tb.Grad!.ToArray(), 1e-4f, 1e-3f, $"{device} db {g}");
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Conv2d_WithoutBias_AndGradientsAccumulate(string device)
    {
        // y = conv(x, w) used twice: every gradient is the sum of both paths (2× one path).
        var d = Device.Get(device);
        var gen = new Generator(600);
        var x = Tensor.FromArray(TestUtil.RandomArray(gen, 2 * 2 * 5 * 5), [2, 2, 5, 5], d); x.RequiresGrad = true;
        var w = Tensor.FromArray(TestUtil.RandomArray(gen, 3 * 2 * 3 * 3), [3, 2, 3, 3], d); w.RequiresGrad = true;
        var y = F.Conv2d(x, w, null, stride: 2, padding: 1);
        Assert.Equal(new[] { 2, 3, 3, 3 }, y.Shape);
        var r = Tensor.FromArray(TestUtil.RandomArray(gen, y.Numel), y.Shape, d);
        y.Backward(r);
        var dx1 = x.Grad!.ToArray(); var dw1 = w.Grad!.ToArray();
        x.ZeroGrad(); w.ZeroGrad();
        var y2 = F.Conv2d(x, w, null, stride: 2, padding: 1);   // a fresh output: y keeps its own .Grad from the first pass
        (y2 + y2).Backward(r);
        TestUtil.AssertClose(dx1.Select(v => 2 * v).ToArray(), x.Grad!.ToArray(), 1e-5f, 1e-5f, "dx accumulates");
        TestUtil.AssertClose(dw1.Select(v => 2 * v).ToArray(), w.Grad!.ToArray(), 1e-5f, 1e-5f, "dw accumulates");
    }

    [Fact]
    public void Conv2d_BadInput_NamesOpAndShapes()
    {
        var x = Tensor.Zeros([2, 3, 5, 5]);
        var w = Tensor.Zeros([4, 3, 3, 3]);
        void Bad(Func<Tensor> f, params string[] fragments)
        {
            var e = Assert.Throws<ArgumentException>(() => f());
            Assert.Contains("conv2d", e.Message);
            foreach (var s in fragments) Assert.Contains(s, e.Message);
        }
        Bad(() => F.Conv2d(x, Tensor.Zeros([4, 2, 3, 3]), null), "channel", "[2, 3, 5, 5]", "[4, 2, 3, 3]");
        Bad(() => F.Conv2d(x, w, Tensor.Zeros([5])), "bias", "[5]");
        Bad(() => F.Conv2d(x, Tensor.Zeros([4, 3, 6, 3]), null), "larger than the padded input", "[2, 3, 5, 5]");
        Bad(() => F.Conv2d(x, Tensor.Zeros([4, 3, 8, 8]), null, padding: 1), "larger than the padded input");
        Bad(() => F.Conv2d(x, w, null, stride: 0), "stride", "0");
        Bad(() => F.Conv2d(x, w, null, 1, 0, 0, 0), "stride");
        Bad(() => F.Conv2d(x, w, null, padding: -1), "padding", "-1");
        Bad(() => F.Conv2d(Tensor.Zeros([3, 5, 5]), w, null), "input", "4 dimensions", "[3, 5, 5]");
        Bad(() => F.Conv2d(x, Tensor.Zeros([4, 27]), null), "weight", "4 dimensions");
        Bad(() => F.Conv2d(x, w, Tensor.Zeros([4, 1])), "bias", "1 dimensions");
        Bad(() => F.Conv2d(x, w.To("ilgpu-cpu"), null), "different devices");
        Bad(() => F.Conv2d(Tensor.Labels([1, 2, 3, 4], Device.Cpu).Reshape(1, 1, 2, 2), Tensor.Zeros([1, 1, 1, 1]), null), "Float32");
        // The geometry checks itself too, for direct kernel users.
        Assert.Throws<ArgumentException>(() => new ConvGeometry(1, 1, 4, 4, 1, 3, 3, 1, 1, -1, 0));
        Assert.Throws<ArgumentException>(() => new ConvGeometry(0, 1, 4, 4, 1, 3, 3));
        var cpu = Device.Cpu.Backend;
        using var s = cpu.Allocate(10, DType.Float32);
        var g = new ConvGeometry(1, 1, 4, 4, 1, 3, 3);
        Assert.Contains("im2col", Assert.Throws<ArgumentException>(() => cpu.Im2Col(g, s, 0, 1, s)).Message);
        Assert.Contains("col2im", Assert.Throws<ArgumentException>(() => cpu.Col2Im(g, s, 1, 1, s)).Message);
    }
}
