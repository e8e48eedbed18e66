using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>One line of `scratchnet check`: an op on one shape, the largest difference to the cpu device, and the bound.</summary>
public sealed record CheckResult(string Family, string Op, string Shape, double MaxAbsError, double Tolerance)
{
    public bool Pass => !double.IsNaN(MaxAbsError) && MaxAbsError <= Tolerance;
}

/// <summary>
/// Runs every kernel family through the IBackend methods on a device and on the plain C# `cpu` device with the
/// same random inputs, and compares the outputs. Tolerances are absolute and scale with the size of the values:
///   tol = rel · (1 + max |reference|), with rel = 1e-6 for element-wise ops, bias add and SGD, 1e-5 for what goes
///   through exp/sqrt (sigmoid, tanh, softmax, cross-entropy, Adam: a GPU computes those to a few ulp), 0 for relu,
///   step and max-pool forward (exact selections), and rel = 2e-6 · √K (K = length of the dot products or sums) for
///   GEMM, conv and bias backward (1e-6 · Σ|x| absolute for sum), whose sums are accumulated in a
///   different order on each device. Integer outputs (argmax indices, dropout masks, max-pool indices) must match exactly: their tolerance is 0 where a tie is impossible on random data.
/// Backward methods accumulate, so their outputs start from the same random values on both devices.
/// Shapes are small and odd (non-tile sizes, M &lt; K and K &lt; M, batch 1) so the ilgpu-cpu simulator runs it in seconds.
/// </summary>
public sealed class KernelCheck(IBackend dev, IBackend reference, ulong seed = 1)
{
    private readonly Random _rng = new((int)seed);
    private readonly List<CheckResult> _results = [];

    /// <summary>The families in the order they are checked (the test asserts each one appears).</summary>
    public static readonly string[] Families =
        ["elementwise", "gemm", "conv2d", "bias", "maxpool", "activation", "softmax-ce", "dropout", "reduce", "sgd", "adam"];

    /// <summary>A buffer with the same contents on both devices.</summary>
    private sealed class Pair(Storage d, Storage r, int length, bool isInt) : IDisposable
    {
        public Storage D = d, R = r;
        public int Length = length;
        public bool IsInt = isInt;
        public void Dispose() { D.Dispose(); R.Dispose(); }
    }

    private float[] Rand(int n, float lo = -1f, float hi = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * _rng.NextSingle();
        return a;
    }

    private Pair Floats(float[] data)
    {
        var d = dev.Allocate(data.Length, DType.Float32);
        var r = reference.Allocate(data.Length, DType.Float32);
        dev.Upload(data, d); reference.Upload(data, r);
        return new Pair(d, r, data.Length, false);
    }

    private Pair Floats(int n) => Floats(Rand(n));

    private Pair Ints(int[] data)
    {
        var d = dev.Allocate(data.Length, DType.Int32);
        var r = reference.Allocate(data.Length, DType.Int32);
        dev.Upload(data, d); reference.Upload(data, r);
        return new Pair(d, r, data.Length, true);
    }

    /// <summary>Downloads both sides and records max |dev − ref| against rel · (1 + max |ref|).</summary>
    private void Compare(string family, string op, string shape, Pair p, double rel, double absolute = 0)
    {
        double err = 0, scale = 0;
        if (p.IsInt)
        {
            var a = new int[p.Length]; var b = new int[p.Length];
            dev.Download(p.D, a); reference.Download(p.R, b);
            for (int i = 0; i < a.Length; i++) err = Math.Max(err, Math.Abs((double)a[i] - b[i]));
        }
        else
        {
            var a = new float[p.Length]; var b = new float[p.Length];
            dev.Download(p.D, a); reference.Download(p.R, b);
            for (int i = 0; i < a.Length; i++)
            {
                double e = Math.Abs((double)a[i] - b[i]);
                if (double.IsNaN(e)) { err = double.NaN; break; }
                err = Math.Max(err, e);
                scale = Math.Max(scale, Math.Abs(b[i]));
            }
        }
        _results.Add(new CheckResult(family, op, shape, err, absolute + rel * (1 + scale)));
    }

    private void Both(Action<IBackend, Func<Pair, Storage>> run)
    {
        run(dev, p => p.D);
        run(reference, p => p.R);
    }

