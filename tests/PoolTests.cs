using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// Max pooling. The definition (Reference.MaxPool2dForward / MaxPool2dBackward, kernels/pool/Pool.Reference.cs) against the
// math: a scan of the whole KH×KW window written apart from it, hand-computed ties, padding and NaN cases, and its backward
// against central finite differences in double. Every version (each cpu vector path, the cpu default, the ILGPU kernel) and
// F.MaxPool2d against the definition: values, argmax and backward exact.
public class PoolTests
{
    // (N, C, H, W, KH, KW, StrideH, StrideW, PadH, PadW): kernel 1/2/3/4, stride 1–3, padding 0–2, non-square
    // inputs and windows, batch 1, odd sizes, overlapping windows (k=3 s=2), stride > kernel, window = image.
    public static readonly int[][] Geometries =
    [
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
        [2, 3, 7, 5, 2, 2, 2, 2, 0, 0],
        [1, 2, 9, 9, 3, 3, 2, 2, 0, 0],
        [2, 1, 8, 6, 3, 3, 2, 2, 1, 1],
        [1, 3, 5, 7, 2, 3, 1, 2, 1, 1],
        [3, 2, 7, 6, 1, 1, 3, 3, 0, 0],
        [1, 1, 11, 4, 3, 2, 3, 1, 1, 0],
        [1, 2, 13, 13, 3, 3, 1, 1, 1, 1],
        [2, 2, 4, 4, 4, 4, 1, 1, 0, 0],
        [1, 1, 2, 2, 3, 3, 1, 1, 1, 1],
        [1, 2, 6, 9, 4, 5, 2, 3, 2, 2],
        [2, 1, 10, 3, 2, 1, 3, 1, 0, 0],
    ];

