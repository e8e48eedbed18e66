using ScratchNet.io;
using ScratchNet.Kernels;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// Batch normalisation. The definition (Reference.BatchNorm*, kernels/norm/Norm.Reference.cs) against the math in double: the
// statistics, the running update, the normalisation, and the gradients (batch statistics and running statistics) against
// central finite differences of the forward written in double. Every version (each cpu vector path, the cpu default, the
// ILGPU kernels) against the definition; F.BatchNorm and the modules (modes, running statistics, num_batches_tracked, the
// state dict, To(device)) against it; bad input. PyTorch's own values: LayersTorchTests.
public class NormTests
{
    // (N, C, inner): BatchNorm2d maps (7×7, 5×5, 2×2), BatchNorm1d on [N, C] (inner 1: the column layout, 70 channels across
    // two column blocks) and [N, C, L], one image, long rows for the vector bodies.
    public static readonly int[][] Shapes = [[4, 3, 5], [2, 5, 1], [8, 70, 1], [3, 2, 49], [1, 3, 7], [5, 4, 2], [2, 3, 37]];

    /// <summary>The math in double: batch statistics (biased variance) and y = (x − mean)/√(var + eps)·w + b.</summary>
    static (double[] Y, double[] Mean, double[] Var) ForwardMath(double[] x, double[]? w, double[]? b, int n, int c, int inner, double eps,
                                                               double[]? runMean = null, double[]? runVar = null)
    {
        var mean = new double[c]; var var = new double[c]; var y = new double[x.Length];
        for (int ch = 0; ch < c; ch++)
        {
            if (runMean is not null) { mean[ch] = runMean[ch]; var[ch] = runVar![ch]; continue; }
            var vals = Enumerable.Range(0, n).SelectMany(s => Enumerable.Range(0, inner).Select(i => x[(s * c + ch) * inner + i])).ToArray();
            mean[ch] = vals.Average();
            var[ch] = vals.Select(v => (v - mean[ch]) * (v - mean[ch])).Average();
        }
        for (int e = 0; e < x.Length; e++)
        {
            int ch = e / inner % c;
            y[e] = (x[e] - mean[ch]) / Math.Sqrt(var[ch] + eps) * (w?[ch] ?? 1) + (b?[ch] ?? 0);
        }
        return (y, mean, var);
    }

    /// <summary>The reference's kernels composed as F.BatchNorm composes them: forward, then the gradients of Σ r ⊙ y.</summary>
    static (float[] Y, float[] Dx, float[] Dw, float[] Db, float[] Mean, float[] Var) RunReference(float[] x, float[] w, float[] b, float[] r,
        int n, int c, int inner, float eps, float[]? runMean = null, float[]? runVar = null)
    {
        bool batch = runMean is null;
        var mean = runMean ?? new float[c]; var var = runVar ?? new float[c];
        if (batch) Reference.BatchNormStats(x, mean, var, n, c, inner);
        var y = new float[x.Length];
        Reference.BatchNormForward(x, mean, var, w, b, y, n, c, inner, eps);
        var (sdy, sdx) = (new float[c], new float[c]);
        Reference.BatchNormBackwardReduce(r, x, mean, var, sdy, sdx, n, c, inner, eps);
        var dx = new float[x.Length];
        Reference.BatchNormBackward(r, x, mean, var, w, batch ? sdy : null, batch ? sdx : null, dx, n, c, inner, eps);
        return (y, dx, sdx, sdy, mean, var);
    }

    static float[] F32(double[] a) => a.Select(v => (float)v).ToArray();