    public List<CheckResult> RunAll(Action<CheckResult>? onResult = null)
    {
        int reported = 0;
        void Flush() { while (reported < _results.Count) onResult?.Invoke(_results[reported++]); }
        Elementwise(); Flush();
        Gemm(); Flush();
        Conv(); Flush();
        Bias(); Flush();
        MaxPool(); Flush();
        Activations(); Flush();
        SoftmaxCe(); Flush();
        Dropout(); Flush();
        Reduce(); Flush();
        Sgd(); Flush();
        Adam(); Flush();
        return _results;
    }

    private void Elementwise()
    {
        const int n = 1003;
        using var a = Floats(n); using var b = Floats(n);
        using var y = Floats(n); using var acc = Floats(n); using var s = Floats(1);
        Both((be, v) => be.Add(v(a), v(b), v(y), n)); Compare("elementwise", "add", $"[{n}]", y, 1e-6);
        Both((be, v) => be.Mul(v(a), v(b), v(y), n)); Compare("elementwise", "mul", $"[{n}]", y, 1e-6);
        Both((be, v) => be.Axpy(0.37f, v(a), v(acc), n)); Compare("elementwise", "axpy", $"[{n}]", acc, 1e-6);
        Both((be, v) => be.MulAcc(v(a), v(b), v(acc), n)); Compare("elementwise", "mul_acc", $"[{n}]", acc, 1e-6);
        Both((be, v) => be.AddBroadcastScalar(v(s), -1.5f, v(acc), n)); Compare("elementwise", "add_broadcast_scalar", $"[{n}]", acc, 1e-6);
    }

    private void Gemm()
    {
        // (transA, transB, M, N, K): NN/NT/TN, M < K, K < M, sizes that are not multiples of any tile, batched.
        (bool ta, bool tb, int m, int n, int k, int batch)[] shapes =
        [
            (false, false, 37, 29, 71, 1),   // M < K
            (false, false, 70, 45, 13, 1),   // K < M
            (false, true, 33, 65, 47, 1),
            (true, false, 65, 31, 19, 1),
            (true, false, 17, 90, 129, 1),
            (false, false, 9, 21, 11, 3),    // batched, shared A (stride 0)
        ];
        foreach (var (ta, tb, m, n, k, batch) in shapes)
        {
            using var a = Floats(m * k); using var b = Floats(batch * k * n); using var c = Floats(batch * m * n);
            var g = new GemmArgs(ta, tb, m, n, k, 1f, 0.5f, batch, StrideA: 0, StrideB: k * n, StrideC: m * n);
            Both((be, v) => be.Gemm(g, v(a), v(b), v(c)));
            string kind = (ta ? "T" : "N") + (tb ? "T" : "N");
            Compare("gemm", $"gemm {kind}", $"M{m} N{n} K{k}" + (batch > 1 ? $" x{batch}" : ""), c, 2e-6 * Math.Sqrt(k));
        }
    }

    private void Conv()
    {
        // (n, c, h, w, o, k, stride, pad): kernels 1/3/5, stride 1-2, padding 0-2, pointwise and batch 1.
        (int n, int c, int h, int w, int o, int k, int s, int p)[] shapes =
        [
            (2, 3, 9, 7, 4, 3, 1, 1),
            (1, 2, 11, 10, 3, 5, 2, 2),
            (2, 4, 8, 9, 5, 3, 2, 0),
            (3, 5, 6, 5, 6, 1, 1, 0),   // pointwise: the GEMMs read x directly
            (2, 3, 7, 7, 2, 1, 2, 1),
            (1, 3, 10, 8, 4, 5, 1, 2),
            (3, 5, 8, 8, 130, 3, 1, 1), // 130 output channels: two row tiles of the GEMM; 64 pixels: float4 paths of the implicit conv
            (4, 2, 12, 12, 3, 3, 1, 1), // the implicit weight gradient's K = 576 may be split
        ];
        foreach (var (n, c, h, w, o, k, s, p) in shapes)
        {
            var g = new ConvGeometry(n, c, h, w, o, k, k, s, s, p, p);
            string shape = $"x[{n},{c},{h},{w}] w[{o},{c},{k},{k}] s{s} p{p}";
            using var x = Floats(g.N * g.InputImage); using var wt = Floats(o * c * k * k); using var bias = Floats(o);
            using var y = Floats(g.N * g.OutputImage); using var dy = Floats(g.N * g.OutputImage);
            using var dx = Floats(g.N * g.InputImage); using var dw = Floats(o * c * k * k);
            double tol = 2e-6 * Math.Sqrt(c * k * k);
            // A small col buffer bound forces several image chunks, as in a large batch.
            int maxCol = g.ColRows * g.ColCols;
            Both((be, v) => ConvIm2Col.Forward(be, g, v(x), v(wt), v(bias), v(y), maxCol));
            Compare("conv2d", "conv2d forward", shape, y, tol);
            Both((be, v) => ConvIm2Col.BackwardData(be, g, v(wt), v(dy), v(dx), maxCol));
            Compare("conv2d", "conv2d backward data", shape, dx, 2e-6 * Math.Sqrt(o * k * k));
            Both((be, v) => ConvIm2Col.BackwardWeights(be, g, v(x), v(dy), v(dw), maxCol));
            Compare("conv2d", "conv2d backward weights", shape, dw, 2e-6 * Math.Sqrt(n * g.ColCols));
            if (dev is not IlgpuBackend il) continue;

            // The implicit-GEMM conv of the ILGPU devices (Conv.Ilgpu.Implicit.cs) against the reference's driver.
            Both((be, v) => { if (be == dev) il.Conv2dForwardImplicit(g, v(x), v(wt), v(bias), v(y)); else ConvIm2Col.Forward(be, g, v(x), v(wt), v(bias), v(y)); });
            Compare("conv2d", "conv2d forward (implicit GEMM)", shape, y, tol);
            Both((be, v) => { if (be == dev) il.Conv2dBackwardDataImplicit(g, v(wt), v(dy), v(dx)); else ConvIm2Col.BackwardData(be, g, v(wt), v(dy), v(dx)); });
            Compare("conv2d", "conv2d backward data (implicit GEMM)", shape, dx, 2e-6 * Math.Sqrt(o * k * k));
            Both((be, v) => { if (be == dev) il.Conv2dBackwardWeightsImplicit(g, v(x), v(dy), v(dw)); else ConvIm2Col.BackwardWeights(be, g, v(x), v(dy), v(dw)); });
            Compare("conv2d", "conv2d backward weights (implicit GEMM)", shape, dw, 2e-6 * Math.Sqrt(n * g.ColCols));
        }
    }