    static PoolGeometry Geometry(int[] s) => new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]);

    /// <summary>The math, for Reference_MatchesTheMath only: scan the whole KH×KW window, skip positions in the padding,
    /// keep the first strictly larger value (or a NaN). Written independently of Reference.MaxPoolOne's clipped window.</summary>
    static (float[] y, int[] argmax) WindowScan(float[] x, PoolGeometry g)
    {
        var y = new float[g.OutputSize];
        var a = new int[g.OutputSize];
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++, o++)
        {
            float best = float.NegativeInfinity; int bestIdx = -1;
            for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
            {
                int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                float v = x[plane * g.H * g.W + ih * g.W + iw];
                if (bestIdx < 0 || v > best || float.IsNaN(v)) { best = v; bestIdx = ih * g.W + iw; }
            }
            y[o] = best; a[o] = bestIdx;
        }
        return (y, a);
    }

    /// <summary>The math: dx = dx0 + Σ over outputs, in increasing output order, of dy routed to the argmax input.</summary>
    static float[] RouteBack(float[] dy, int[] argmax, float[] dx0, PoolGeometry g)
    {
        var dx = (float[])dx0.Clone();
        for (int o = 0; o < g.OutputSize; o++)
        {
            int plane = o / (g.OH * g.OW);
            dx[plane * g.H * g.W + argmax[o]] += dy[o];
        }
        return dx;
    }

    /// <summary>The math: the forward in double, differentiated numerically.</summary>
    static double[] ForwardInDouble(double[] x, PoolGeometry g)
    {
        var y = new double[g.OutputSize];
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++, o++)
        {
            double best = double.NegativeInfinity;
            for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
            {
                int ih = oh * g.StrideH - g.PadH + kh, iw = ow * g.StrideW - g.PadW + kw;
                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) best = Math.Max(best, x[plane * g.H * g.W + ih * g.W + iw]);
            }
            y[o] = best;
        }
        return y;
    }

    /// <summary>Reference's forward, and its backward of dy accumulated into a copy of dx0.</summary>
    static (float[] y, int[] argmax, float[] dx) RunReference(float[] x, float[] dy, float[] dx0, PoolGeometry g)
    {
        var y = new float[g.OutputSize]; var a = new int[g.OutputSize]; var dx = (float[])dx0.Clone();
        Reference.MaxPool2dForward(g, x, y, a);
        Reference.MaxPool2dBackward(g, dy, a, dx);
        return (y, a, dx);
    }

    /// <summary>Runs the device's forward and backward kernels; dx starts from dx0 (backward accumulates).</summary>
    static (float[] y, int[] argmax, float[] dx) RunKernels(IBackend b, float[] x, float[] dy, float[] dx0, PoolGeometry g)
    {
        using Storage sx = b.Allocate(g.InputSize, DType.Float32), sy = b.Allocate(g.OutputSize, DType.Float32),
            sa = b.Allocate(g.OutputSize, DType.Int32), sdy = b.Allocate(g.OutputSize, DType.Float32), sdx = b.Allocate(g.InputSize, DType.Float32);
        b.Upload(x, sx); b.Upload(dy, sdy); b.Upload(dx0, sdx);
        b.MaxPool2dForward(g, sx, sy, sa);
        b.MaxPool2dBackward(g, sdy, sa, sdx);
        var y = new float[g.OutputSize]; var a = new int[g.OutputSize]; var dx = new float[g.InputSize];
        b.Download(sy, y); b.Download(sa, a); b.Download(sdx, dx);
        return (y, a, dx);
    }

    /// <summary>The inputs of every check, (geometry, x, dy, dx0): random values; values from {0, 1, 2} (most windows hold a tie
    /// for the max); random values and NaNs; all equal, even all −∞ (the winner is the first REAL element of the window, never the padding); explicit
    /// ties; a NaN.</summary>
    static IEnumerable<(PoolGeometry G, float[] X, float[] Dy, float[] Dx0)> Cases()
    {
        var gen = new Generator(11);
        foreach (var s in Geometries)
        {
            var g = Geometry(s);
            yield return (g, TestUtil.RandomArray(gen, g.InputSize), TestUtil.RandomArray(gen, g.OutputSize), TestUtil.RandomArray(gen, g.InputSize));
        }
        var gen2 = new Generator(12);
        foreach (var s in Geometries)
        {
            var g = Geometry(s);
            var x = Enumerable.Range(0, g.InputSize).Select(_ => (float)gen2.NextInt(3)).ToArray();
            yield return (g, x, TestUtil.RandomArray(gen2, g.OutputSize), new float[g.InputSize]);
        }
        // Random values with about one in ten a NaN (a NaN wins its window: in the vector bodies of the cpu paths too).
        var gen3 = new Generator(15);
        foreach (var s in Geometries)
        {
            var g = Geometry(s);
            var x = TestUtil.RandomArray(gen3, g.InputSize).Select(v => MathF.Abs(v) < 0.1f ? float.NaN : v).ToArray();
            yield return (g, x, TestUtil.RandomArray(gen3, g.OutputSize), TestUtil.RandomArray(gen3, g.InputSize));
        }
        foreach (float v in AllEqual)
        {
            var g = AllEqualGeometry;
            yield return (g, Enumerable.Repeat(v, g.InputSize).ToArray(), new float[g.OutputSize], new float[g.InputSize]);
        }
        yield return (TiesGeometry, TiesInput, [0, 0], new float[6]);
        yield return (NaNGeometry, NaNInput, new float[4], new float[16]);
    }

    static readonly float[] AllEqual = [0f, -5f, float.NegativeInfinity];
    static readonly PoolGeometry AllEqualGeometry = new(1, 1, 4, 5, 3, 3, 2, 2, 1, 1);  // output 2×3, windows start at row/col −1
    // plane 0 = [[1, 3, 3], [3, 0, 2]] with a 2×2 window, stride 1 → outputs 3, 3 at indices 1, 1.
    static readonly PoolGeometry TiesGeometry = new(1, 1, 2, 3, 2, 2, 1, 1, 0, 0);
    static readonly float[] TiesInput = [1, 3, 3, 3, 0, 2];
    static readonly PoolGeometry NaNGeometry = new(1, 1, 4, 4, 2, 2, 2, 2, 0, 0);
    static readonly float[] NaNInput = Enumerable.Range(0, 16).Select(i => i == 5 ? float.NaN : i).ToArray();  // row 1, col 1: in window (0, 0) after its first element

    /// <summary>The definition itself, independent of it: the window scan, routing, hand values and finite differences.</summary>
    [Fact]
    public void Reference_MatchesTheMath()
    {
        foreach (var (g, x, dy, dx0) in Cases())
        {
            var (y, a, dx) = RunReference(x, dy, dx0, g);
            var (yMath, aMath) = WindowScan(x, g);
            // The max is a copy of an input, so values and indices must be exact (tolerance 0).
            Assert.Equal(yMath, y);
            Assert.Equal(aMath, a);
            // Backward adds in increasing output order, so it is bit-exact too.
            Assert.Equal(RouteBack(dy, aMath, dx0, g), dx);
        }
        foreach (var s in Geometries)
        {
            var g = Geometry(s);
            Assert.True(g.OH == (s[2] + 2 * s[8] - s[4]) / s[6] + 1 && g.OW == (s[3] + 2 * s[9] - s[5]) / s[7] + 1, $"{g}: output size");
        }

        // Hand values. All equal: window (oh, ow) starts at (2oh − 1, 2ow − 1), clipped to the image.
        foreach (float v in AllEqual)
        {
            var g = AllEqualGeometry;
            var (y, a, _) = RunReference(Enumerable.Repeat(v, g.InputSize).ToArray(), new float[g.OutputSize], new float[g.InputSize], g);
            Assert.All(y, yv => Assert.Equal(v, yv));
            Assert.Equal(new[] { 0 * 5 + 0, 0 * 5 + 1, 0 * 5 + 3, 1 * 5 + 0, 1 * 5 + 1, 1 * 5 + 3 }, a);
        }
        var (y2, a2, _) = RunReference(TiesInput, [0, 0], new float[6], TiesGeometry);
        Assert.Equal(new[] { 3f, 3f }, y2);
        Assert.Equal(new[] { 1, 1 }, a2);
        var (y3, a3, _) = RunReference(NaNInput, new float[4], new float[16], NaNGeometry);
        Assert.True(float.IsNaN(y3[0]));
        Assert.Equal(5, a3[0]);
        Assert.Equal(new[] { 7f, 13f, 15f }, y3[1..]);

        // The backward against central finite differences of the forward in double. Distinct values 0.01 apart (a shuffled
        // ramp): no ties, and the step h = 1e-4 is far smaller than any gap, so perturbing an input never changes the max.
        var gen = new Generator(13);
        foreach (var s in FiniteDifferenceGeometries)
        {
            var g = Geometry(s);
            var (x, r) = DistinctInputs(gen, g);
            var (_, _, grad) = RunReference(x, r, new float[g.InputSize], g);
            var rd = TestUtil.ToDouble(r);
            var num = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, ForwardInDouble(xs, g)), TestUtil.ToDouble(x));
            TestUtil.AssertClose(num, grad, 1e-5f, 1e-4f, $"max_pool2d Reference backward {g}");
        }
    }

    static readonly int[][] FiniteDifferenceGeometries = [Geometries[1], Geometries[3], Geometries[4], Geometries[6], Geometries[10]];

    static (float[] x, float[] r) DistinctInputs(Generator gen, PoolGeometry g)
    {
        var perm = gen.Permutation(g.InputSize);
        return (perm.Select(v => v * 0.01f - 1f).ToArray(), TestUtil.RandomArray(gen, g.OutputSize));
    }

    /// <summary>Every version on every case of Reference_MatchesTheMath (random values, ties, NaNs, all equal): values, argmax
    /// and the backward equal to Reference's exactly (the backward adds in increasing output order on every device, the GPU
    /// gather included).</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Kernels_MatchReference(string version)
    {
        var b = KernelVersions.Backend(version);
        foreach (var (g, x, dy, dx0) in Cases())
        {
            var (y, a, dx) = RunKernels(b, x, dy, dx0, g);
            var (yRef, aRef, dxRef) = RunReference(x, dy, dx0, g);
            Assert.Equal(yRef, y);
            Assert.Equal(aRef, a);
            Assert.Equal(dxRef, dx);
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Op_ForwardAndBackward_MatchReference(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(13);
        foreach (var s in FiniteDifferenceGeometries)
        {
            var g = Geometry(s);
            // the inputs of Reference_MatchesTheMath's finite differences
            var (x, r) = DistinctInputs(gen, g);
            var tx = Tensor.FromArray(x, [g.N, g.C, g.H, g.W], d);
            tx.RequiresGrad = true;
            var y = F.MaxPool2d(tx, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW);
            Assert.Equal(g.OutputShape, y.Shape);
            Assert.Equal("max_pool2d", y.Op);
            y.Backward(Tensor.FromArray(r, y.Shape, d));
            var (yRef, _, gradRef) = RunReference(x, r, new float[g.InputSize], g);
            Assert.Equal(yRef, y.ToArray());
            TestUtil.AssertClose(gradRef, tx.Grad!.ToArray(), 1e-5f, 1e-4f, $"max_pool2d grad {g}");
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Op_Overloads_AndGradientAccumulation(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(14);
        var x = Tensor.FromArray(TestUtil.RandomArray(gen, 2 * 3 * 9 * 7), [2, 3, 9, 7], d);
        x.RequiresGrad = true;
        // The contract signature (k, stride), the padding overload and the rectangular one agree.
        var y1 = F.MaxPool2d(x, 3, 2);
        Assert.Equal(new[] { 2, 3, 4, 3 }, y1.Shape);
        Assert.Equal(F.MaxPool2d(x, 3, 3, 2, 2, 0, 0).ToArray(), y1.ToArray());
        Assert.Equal(x.MaxPool2d(3, 2).ToArray(), y1.ToArray());
        var y2 = x.MaxPool2d(3, 2, 1);
        Assert.Equal(new[] { 2, 3, 5, 4 }, y2.Shape);
        Assert.Equal(F.MaxPool2d(x, 3, 3, 2, 2, 1, 1).ToArray(), y2.ToArray());

        // Two backward passes into the same leaf accumulate: x.Grad = route(r1 through y1) + route(r2 through y2).
        var r1 = TestUtil.RandomArray(gen, y1.Numel);
        var r2 = TestUtil.RandomArray(gen, y2.Numel);
        y1.Backward(Tensor.FromArray(r1, y1.Shape, d));
        y2.Backward(Tensor.FromArray(r2, y2.Shape, d));
        var xs = x.ToArray();
        var g1 = new PoolGeometry(2, 3, 9, 7, 3, 3, 2, 2, 0, 0);
        var g2 = new PoolGeometry(2, 3, 9, 7, 3, 3, 2, 2, 1, 1);
        var (_, _, after1) = RunReference(xs, r1, new float[x.Numel], g1);
        var (_, _, expected) = RunReference(xs, r2, after1, g2);
        TestUtil.AssertClose(expected, x.Grad!.ToArray(), 1e-6f, 1e-5f, "accumulated max_pool2d grad");
    }

    [Fact]
    public void BadInput_NamesOpAndValues()
    {
        var x = Tensor.Zeros([1, 2, 5, 5]);
        void Throws(Func<Tensor> f, params string[] parts)
        {
            var e = Assert.Throws<ArgumentException>(() => f());
            Assert.Contains("max_pool2d", e.Message);
            foreach (var part in parts) Assert.Contains(part, e.Message);
        }
        Throws(() => F.MaxPool2d(x, 2, 0), "stride", "[1, 2, 5, 5]");
        Throws(() => F.MaxPool2d(x, 0, 1), "kernel", "[1, 2, 5, 5]");
        Throws(() => F.MaxPool2d(x, -2, 1), "kernel");
        Throws(() => F.MaxPool2d(x, 6, 1), "larger than the padded input", "[1, 2, 5, 5]");
        Throws(() => F.MaxPool2d(x, 3, 1, 2), "padding");        // padding > kernel/2
        Throws(() => F.MaxPool2d(x, 3, 1, -1), "padding");
        Throws(() => F.MaxPool2d(x, 2, 2, 1, 0, 0, 0), "stride");
        Throws(() => F.MaxPool2d(x, 2, 7, 1, 1, 0, 0), "larger than the padded input");  // kernel width 7 > 5
        Throws(() => F.MaxPool2d(Tensor.Zeros([2, 5, 5]), 2, 2), "4 dimensions", "[2, 5, 5]");
        Throws(() => F.MaxPool2d(Tensor.Zeros([25]), 2, 2), "4 dimensions");
        Throws(() => F.MaxPool2d(Tensor.Labels([1, 2, 3, 4]).Reshape(1, 1, 2, 2), 2, 2), "Float32");
        // k = 3 on a 2×2 image is fine once padding 1 makes it 4×4.
        Assert.Equal(new[] { 1, 2, 2, 2 }, F.MaxPool2d(Tensor.Zeros([1, 2, 2, 2]), 3, 1, 1).Shape);
        Assert.Throws<ArgumentException>(() => new PoolGeometry(1, 0, 4, 4, 2, 2, 2, 2, 0, 0));
    }
}