    [Fact]
    public void Reference_MatchesTheMath()
    {
        var gen = new Generator(41);
        const float eps = 1e-5f;
        foreach (var s in Shapes)
        {
            int n = s[0], c = s[1], inner = s[2];
            if (n * inner < 2) continue;
            // An offset per channel: the statistics must not lean on inputs near 0.
            var x = TestUtil.RandomArray(gen, n * c * inner).Select((v, e) => v * 2f + (e / inner % c % 5) * 3f - 1f).ToArray();
            var (w, b) = (TestUtil.RandomArray(gen, c, 0.5f, 1.5f), TestUtil.RandomArray(gen, c));
            var r = TestUtil.RandomArray(gen, x.Length);
            var (y, dx, dw, db, mean, var) = RunReference(x, w, b, r, n, c, inner, eps);
            var (yM, meanM, varM) = ForwardMath(TestUtil.ToDouble(x), TestUtil.ToDouble(w), TestUtil.ToDouble(b), n, c, inner, eps);
            TestUtil.AssertClose(F32(meanM), mean, 1e-6f, 1e-6f, $"mean {Check.Fmt(s)}");
            TestUtil.AssertClose(F32(varM), var, 1e-6f, 1e-5f, $"var {Check.Fmt(s)}");
            TestUtil.AssertClose(F32(yM), y, 1e-5f, 1e-5f, $"forward {Check.Fmt(s)}");

            // Gradients against central finite differences of the double forward, for x, w and b (batch statistics).
            var (xd, wd, bd, rd) = (TestUtil.ToDouble(x), TestUtil.ToDouble(w), TestUtil.ToDouble(b), TestUtil.ToDouble(r));
            var numX = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, ForwardMath(xs, wd, bd, n, c, inner, eps).Y), xd);
            var numW = TestUtil.NumericGrad(ws => TestUtil.Dot(rd, ForwardMath(xd, ws, bd, n, c, inner, eps).Y), wd);
            var numB = TestUtil.NumericGrad(bs => TestUtil.Dot(rd, ForwardMath(xd, wd, bs, n, c, inner, eps).Y), bd);
            TestUtil.AssertClose(numX, dx, 1e-4f, 1e-3f, $"dx {Check.Fmt(s)}");
            TestUtil.AssertClose(numW, dw, 1e-4f, 1e-4f, $"dw {Check.Fmt(s)}");
            TestUtil.AssertClose(numB, db, 1e-4f, 1e-4f, $"db {Check.Fmt(s)}");