    private void Bias()
    {
        foreach (var (outer, ch, inner) in new[] { (3, 7, 29), (1, 5, 1), (64, 10, 1), (2, 33, 17) })
        {
            int n = outer * ch * inner;
            using var y = Floats(n); using var b = Floats(ch); using var db = Floats(ch);
            Both((be, v) => be.BiasAdd(v(y), v(b), outer, ch, inner));
            Compare("bias", "bias add", $"[{outer},{ch},{inner}]", y, 1e-6);
            Both((be, v) => be.BiasBackward(v(y), v(db), outer, ch, inner));
            Compare("bias", "bias backward", $"[{outer},{ch},{inner}]", db, 2e-6 * Math.Sqrt(outer * inner));
        }
    }

    private void MaxPool()
    {
        (int n, int c, int h, int w, int k, int s, int p)[] shapes = [(2, 3, 7, 9, 3, 2, 1), (1, 2, 8, 8, 2, 2, 0), (2, 2, 13, 13, 3, 2, 0), (3, 1, 5, 6, 3, 1, 1)];
        foreach (var (n, c, h, w, k, s, p) in shapes)
        {
            var g = new PoolGeometry(n, c, h, w, k, k, s, s, p, p);
            string shape = $"[{n},{c},{h},{w}] k{k} s{s} p{p}";
            using var x = Floats(g.InputSize); using var y = Floats(g.OutputSize);
            using var idx = Ints(new int[g.OutputSize]);
            using var dy = Floats(g.OutputSize); using var dx = Floats(g.InputSize);
            Both((be, v) => be.MaxPool2dForward(g, v(x), v(y), v(idx)));
            Compare("maxpool", "maxpool forward", shape, y, 0);
            Compare("maxpool", "maxpool argmax", shape, idx, 0);
            Both((be, v) => be.MaxPool2dBackward(g, v(dy), v(idx), v(dx)));
            Compare("maxpool", "maxpool backward", shape, dx, 1e-6);
        }
    }

    private void Activations()
    {
        const int n = 2049;
        using var x = Floats(Rand(n, -6f, 6f)); using var y = Floats(n); using var dy = Floats(n); using var dx = Floats(n);
        foreach (var kind in Enum.GetValues<ActivationKind>())
        {
            string name = kind.ToString().ToLowerInvariant();
            // relu and step are exact; sigmoid and tanh go through exp, which GPUs compute to a few ulp.
            double tol = kind is ActivationKind.Relu or ActivationKind.Step ? 0 : 1e-5;
            Both((be, v) => be.ActivationForward(kind, v(x), v(y), n));
            Compare("activation", name + " forward", $"[{n}]", y, tol);
            Both((be, v) => be.ActivationBackward(kind, v(x), v(y), v(dy), v(dx), n));
            Compare("activation", name + " backward", $"[{n}]", dx, Math.Max(tol, 1e-6));
        }
    }

