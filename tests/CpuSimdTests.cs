using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// The vectorised cpu kernels (kernels/<family>/<Family>.Cpu.Simd.cs) on every path this CPU has (AVX-512,
// AVX2, Vector<T>), each against its family's definition, the plain scalar loops of Reference (<Family>.Reference.cs),
// called directly: a vector kernel given KernelPath.Reference runs its Vector<T> code, not the definition. (The
// family tests compare the same kernels through IBackend, KernelVersions.) Lengths are chosen around the vector
// widths (1, 3, 15, 16, 17, ...) and the parallel grain (65,536 and above, 1,000,003), so every vector body,
// scalar tail and chunk boundary is exercised. The data mixes ordinary values with NaN, ±∞, −0, subnormals and
// ties. Element-wise kernels, ReLU, bias add, dropout, SGD, Adam and max pooling must agree BIT FOR BIT (same
// operations in the same order); sums that add in a different order (Sum, the bias gradient of a conv) must
// agree to float rounding.
public class CpuSimdTests
{
    public static IEnumerable<object[]> Paths() => CpuSimd.VectorPaths.Select(p => new object[] { p });

    static readonly int[] Lengths = [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 100, 1000, 65_537, 131_075, 1_000_003];

    /// <summary>Random values in [-2, 2), with about 1 in 50 replaced by NaN, ±∞, ±0 or a subnormal.</summary>
    static float[] Data(Random rng, int n, bool specials = true)
    {
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-41f, -1e-41f];
        var a = new float[n];
        for (int i = 0; i < n; i++)
            a[i] = specials && rng.Next(50) == 0 ? special[rng.Next(special.Length)] : rng.NextSingle() * 4 - 2;
        return a;
    }

    /// <summary>Bit-for-bit equality (NaN payloads and the sign of zero included).</summary>
    static void AssertBits(float[] expected, float[] actual, int n, string what)
    {
        for (int i = 0; i < n; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} of {n} is {actual[i]} (0x{BitConverter.SingleToInt32Bits(actual[i]):X8}), expected {expected[i]} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8})");
    }

    static float[] Copy(float[] a) => (float[])a.Clone();

    [Fact]
    public void Paths_AllPresentOnThisMachine_AndEachDeviceKeepsItsOwn()
    {
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            Assert.Equal(3, Paths().Count());
            Assert.Equal(KernelPath.Avx512, CpuSimd.BestKernels);
        }
        Assert.Equal(CpuSimd.BestKernels, CpuSimd.Resolve(KernelPath.Simd));
        Assert.Throws<ArgumentException>(() => CpuSimd.Resolve(KernelPath.Reference));
        // Options are fixed per device: two cpu devices side by side, each on its own path.
        var vector = (CpuBackend)Device.Get("cpu", new DeviceOptions { Kernels = KernelPath.Vector }).Backend;
        var reference = (CpuBackend)Device.Get("cpu", DeviceOptions.ReferenceKernels).Backend;
        Assert.Equal((KernelPath.Vector, false, false), (vector.Path, vector.IsReference, vector.ReferenceGemm));
        Assert.Equal((KernelPath.Reference, true, true), (reference.Path, reference.IsReference, reference.ReferenceGemm));
        Assert.Equal(CpuSimd.BestKernels, ((CpuBackend)Device.Cpu.Backend).Path);
        Assert.Same(vector, Device.Get("cpu", new DeviceOptions { Kernels = KernelPath.Vector }).Backend);   // one device per options
        Assert.NotSame(vector, Device.Cpu.Backend);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Elementwise_BitExact(KernelPath path)
    {
        var rng = new Random(1);
        foreach (int n in Lengths)
        {
            float[] a = Data(rng, n), b = Data(rng, n), y0 = Data(rng, n);
            void Check(string what, Action<float[]> reference, Action<float[]> version)
            {
                float[] expected = Copy(y0), actual = Copy(y0);
                reference(expected);
                version(actual);
                AssertBits(expected, actual, n, $"{what} n={n} {path}");
            }
            Check("add", y => Reference.Add(a, b, y, n), y => ElementwiseSimd.Add(path, a, b, y, n));
            Check("mul", y => Reference.Mul(a, b, y, n), y => ElementwiseSimd.Mul(path, a, b, y, n));
            Check("scale", y => Reference.Scale(a, -0.37f, y, n), y => ElementwiseSimd.Scale(path, a, -0.37f, y, n));
            Check("axpy", y => Reference.Axpy(1.7f, a, y, n), y => ElementwiseSimd.Axpy(path, 1.7f, a, y, n));
            Check("mulacc", y => Reference.MulAcc(a, b, y, n), y => ElementwiseSimd.MulAcc(path, a, b, y, n));
            Check("addscalar", y => Reference.AddScalar(0.1f, y, n), y => ElementwiseSimd.AddScalar(path, 0.1f, y, n));
            // in place: y is also an input
            Check("add in place", y => Reference.Add(y, b, y, n), y => ElementwiseSimd.Add(path, y, b, y, n));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Activations_BitExact(KernelPath path)
    {
        var rng = new Random(2);
        foreach (int n in Lengths)
        {
            float[] x = Data(rng, n), dy = Data(rng, n), dx0 = Data(rng, n);
            foreach (var kind in new[] { ActivationKind.Relu, ActivationKind.Step, ActivationKind.Sigmoid, ActivationKind.Tanh })
            {
                if (n > 100_000 && kind is ActivationKind.Sigmoid or ActivationKind.Tanh) continue;   // scalar on every path
                float[] e = new float[n], a = new float[n];
                Reference.ActivationForward(kind, x, e, n);
                ActivationSimd.Forward(path, kind, x, a, n);
                AssertBits(e, a, n, $"{kind} forward n={n} {path}");
                float[] de = Copy(dx0), da = Copy(dx0);
                Reference.ActivationBackward(kind, x, e, dy, de, n);
                ActivationSimd.Backward(path, kind, x, a, dy, da, n);
                AssertBits(de, da, n, $"{kind} backward n={n} {path}");
            }
        }
    }

    [Fact]
    public void Relu_KeepsNaNAndNegativeZero_OnEveryPath()
    {
        float[] x = [float.NaN, -0f, 0f, -1f, 2f, float.NegativeInfinity, float.PositiveInfinity, -1e-41f,
                     float.NaN, -0f, 0f, -1f, 2f, float.NegativeInfinity, float.PositiveInfinity, -1e-41f, 3f];
        float[] expected = [float.NaN, -0f, 0f, 0f, 2f, 0f, float.PositiveInfinity, 0f,
                            float.NaN, -0f, 0f, 0f, 2f, 0f, float.PositiveInfinity, 0f, 3f];
        var r = new float[x.Length];
        Reference.ActivationForward(ActivationKind.Relu, x, r, x.Length);
        AssertBits(expected, r, x.Length, "relu Reference");
        foreach (var p in Paths().Select(o => (KernelPath)o[0]))
        {
            var y = new float[x.Length];
            ActivationSimd.Forward(p, ActivationKind.Relu, x, y, x.Length);
            AssertBits(expected, y, x.Length, $"relu {p}");
        }
    }

    static readonly (int Outer, int Channels, int Inner)[] BiasShapes =
    [
        (1, 1, 1), (3, 17, 1), (64, 10, 1), (5, 33, 1), (7, 4096, 1), (2, 3, 7), (4, 5, 17), (64, 8, 576), (3, 100, 33), (64, 16, 64), (2, 1, 1000003),
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public void BiasAdd_BitExact_BiasBackward_ExactForLinear_CloseForConv(KernelPath path)
    {
        var rng = new Random(3);
        foreach (var (outer, channels, inner) in BiasShapes)
        {
            int n = outer * channels * inner;
            float[] y0 = Data(rng, n), bias = Data(rng, channels), dy = Data(rng, n, specials: false), db0 = Data(rng, channels, specials: false);
            float[] e = Copy(y0), a = Copy(y0);
            Reference.BiasAdd(e, bias, outer, channels, inner);
            BiasSimd.Add(path, a, bias, outer, channels, inner);
            AssertBits(e, a, n, $"bias add [{outer}, {channels}, {inner}] {path}");

            float[] de = Copy(db0), da = Copy(db0);
            Reference.BiasBackward(dy, de, outer, channels, inner);
            BiasSimd.Backward(path, dy, da, outer, channels, inner);
            if (inner == 1) AssertBits(de, da, channels, $"bias backward [{outer}, {channels}, 1] {path}");
            else TestUtil.AssertClose(de, da, atol: 1e-6f, rtol: 1e-6f, what: $"bias backward [{outer}, {channels}, {inner}] {path}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dropout_SameMaskAndOutput_BitExact(KernelPath path)
    {
        var rng = new Random(4);
        float[] ps = [0f, 1e-8f, 0.1f, 0.5f, 0.9f, 0.99999994f, 3f / 16777216f];
        foreach (int n in Lengths)
        {
            float[] x = Data(rng, n);
            foreach (float p in ps)
            {
                float[] ye = new float[n], me = new float[n], ya = new float[n], ma = new float[n];
                Reference.DropoutForward(x, ye, me, n, p, seed: 1234, step: n);
                DropoutSimd.Forward(path, x, ya, ma, n, p, seed: 1234, step: n);
                AssertBits(me, ma, n, $"dropout mask n={n} p={p} {path}");
                AssertBits(ye, ya, n, $"dropout y n={n} p={p} {path}");
            }
        }
    }

    [Fact]
    public void Dropout_IntegerThreshold_EqualsFloatComparison()
    {
        // keep ⇔ k·2^−24 ≥ p ⇔ k ≥ KeepThreshold(p), for every k in [0, 2^24) and p around the boundaries.
        var ps = new List<float> { 0f, -0f, -1f, 1f, 2f, float.NaN, float.Epsilon, 0.5f, 0.3f, 1e-8f, 0.99999994f };
        foreach (int k in new[] { 1, 2, 3, 1000, 8_388_608, 16_777_215 })
        {
            float exact = k / 16777216f;
            ps.AddRange([exact, MathF.BitIncrement(exact), MathF.BitDecrement(exact)]);
        }
        foreach (float p in ps)
        {
            ulong t = DropoutSimd.KeepThreshold(p);
            for (int k = 0; k < 1 << 24; k += (k < 4096 || k > (1 << 24) - 4096 || Math.Abs(k - (long)t) < 4096) ? 1 : 997)
                Assert.True((k * (1f / 16777216f) >= p) == ((ulong)k >= t), $"p={p} k={k} T={t}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sgd_AllOptions_BitExact(KernelPath path)
    {
        var rng = new Random(5);
        foreach (int n in new[] { 1, 17, 100, 3200, 65_537, 1_000_003 })
        {
            float[] p0 = Data(rng, n, specials: false), g = Data(rng, n), b0 = Data(rng, n, specials: false);
            foreach (float momentum in new[] { 0f, 0.9f })
            foreach (float dampening in new[] { 0f, 0.1f })
            foreach (float wd in new[] { 0f, 5e-4f })
            foreach (bool nesterov in new[] { false, true })
            foreach (bool first in new[] { false, true })
            {
                if (n > 100_000 && (dampening != 0f || first)) continue;   // keep the big case quick
                float[] pe = Copy(p0), be = Copy(b0), pa = Copy(p0), ba = Copy(b0);
                Reference.SgdStep(pe, g, momentum == 0 ? null : be, n, 0.01f, momentum, dampening, wd, nesterov, first);
                OptimSimd.SgdStep(path, pa, g, momentum == 0 ? null : ba, n, 0.01f, momentum, dampening, wd, nesterov, first);
                string what = $"sgd n={n} m={momentum} τ={dampening} λ={wd} nesterov={nesterov} first={first} {path}";
                AssertBits(pe, pa, n, what + " p");
                AssertBits(be, ba, n, what + " buf");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adam_BitExact(KernelPath path)
    {
        var rng = new Random(6);
        foreach (int n in new[] { 1, 17, 100, 3200, 65_537, 1_000_003 })
        {
            float[] p0 = Data(rng, n, specials: false), g = Data(rng, n), m0 = Data(rng, n, specials: false);
            float[] v0 = Data(rng, n, specials: false).Select(MathF.Abs).ToArray();
            foreach (float wd in new[] { 0f, 0.01f })
            foreach (long step in new long[] { 1, 10 })
            {
                float[] pe = Copy(p0), me = Copy(m0), ve = Copy(v0), pa = Copy(p0), ma = Copy(m0), va = Copy(v0);
                Reference.AdamStep(pe, g, me, ve, n, 1e-3f, 0.9f, 0.999f, 1e-8f, wd, step);
                OptimSimd.AdamStep(path, pa, g, ma, va, n, 1e-3f, 0.9f, 0.999f, 1e-8f, wd, step);
                string what = $"adam n={n} λ={wd} t={step} {path}";
                AssertBits(pe, pa, n, what + " p");
                AssertBits(me, ma, n, what + " m");
                AssertBits(ve, va, n, what + " v");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sum_MatchesReference(KernelPath path)
    {
        var rng = new Random(7);
        foreach (int n in Lengths)
        {
            float[] x = Data(rng, n, specials: false);
            float e = Reference.Sum(x, n), a = ReduceSimd.Sum(path, x, n);
            double scale = x.Take(n).Sum(v => Math.Abs((double)v));
            Assert.True(Math.Abs(e - a) <= 1e-7 * scale + 1e-30 && Math.Abs(e - a) <= Math.Max(Math.Abs(e) * 2.4e-7, 1e-6), $"sum n={n} {path}: {a}, expected {e}");
            // and deterministic: the same bits every call
            Assert.Equal(BitConverter.SingleToInt32Bits(a), BitConverter.SingleToInt32Bits(ReduceSimd.Sum(path, x, n)));
        }
        float[] special = [1f, float.NaN, 2f];
        Assert.True(float.IsNaN(ReduceSimd.Sum(path, special, 3)));
    }

    // PoolTests' geometries plus the networks' (seed CNN 24→12 and 8→4, AlexNet-CIFAR 32→16, 16→8, 8→4,
    // AlexNet224 55→27, 27→13, 13→6 with k3 s2), stride 1 with padding, wide rows, padding in one axis only.
    static readonly int[][] PoolGeometries =
    [
        .. PoolTests.Geometries,
        [2, 3, 24, 24, 2, 2, 2, 2, 0, 0], [2, 3, 8, 8, 2, 2, 2, 2, 0, 0], [1, 3, 32, 32, 2, 2, 2, 2, 0, 0], [2, 2, 16, 16, 2, 2, 2, 2, 0, 0],
        [1, 2, 55, 55, 3, 3, 2, 2, 0, 0], [2, 2, 27, 27, 3, 3, 2, 2, 0, 0], [2, 2, 13, 13, 3, 3, 2, 2, 0, 0],
        [1, 2, 40, 37, 3, 3, 1, 1, 1, 1], [2, 2, 33, 70, 2, 3, 2, 2, 1, 1], [1, 1, 9, 100, 3, 2, 1, 2, 0, 1],
        [1, 2, 7, 131, 3, 3, 2, 2, 1, 1], [1, 1, 5, 67, 2, 2, 1, 1, 0, 0], [3, 1, 6, 35, 3, 3, 3, 3, 1, 1], [1, 1, 4, 64, 1, 1, 1, 1, 0, 0],
        [64, 8, 24, 24, 2, 2, 2, 2, 0, 0],
    ];

    static PoolGeometry Geometry(int[] s) => new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]);

    [Theory]
    [MemberData(nameof(Paths))]
    public void MaxPool_ValuesArgmaxAndBackward_BitExact(KernelPath path)
    {
        var rng = new Random(8);
        foreach (var s in PoolGeometries)
        {
            var g = Geometry(s);
            // three inputs: random with specials; small integers (many ties: first max must win); mostly NaN-free
            // ties with a few NaNs (the last NaN of a window wins in the reference)
            var inputs = new[]
            {
                Data(rng, g.InputSize),
                Enumerable.Range(0, g.InputSize).Select(_ => (float)rng.Next(3)).ToArray(),
                Enumerable.Range(0, g.InputSize).Select(_ => rng.Next(20) == 0 ? float.NaN : rng.Next(2) == 0 ? -0f : 0f).ToArray(),
            };
            foreach (var x in inputs)
            {
                float[] ye = new float[g.OutputSize], ya = new float[g.OutputSize];
                int[] ae = new int[g.OutputSize], aa = new int[g.OutputSize];
                Reference.MaxPool2dForward(g, x, ye, ae);
                PoolSimd.Forward(path, g, x, ya, aa);
                AssertBits(ye, ya, g.OutputSize, $"maxpool {g} {path}");
                for (int o = 0; o < g.OutputSize; o++)
                    if (ae[o] != aa[o]) Assert.Fail($"maxpool {g} {path}: argmax[{o}] = {aa[o]}, expected {ae[o]}");

                float[] dy = Data(rng, g.OutputSize, specials: false), dx0 = Data(rng, g.InputSize, specials: false);
                float[] de = Copy(dx0), da = Copy(dx0);
                Reference.MaxPool2dBackward(g, dy, ae, de);
                PoolSimd.Backward(path, g, dy, aa, da);
                AssertBits(de, da, g.InputSize, $"maxpool backward {g} {path}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Im2Col_Col2Im_BitExact(KernelPath path)
    {
        var rng = new Random(10);
        ConvGeometry[] extra =
        [
            new(64, 1, 28, 28, 8, 5, 5), new(3, 8, 12, 12, 16, 5, 5), new(2, 3, 32, 32, 4, 3, 3, 1, 1, 1, 1), new(2, 4, 16, 16, 3, 5, 5, 1, 1, 2, 2),
            new(1, 2, 9, 7, 2, 3, 2, 2, 3, 1, 2), new(1, 1, 2, 2, 1, 5, 5, 1, 1, 2, 2), new(2, 2, 11, 11, 2, 11, 11, 4, 4, 2, 2), new(1, 1, 1, 1, 1, 1, 1),
            new(2, 2, 20, 20, 3, 5, 5), new(2, 2, 8, 8, 3, 5, 5), new(1, 2, 20, 20, 3, 5, 5, 1, 1, 2, 2),   // rows of 16 and 4 floats
        ];
        foreach (var g in ConvTests.Geometries.Concat(extra))
        {
            float[] x = Data(rng, g.N * g.InputImage);
            int n0 = g.N > 1 ? 1 : 0, count = g.N - n0, cols = count * g.ColRows * g.ColCols;
            float[] ce = Data(rng, cols), ca = Copy(ce);   // garbage in col: im2col must overwrite every element
            Reference.Im2Col(g, x, n0, count, ce);
            ConvSimd.Im2Col(path, g, x, n0, count, ca);
            AssertBits(ce, ca, cols, $"im2col {g} {path}");
            float[] dcol = Data(rng, cols, specials: false), dx0 = Data(rng, g.N * g.InputImage, specials: false);
            float[] de = Copy(dx0), da = Copy(dx0);
            Reference.Col2Im(g, dcol, n0, count, de);
            ConvSimd.Col2Im(path, g, dcol, n0, count, da);
            AssertBits(de, da, de.Length, $"col2im {g} {path}");
        }
        foreach (var (a, b, p) in new[] { (1, 1, 1), (8, 64, 576), (16, 64, 64), (3, 5, 7), (2, 3, 300), (5, 2, 13), (64, 64, 1) })
        {
            float[] src = Data(rng, a * b * p + 5), de = Data(rng, a * b * p + 9), da = Copy(de);
            Reference.SwapAxes01(src, 5, de, 9, a, b, p);
            ConvSimd.SwapAxes01(path, src, 5, da, 9, a, b, p);
            AssertBits(de, da, de.Length, $"swap [{a}, {b}, {p}] {path}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Backend_OnEachPath_RunsThatPath_SameResults(KernelPath path)
    {
        // Through IBackend, as the engine calls it: the device's options select the path; results equal Reference's.
        var rng = new Random(9);
        int n = 70_001;
        float[] x = Data(rng, n);
        float[] Relu(KernelPath p)
        {
            var be = Device.Get("cpu", new DeviceOptions { Kernels = p }).Backend;
            using var sx = be.Allocate(n, DType.Float32);
            using var sy = be.Allocate(n, DType.Float32);
            be.Upload(x, sx);
            be.ActivationForward(ActivationKind.Relu, sx, sy, n);
            var y = new float[n];
            be.Download(sy, y);
            return y;
        }
        AssertBits(Relu(KernelPath.Reference), Relu(path), n, $"backend relu {path}");
    }

    [Fact]
    public void SerialSizes_AllocateNothing()
    {
        // Below the parallel grain a kernel call allocates nothing (struct kernels, no closures, no arrays).
        var be = Device.Cpu.Backend;
        int n = 4099;
        using var a = be.Allocate(n, DType.Float32);
        using var b = be.Allocate(n, DType.Float32);
        using var m = be.Allocate(n, DType.Float32);
        using var v = be.Allocate(n, DType.Float32);
        using var s = be.Allocate(1, DType.Float32);
        var g = new PoolGeometry(1, 4, 32, 32, 2, 2, 2, 2, 0, 0);
        using var py = be.Allocate(g.OutputSize, DType.Float32);
        using var pa = be.Allocate(g.OutputSize, DType.Int32);
        void Calls()
        {
            be.ActivationForward(ActivationKind.Relu, a, b, n);
            be.ActivationBackward(ActivationKind.Relu, a, b, b, m, n);
            be.Add(a, b, m, n); be.Axpy(0.5f, a, b, n); be.MulAcc(a, b, m, n);
            be.BiasAdd(a, b, 8, 16, 32); be.BiasBackward(a, m, 8, 16, 32);
            be.SgdStep(a, b, m, n, 0.01f, 0.9f, 0f, 5e-4f, false, false);
            be.AdamStep(a, b, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 3);
            be.DropoutForward(a, b, m, n, 0.5f, 1, 2);
            be.Sum(a, s, n);
            be.MaxPool2dForward(g, a, py, pa);
            be.MaxPool2dBackward(g, py, pa, a);
        }
        Calls();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Calls();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