            // Running statistics (evaluation): constants, so dx = r·w/√(var + eps).
            var (rm, rv) = (TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, c, 0.5f, 2f));
            var (y2, dx2, dw2, db2, _, _) = RunReference(x, w, b, r, n, c, inner, eps, rm, rv);
            var (rmd, rvd) = (TestUtil.ToDouble(rm), TestUtil.ToDouble(rv));
            TestUtil.AssertClose(F32(ForwardMath(xd, wd, bd, n, c, inner, eps, rmd, rvd).Y), y2, 1e-5f, 1e-5f, $"eval forward {Check.Fmt(s)}");
            var numX2 = TestUtil.NumericGrad(xs => TestUtil.Dot(rd, ForwardMath(xs, wd, bd, n, c, inner, eps, rmd, rvd).Y), xd);
            var numW2 = TestUtil.NumericGrad(ws => TestUtil.Dot(rd, ForwardMath(xd, ws, bd, n, c, inner, eps, rmd, rvd).Y), wd);
            TestUtil.AssertClose(numX2, dx2, 1e-4f, 1e-4f, $"eval dx {Check.Fmt(s)}");
            TestUtil.AssertClose(numW2, dw2, 1e-4f, 1e-4f, $"eval dw {Check.Fmt(s)}");
            TestUtil.AssertClose(numB, db2, 1e-4f, 1e-4f, $"eval db {Check.Fmt(s)}");

            // The running update: f·batch + (1 − f)·running, unbiased variance; the counter; momentum NaN = 1/count.
            var (runM, runV, count) = ((float[])rm.Clone(), (float[])rv.Clone(), new[] { 4 });
            Reference.BatchNormUpdateRunning(mean, var, runM, runV, count, c, n * inner, 0.1f);
            Assert.Equal(5, count[0]);
            int m = n * inner;
            TestUtil.AssertClose(rm.Select((v, j) => (float)(0.1 * meanM[j] + 0.9 * v)).ToArray(), runM, 1e-6f, 1e-5f, "running mean");
            TestUtil.AssertClose(rv.Select((v, j) => (float)(0.1 * varM[j] * m / (m - 1) + 0.9 * v)).ToArray(), runV, 1e-6f, 1e-5f, "running var");
            Reference.BatchNormUpdateRunning(mean, var, runM, runV, count, c, m, float.NaN);
            Assert.Equal(6, count[0]);
            var runM3 = (float[])rm.Clone(); var runV3 = (float[])rv.Clone();
            Reference.BatchNormUpdateRunning(mean, var, runM3, runV3, new[] { 0 }, c, m, float.NaN);   // count 1: f = 1, the batch itself
            Assert.Equal(mean, runM3);
        }
    }

    /// <summary>Every version against the definition: the statistics and the backward sums within float rounding (the cpu
    /// vector paths sum the channel in another order when inner &gt; 1, a GPU in float over a tree), the element-wise passes
    /// bit for bit when given the reference's statistics, the running update.</summary>
    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Kernels_MatchReference(string version)
    {
        var be = KernelVersions.Backend(version);
        var gen = new Generator(42);
        const float eps = 1e-3f;
        foreach (var s in Shapes)
        {
            int n = s[0], c = s[1], inner = s[2], total = n * c * inner;
            var x = TestUtil.RandomArray(gen, total).Select((v, e) => v + (e / inner % c) * 0.5f).ToArray();
            var (w, b, dy, dx0) = (TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, total), TestUtil.RandomArray(gen, total));
            var (rMean, rVar) = (new float[c], new float[c]);
            Reference.BatchNormStats(x, rMean, rVar, n, c, inner);
            Storage Up(float[] a) { var st = be.Allocate(a.Length, DType.Float32); be.Upload(a, st); return st; }
            float[] Down(Storage st, int len) { var a = new float[len]; be.Download(st, a); return a; }
            using Storage sx = Up(x), sw = Up(w), sb = Up(b), sdy = Up(dy), mean = be.Allocate(c, DType.Float32), var = be.Allocate(c, DType.Float32);
            be.BatchNormStats(sx, mean, var, n, c, inner);
            string what = $"{version} {Check.Fmt(s)}";
            TestUtil.AssertClose(rMean, Down(mean, c), 1e-6f, 1e-5f, $"{what} mean");
            TestUtil.AssertClose(rVar, Down(var, c), 1e-6f, 1e-5f, $"{what} var");

            // Element-wise passes on the reference's statistics: the reference's bits.
            using Storage rm = Up(rMean), rv = Up(rVar), y = be.Allocate(total, DType.Float32);
            foreach (bool affine in new[] { true, false })
            {
                var yRef = new float[total];
                Reference.BatchNormForward(x, rMean, rVar, affine ? w : null, affine ? b : null, yRef, n, c, inner, eps);
                be.BatchNormForward(sx, rm, rv, affine ? sw : null, affine ? sb : null, y, n, c, inner, eps);
                Assert.True(yRef.SequenceEqual(Down(y, total)), $"{what} forward affine={affine}");
            }
            var (rSdy, rSdx) = (new float[c], new float[c]);
            Reference.BatchNormBackwardReduce(dy, x, rMean, rVar, rSdy, rSdx, n, c, inner, eps);
            using Storage s0 = be.Allocate(c, DType.Float32), s1 = be.Allocate(c, DType.Float32);
            be.BatchNormBackwardReduce(sdy, sx, rm, rv, s0, s1, n, c, inner, eps);
            TestUtil.AssertClose(rSdy, Down(s0, c), 1e-5f, 1e-5f, $"{what} sum dy");
            TestUtil.AssertClose(rSdx, Down(s1, c), 1e-5f, 1e-5f, $"{what} sum dy·xhat");
            using Storage us0 = Up(rSdy), us1 = Up(rSdx);
            foreach (bool running in new[] { false, true })
            {
                var dxRef = (float[])dx0.Clone();
                Reference.BatchNormBackward(dy, x, rMean, rVar, w, running ? null : rSdy, running ? null : rSdx, dxRef, n, c, inner, eps);
                using var sdx = Up(dx0);
                be.BatchNormBackward(sdy, sx, rm, rv, sw, running ? null : us0, running ? null : us1, sdx, n, c, inner, eps);
                Assert.True(dxRef.SequenceEqual(Down(sdx, total)), $"{what} backward running={running}");
            }

            // The running update, with the counter and with momentum NaN (the cumulative average).
            var (runM, runV, cnt) = (TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, c, 0.5f, 2f), new[] { 2 });
            using Storage urm = Up(runM), urv = Up(runV), ucnt = be.Allocate(1, DType.Int32);
            be.Upload(cnt, ucnt);
            foreach (float momentum in new[] { 0.1f, float.NaN })
            {
                Reference.BatchNormUpdateRunning(rMean, rVar, runM, runV, cnt, c, n * inner, momentum);
                be.BatchNormUpdateRunning(rm, rv, urm, urv, ucnt, c, n * inner, momentum);
                Assert.True(runM.SequenceEqual(Down(urm, c)) && runV.SequenceEqual(Down(urv, c)), $"{what} running update momentum={momentum}");
                var got = new int[1];
                be.Download(ucnt, got);
                Assert.Equal(cnt[0], got[0]);
            }
        }
    }

    /// <summary>F.BatchNorm on a device against the reference's composition (forward and every gradient), in training and in
    /// evaluation, with and without affine.</summary>
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Op_ForwardAndBackward_MatchReference(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(43);
        const float eps = 1e-5f;
        foreach (var s in Shapes)
        {
            int n = s[0], c = s[1], inner = s[2];
            var shape = inner == 1 ? new[] { n, c } : new[] { n, c, inner };
            var x = TestUtil.RandomArray(gen, n * c * inner);
            var (w, b, r) = (TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, n * c * inner));
            var (rm, rv) = (TestUtil.RandomArray(gen, c), TestUtil.RandomArray(gen, c, 0.5f, 2f));
            foreach (bool training in new[] { true, false })
            {
                if (training && n * inner < 2) continue;
                var tx = Tensor.FromArray(x, shape, d); tx.RequiresGrad = true;
                var tw = Tensor.FromArray(w, d); tw.RequiresGrad = true;
                var tb = Tensor.FromArray(b, d); tb.RequiresGrad = true;
                var (trm, trv) = (Tensor.FromArray(rm, d), Tensor.FromArray(rv, d));
                var y = F.BatchNorm(tx, trm, trv, tw, tb, training, 0.1f, eps);
                Assert.Equal("batch_norm", y.Op);
                y.Backward(Tensor.FromArray(r, shape, d));
                var (yRef, dxRef, dwRef, dbRef, _, _) = training ? RunReference(x, w, b, r, n, c, inner, eps) : RunReference(x, w, b, r, n, c, inner, eps, rm, rv);
                string what = $"{device} {Check.Fmt(s)} training={training}";
                TestUtil.AssertClose(yRef, y.ToArray(), 1e-5f, 1e-5f, $"{what} y");
                TestUtil.AssertClose(dxRef, tx.Grad!.ToArray(), 1e-5f, 1e-4f, $"{what} dx");
                TestUtil.AssertClose(dwRef, tw.Grad!.ToArray(), 1e-5f, 1e-4f, $"{what} dw");
                TestUtil.AssertClose(dbRef, tb.Grad!.ToArray(), 1e-5f, 1e-4f, $"{what} db");
                if (!training) Assert.Equal(rm, trm.ToArray());   // evaluation does not touch the running statistics
            }
            // Without affine: only x gets a gradient, the same as with w = 1, b = 0.
            if (n * inner >= 2)
            {
                var tx = Tensor.FromArray(x, shape, d); tx.RequiresGrad = true;
                var y = F.BatchNorm(tx, null, null, null, null, training: false);
                y.Backward(Tensor.FromArray(r, shape, d));
                var (yRef, dxRef, _, _, _, _) = RunReference(x, Enumerable.Repeat(1f, c).ToArray(), new float[c], r, n, c, inner, 1e-5f);
                TestUtil.AssertClose(yRef, y.ToArray(), 1e-5f, 1e-5f, $"{device} {Check.Fmt(s)} no affine, no running stats");
                TestUtil.AssertClose(dxRef, tx.Grad!.ToArray(), 1e-5f, 1e-4f, $"{device} {Check.Fmt(s)} no affine dx");
            }
        }
    }

    /// <summary>The modules: state under PyTorch's names and order, running statistics after training steps (momentum and
    /// cumulative), num_batches_tracked, evaluation with the running statistics, track_running_stats false, To(device) and a
    /// safetensors round trip.</summary>
    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Modules_TrainEvalAndState(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(44);
        var bn = new BatchNorm2d(3, device: d);
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Select(t => t.Name));
        Assert.Equal(["weight", "bias"], bn.NamedParameters().Select(p => p.Name));
        Assert.Equal(Array.Empty<int>(), bn.NumBatchesTracked!.Shape);   // a scalar, as torch's
        Assert.Equal("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", bn.ToString());

        // Three training steps: the running statistics follow the reference's update, the counter counts them.
        var (expM, expV) = (new float[3], Enumerable.Repeat(1f, 3).ToArray());
        var batches = Enumerable.Range(0, 3).Select(_ => TestUtil.RandomArray(gen, 4 * 3 * 5 * 5).Select(v => v * 3f + 1f).ToArray()).ToArray();
        foreach (var xs in batches)
        {
            using var scope = new TensorScope();
            bn.Forward(Tensor.FromArray(xs, [4, 3, 5, 5], d));
            var (m, v) = (new float[3], new float[3]);
            Reference.BatchNormStats(xs, m, v, 4, 3, 25);
            Reference.BatchNormUpdateRunning(m, v, expM, expV, null, 3, 100, 0.1f);
        }
        TestUtil.AssertClose(expM, bn.RunningMean!.ToArray(), 1e-6f, 1e-5f, "running_mean");
        TestUtil.AssertClose(expV, bn.RunningVar!.ToArray(), 1e-6f, 1e-5f, "running_var");
        Assert.Equal([3], bn.NumBatchesTracked!.ToIntArray());

        // Evaluation: normalised by the running statistics, which stay as they are.
        bn.Eval();
        var xe = TestUtil.RandomArray(gen, 2 * 3 * 5 * 5);
        var ye = bn.Forward(Tensor.FromArray(xe, [2, 3, 5, 5], d)).ToArray();
        var yRef = new float[xe.Length];
        Reference.BatchNormForward(xe, expM, expV, Enumerable.Repeat(1f, 3).ToArray(), new float[3], yRef, 2, 3, 25, 1e-5f);
        TestUtil.AssertClose(yRef, ye, 1e-5f, 1e-5f, "eval forward");
        Assert.Equal([3], bn.NumBatchesTracked!.ToIntArray());

        // A safetensors round trip into a fresh module on the cpu gives the same evaluation.
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-tests", "bn-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Safetensors.Save(Path.Combine(dir, "bn.safetensors"), bn.StateDict());
            var file = Safetensors.Load(Path.Combine(dir, "bn.safetensors"));
            Assert.Equal("I32", file["num_batches_tracked"].DType);
            Assert.Empty(file["num_batches_tracked"].Shape);
            var fresh = new BatchNorm2d(3);
            Safetensors.LoadInto(Path.Combine(dir, "bn.safetensors"), fresh.StateDict());
            fresh.Eval();
            TestUtil.AssertClose(ye, fresh.Forward(Tensor.FromArray(xe, [2, 3, 5, 5])).ToArray(), 1e-6f, 1e-5f, "loaded module");
            Assert.Equal([3], fresh.NumBatchesTracked!.ToIntArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
        bn.ResetRunningStats();
        Assert.Equal(new float[3], bn.RunningMean!.ToArray());
        Assert.Equal([1f, 1f, 1f], bn.RunningVar!.ToArray());
        Assert.Equal([0], bn.NumBatchesTracked!.ToIntArray());

        // momentum null: the cumulative average of the batch statistics (the mean of the three batch means).
        var cum = new BatchNorm1d(3, momentum: null, device: d);
        var means = new List<float[]>();
        foreach (var xs in batches)
        {
            var x2 = xs.Take(4 * 3 * 5).ToArray();   // [20, 3]
            cum.Forward(Tensor.FromArray(x2, [20, 3], d));
            var (m, v) = (new float[3], new float[3]);
            Reference.BatchNormStats(x2, m, v, 20, 3, 1);
            means.Add(m);
        }
        TestUtil.AssertClose(Enumerable.Range(0, 3).Select(j => means.Average(m => m[j])).ToArray(), cum.RunningMean!.ToArray(), 1e-6f, 1e-5f, "cumulative mean");
        Assert.Equal("BatchNorm1d(3, eps=1e-05, momentum=None, affine=True, track_running_stats=True)", cum.ToString());

        // track_running_stats false: no buffers, the batch's statistics in both modes; affine false: no parameters.
        var plain = new BatchNorm1d(3, affine: false, trackRunningStats: false, device: d);
        Assert.Empty(plain.StateDict());
        var xp = Tensor.FromArray(TestUtil.RandomArray(gen, 6 * 3 * 4), [6, 3, 4], d);
        var train = plain.Forward(xp).ToArray();
        plain.Eval();
        Assert.Equal(train, plain.Forward(xp).ToArray());

        // To(device) moves the buffers in place; the module keeps training there.
        var other = Device.Get(device == "cpu" ? "ilgpu-cpu" : "cpu");
        var moving = new BatchNorm2d(2, device: d);
        var rmBuf = moving.RunningMean!;
        moving.To(other);
        Assert.Same(rmBuf, moving.RunningMean);
        Assert.All(moving.Buffers(), t => Assert.Equal(other, t.Device));
        moving.Forward(Tensor.FromArray(TestUtil.RandomArray(gen, 2 * 2 * 3 * 3), [2, 2, 3, 3], other));
        Assert.Equal([1], moving.NumBatchesTracked!.ToIntArray());
    }

    [Fact]
    public void BadInput_NamesOpOrModuleAndShapes()
    {
        void Throws(Action f, params string[] parts)
        {
            var e = Assert.Throws<ArgumentException>(f);
            foreach (var part in parts) Assert.Contains(part, e.Message);
        }
        Throws(() => new BatchNorm2d(3).Forward(Tensor.Zeros([2, 4, 5, 5])), "BatchNorm2d(3)", "[N, 3, H, W]", "[2, 4, 5, 5]");
        Throws(() => new BatchNorm2d(3).Forward(Tensor.Zeros([2, 3, 5])), "BatchNorm2d(3)", "[2, 3, 5]");
        Throws(() => new BatchNorm1d(4).Forward(Tensor.Zeros([2, 3])), "BatchNorm1d(4)", "[N, 4]", "[2, 3]");
        Throws(() => new BatchNorm1d(4).Forward(Tensor.Zeros([2, 4, 2, 2])), "BatchNorm1d(4)", "[2, 4, 2, 2]");
        Throws(() => new BatchNorm1d(4).Forward(Tensor.Zeros([1, 4])), "batch_norm", "more than 1 value per channel", "[1, 4]");
        Throws(() => new BatchNorm2d(0), "BatchNorm2d", "num_features", "0");
        Throws(() => new BatchNorm2d(2, momentum: 1.5f), "BatchNorm2d", "momentum", "1.5");
        Throws(() => new BatchNorm2d(2, eps: -1f), "BatchNorm2d", "eps");
        Throws(() => F.BatchNorm(Tensor.Zeros([4, 3]), null, null, Tensor.Ones([2])), "batch_norm", "weight", "[3]", "[4, 3]", "[2]");
        Throws(() => F.BatchNorm(Tensor.Zeros([4, 3]), Tensor.Zeros([3]), null), "batch_norm", "running_mean and running_var");
        Throws(() => F.BatchNorm(Tensor.Zeros([4]), null, null), "batch_norm", "[4]");
        Throws(() => F.BatchNorm(Tensor.Zeros([4, 3]), Tensor.Zeros([3]), Tensor.Ones([3]), training: true, momentum: null), "batch_norm", "num_batches_tracked");
        Throws(() => F.BatchNorm(Tensor.Zeros([4, 3]), null, null, Tensor.Ones([3], Device.Get("ilgpu-cpu"))), "batch_norm", "different devices");
    }
}