    private void SoftmaxCe()
    {
        foreach (var (n, c) in new[] { (7, 10), (1, 3), (33, 1000), (64, 10) })
        {
            var labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = _rng.Next(c);
            using var logits = Floats(Rand(n * c, -5f, 5f)); using var lab = Ints(labels);
            using var probs = Floats(n * c); using var losses = Floats(n); using var dy = Floats([1.3f]);
            using var dlogits = Floats(n * c); using var sy = Floats(n * c); using var sdy = Floats(n * c); using var sdx = Floats(n * c);
            string shape = $"[{n},{c}]";
            Both((be, v) => be.SoftmaxCrossEntropyForward(v(logits), v(lab), v(probs), v(losses), n, c));
            Compare("softmax-ce", "softmax-ce forward probs", shape, probs, 1e-5);
            Compare("softmax-ce", "softmax-ce forward loss", shape, losses, 1e-5);
            Both((be, v) => be.SoftmaxCrossEntropyBackward(v(probs), v(lab), v(dy), v(dlogits), n, c));
            Compare("softmax-ce", "softmax-ce backward", shape, dlogits, 1e-5);
            Both((be, v) => be.Softmax(v(logits), v(sy), n, c));
            Compare("softmax-ce", "softmax forward", shape, sy, 1e-5);
            Both((be, v) => be.SoftmaxBackward(v(sy), v(sdy), v(sdx), n, c));
            Compare("softmax-ce", "softmax backward", shape, sdx, 1e-5);
        }
    }

    private void Dropout()
    {
        foreach (var (n, p) in new[] { (1001, 0.5f), (4096, 0.1f), (77, 0.9f) })
        {
            using var x = Floats(n); using var y = Floats(n); using var mask = Floats(n);
            Both((be, v) => be.DropoutForward(v(x), v(y), v(mask), n, p, 1234, 7));
            Compare("dropout", $"dropout mask p={p}", $"[{n}]", mask, 0);
            Compare("dropout", $"dropout output p={p}", $"[{n}]", y, 1e-6);
        }
    }

    private void Reduce()
    {
        foreach (int n in new[] { 1, 1000, 70001 })
        {
            var data = Rand(n);
            double abs = data.Sum(v => Math.Abs((double)v));
            using var x = Floats(data); using var y = Floats(1);
            Both((be, v) => be.Sum(v(x), v(y), n));
            // The sum's rounding error scales with Σ|x|, not with |Σx|: tol = 1e-6 · Σ|x| (absolute).
            Compare("reduce", "sum", $"[{n}]", y, 0, absolute: 1e-6 * abs);
        }
        foreach (var (n, c) in new[] { (13, 10), (1, 1000), (64, 7) })
        {
            using var x = Floats(n * c); using var idx = Ints(new int[n]);
            Both((be, v) => be.ArgmaxRows(v(x), v(idx), n, c));
            Compare("reduce", "argmax", $"[{n},{c}]", idx, 0);
        }
    }

    private void Sgd()
    {
        foreach (var (n, momentum, nesterov) in new[] { (1000, 0.9f, false), (333, 0f, false), (257, 0.9f, true) })
        {
            using var p = Floats(n); using var g = Floats(n); using var buf = Floats(n);
            for (int step = 0; step < 2; step++)
                Both((be, v) => be.SgdStep(v(p), v(g), momentum == 0f ? null : v(buf), n, 0.01f, momentum, 0f, 5e-4f, nesterov, step == 0));
            Compare("sgd", $"sgd m={momentum}{(nesterov ? " nesterov" : "")} (2 steps)", $"[{n}]", p, 1e-6);
        }
    }

    private void Adam()
    {
        foreach (var (n, wd) in new[] { (1000, 0f), (129, 1e-2f) })
        {
            using var p = Floats(n); using var g = Floats(n); using var m = Floats(new float[n]); using var v2 = Floats(new float[n]);
            for (long step = 1; step <= 3; step++)
                Both((be, v) => be.AdamStep(v(p), v(g), v(m), v(v2), n, 1e-3f, 0.9f, 0.999f, 1e-8f, wd, step));
            Compare("adam", $"adam wd={wd} (3 steps)", $"[{n}]", p, 1e-5);
            Compare("adam", $"adam exp_avg_sq", $"[{n}]", v2, 1e-5);
        }
    }
}
