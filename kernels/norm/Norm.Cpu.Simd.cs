using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ScratchNet.Kernels;

// Batch normalisation on the cpu's vector paths (CpuSimd.cs; the math and the layout in Norm.cs).
//
// REDUCTIONS (statistics, backward reduce), two layouts:
//   inner > 1 (BatchNorm2d): one channel per work item, its N blocks of `inner` contiguous floats summed on double lanes
//     (Σ x with TV.SumDouble, then Σ (x − mean)²; or Σ dy and Σ dy·(x − mean) in one pass): the reference's sums in another order, so they
//     may differ from it in the last bits of the double, rarely of the float.
//   inner = 1 (BatchNorm1d on [N, C]): the channels are the columns of an [N, C] matrix: blocks of up to 64 channels, each
//     channel's running double sum in a lane, rows added in order of n: the reference's additions in its order, its bits.
// ELEMENT-WISE passes (normalise, input gradient): the per-channel constants (mean, a, b; or a, sum_dy/M, k) are computed once
//   per call by BatchNormMath into arrays of C floats; then each (n, c) block of `inner` floats is one vector loop with the
//   constants splatted (inner > 1), or each row n one vector loop over the channels with the constants loaded from the arrays
//   (inner = 1). The same operations in the same order as BatchNormMath's scalar formulas: the reference's bits.
// Work items run in parallel (channels, channel blocks, (n, c) blocks or rows), inline below CpuSimd.SerialElements elements.
/// <summary>Batch normalisation's kernels on the cpu's vector paths (the layouts above).</summary>
public static class NormSimd
{
    const int ColumnBlock = 64;

    // ---------------------------------------------------------------- double-lane helpers

    /// <summary>(Σ_j dy[j], Σ_j (double)dy[j]·((double)x[j] − m)) over n floats, on double lanes, in one pass.</summary>
    static (double Sum, double Dot) SumAndDotDeviations<TV>(ref float dy, ref float x, int n, double m) where TV : struct, ISimd<TV>
    {
        int j = 0;
        double s = 0, d = 0;
        if (typeof(TV) == typeof(V512))
        {
            Vector512<double> s0 = default, s1 = default, a0 = default, a1 = default, vm = Vector512.Create(m);
            for (; j <= n - 16; j += 16)
            {
                var (xl, xh) = Vector512.Widen(Vector512.LoadUnsafe(ref x, (nuint)j));
                var (gl, gh) = Vector512.Widen(Vector512.LoadUnsafe(ref dy, (nuint)j));
                s0 += gl; s1 += gh;
                a0 += gl * (xl - vm); a1 += gh * (xh - vm);
            }
            s = Vector512.Sum(s0 + s1);
            d = Vector512.Sum(a0 + a1);
        }
        else
        {
            Vector256<double> s0 = default, s1 = default, a0 = default, a1 = default, vm = Vector256.Create(m);
            for (; j <= n - 8; j += 8)
            {
                var (xl, xh) = Vector256.Widen(Vector256.LoadUnsafe(ref x, (nuint)j));
                var (gl, gh) = Vector256.Widen(Vector256.LoadUnsafe(ref dy, (nuint)j));
                s0 += gl; s1 += gh;
                a0 += gl * (xl - vm); a1 += gh * (xh - vm);
            }
            s = Vector256.Sum(s0 + s1);
            d = Vector256.Sum(a0 + a1);
        }
        for (; j < n; j++)
        {
            float g = Unsafe.Add(ref dy, j);
            s += g;
            d += g * (Unsafe.Add(ref x, j) - m);
        }
        return (s, d);
    }

    /// <summary>Column sums: s[j] += row[j] for j &lt; w, in double (8 lanes at a time, in order: the scalar sum's bits).</summary>
    static void AddColumns(ref float row, ref double s, int w)
    {
        int j = 0;
        for (; j <= w - 8; j += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref row, (nuint)j));
            (Vector256.LoadUnsafe(ref s, (nuint)j) + lo).StoreUnsafe(ref s, (nuint)j);
            (Vector256.LoadUnsafe(ref s, (nuint)j + 4) + hi).StoreUnsafe(ref s, (nuint)j + 4);
        }
        for (; j < w; j++) Unsafe.Add(ref s, j) += Unsafe.Add(ref row, j);
    }

    /// <summary>ss[j] += ((double)row[j] − mean[j])² for j &lt; w.</summary>
    static void AddColumnSquares(ref float row, ref double mean, ref double ss, int w)
    {
        int j = 0;
        for (; j <= w - 8; j += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref row, (nuint)j));
            lo -= Vector256.LoadUnsafe(ref mean, (nuint)j); hi -= Vector256.LoadUnsafe(ref mean, (nuint)j + 4);
            (Vector256.LoadUnsafe(ref ss, (nuint)j) + lo * lo).StoreUnsafe(ref ss, (nuint)j);
            (Vector256.LoadUnsafe(ref ss, (nuint)j + 4) + hi * hi).StoreUnsafe(ref ss, (nuint)j + 4);
        }
        for (; j < w; j++) { double e = Unsafe.Add(ref row, j) - Unsafe.Add(ref mean, j); Unsafe.Add(ref ss, j) += e * e; }
    }

    /// <summary>sdy[j] += dy[j], dot[j] += (double)dy[j]·((double)x[j] − mean[j]) for j &lt; w.</summary>
    static void AddColumnDots(ref float dyRow, ref float xRow, ref double mean, ref double sdy, ref double dot, int w)
    {
        int j = 0;
        for (; j <= w - 8; j += 8)
        {
            var (gl, gh) = Vector256.Widen(Vector256.LoadUnsafe(ref dyRow, (nuint)j));
            var (xl, xh) = Vector256.Widen(Vector256.LoadUnsafe(ref xRow, (nuint)j));
            (Vector256.LoadUnsafe(ref sdy, (nuint)j) + gl).StoreUnsafe(ref sdy, (nuint)j);
            (Vector256.LoadUnsafe(ref sdy, (nuint)j + 4) + gh).StoreUnsafe(ref sdy, (nuint)j + 4);
            xl -= Vector256.LoadUnsafe(ref mean, (nuint)j); xh -= Vector256.LoadUnsafe(ref mean, (nuint)j + 4);
            (Vector256.LoadUnsafe(ref dot, (nuint)j) + gl * xl).StoreUnsafe(ref dot, (nuint)j);
            (Vector256.LoadUnsafe(ref dot, (nuint)j + 4) + gh * xh).StoreUnsafe(ref dot, (nuint)j + 4);
        }
        for (; j < w; j++)
        {
            float g = Unsafe.Add(ref dyRow, j);
            Unsafe.Add(ref sdy, j) += g;
            Unsafe.Add(ref dot, j) += g * (Unsafe.Add(ref xRow, j) - Unsafe.Add(ref mean, j));
        }
    }

    // ---------------------------------------------------------------- reductions

    /// <summary>Statistics (Backward = false: mean, var) or the backward's sums (sum_dy, sum_dy_xhat) over work items: channels
    /// (inner &gt; 1) or blocks of ColumnBlock channels (inner = 1).</summary>
    struct ReduceKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X, DY, Mean, Var, Out0, Out1;
        public int N, C, Inner;
        public float Eps;
        public bool Backward;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            int m = N * Inner;
            if (Inner == 1)
            {
                Span<double> s0 = stackalloc double[ColumnBlock], s1 = stackalloc double[ColumnBlock], mean = stackalloc double[ColumnBlock];
                for (int item = start; item < end; item++)
                {
                    int c0 = item * ColumnBlock, w = Math.Min(ColumnBlock, C - c0);
                    s0.Clear(); s1.Clear();
                    if (!Backward)
                    {
                        for (int b = 0; b < N; b++) AddColumns(ref Unsafe.Add(ref x, b * C + c0), ref s0[0], w);
                        for (int j = 0; j < w; j++) mean[j] = s0[j] / m;
                        for (int b = 0; b < N; b++) AddColumnSquares(ref Unsafe.Add(ref x, b * C + c0), ref mean[0], ref s1[0], w);
                        for (int j = 0; j < w; j++) { Out0[c0 + j] = (float)mean[j]; Out1[c0 + j] = (float)(s1[j] / m); }
                    }
                    else
                    {
                        for (int j = 0; j < w; j++) mean[j] = Mean[c0 + j];
                        for (int b = 0; b < N; b++)
                            AddColumnDots(ref Unsafe.Add(ref dy, b * C + c0), ref Unsafe.Add(ref x, b * C + c0), ref mean[0], ref s0[0], ref s1[0], w);
                        for (int j = 0; j < w; j++)
                        {
                            Out0[c0 + j] = (float)s0[j];
                            Out1[c0 + j] = (float)(s1[j] * BatchNormMath.InvStd(Var[c0 + j], Eps));
                        }
                    }
                }
                return;
            }
            for (int ch = start; ch < end; ch++)
            {
                if (!Backward)
                {
                    double s = 0;
                    for (int b = 0; b < N; b++) s += TV.SumDouble(ref Unsafe.Add(ref x, (b * C + ch) * Inner), Inner);
                    double mean = s / m, ss = 0;
                    for (int b = 0; b < N; b++) ss += ReduceDimSimd.SquaredDeviations<TV>(ref Unsafe.Add(ref x, (b * C + ch) * Inner), Inner, mean);
                    Out0[ch] = (float)mean;
                    Out1[ch] = (float)(ss / m);
                }
                else
                {
                    double sdy = 0, dot = 0, mean = Mean[ch];
                    for (int b = 0; b < N; b++)
                    {
                        int at = (b * C + ch) * Inner;
                        var (bs, bd) = SumAndDotDeviations<TV>(ref Unsafe.Add(ref dy, at), ref Unsafe.Add(ref x, at), Inner, mean);
                        sdy += bs;
                        dot += bd;
                    }
                    Out0[ch] = (float)sdy;
                    Out1[ch] = (float)(dot * BatchNormMath.InvStd(Var[ch], Eps));
                }
            }
        }
    }

    static void Reduce(KernelPath path, ReduceKernel<V512> k512)
    {
        path = CpuSimd.Resolve(path);
        int items = k512.Inner == 1 ? (k512.C + ColumnBlock - 1) / ColumnBlock : k512.C;
        long perItem = (long)k512.N * k512.Inner * (k512.Inner == 1 ? ColumnBlock : 1);
        int grain = (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1, perItem));
        var k = k512;
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(items, grain, k, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(items, grain, new ReduceKernel<V256> { X = k.X, DY = k.DY, Mean = k.Mean, Var = k.Var, Out0 = k.Out0, Out1 = k.Out1, N = k.N, C = k.C, Inner = k.Inner, Eps = k.Eps, Backward = k.Backward }, align: 1); break;
            default: CpuSimd.For(items, grain, new ReduceKernel<VecT> { X = k.X, DY = k.DY, Mean = k.Mean, Var = k.Var, Out0 = k.Out0, Out1 = k.Out1, N = k.N, C = k.C, Inner = k.Inner, Eps = k.Eps, Backward = k.Backward }, align: 1); break;
        }
    }

    /// <summary>mean and biased var per channel (Norm.cs), on the given path.</summary>
    public static void Stats(KernelPath path, float[] x, float[] mean, float[] var, int n, int c, int inner)
    {
        if (x.Length < n * c * inner || mean.Length < c || var.Length < c) throw new ArgumentException($"batch_norm: buffers too short for [{n}, {c}, {inner}]");
        Reduce(path, new ReduceKernel<V512> { X = x, DY = x, Mean = mean, Var = var, Out0 = mean, Out1 = var, N = n, C = c, Inner = inner, Backward = false });
    }

    /// <summary>sum_dy and sum_dy_xhat per channel (Norm.cs), on the given path.</summary>
    public static void BackwardReduce(KernelPath path, float[] dy, float[] x, float[] mean, float[] var, float[] sumDy, float[] sumDyXhat, int n, int c, int inner, float eps)
    {
        if (x.Length < n * c * inner || dy.Length < n * c * inner || sumDy.Length < c || sumDyXhat.Length < c)
            throw new ArgumentException($"batch_norm backward: buffers too short for [{n}, {c}, {inner}]");
        Reduce(path, new ReduceKernel<V512> { X = x, DY = dy, Mean = mean, Var = var, Out0 = sumDy, Out1 = sumDyXhat, N = n, C = c, Inner = inner, Eps = eps, Backward = true });
    }

    // ---------------------------------------------------------------- element-wise passes

    /// <summary>Normalise (Grad = false: y = (x − mean)·a + b, P0 = mean, P1 = a, P2 = b) or the input gradient (Grad = true:
    /// dx += a·((dy − mdy) − (x − mean)·k) with P0 = mean, P1 = a, P2 = mdy, P3 = k; or dx += a·dy when Running) over work
    /// items: (n, c) blocks (inner &gt; 1) or rows n (inner = 1).</summary>
    struct MapKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X, DY, Out, P0, P1, P2, P3;
        public int C, Inner;
        public bool Grad, Running;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            ref float o = ref MemoryMarshal.GetArrayDataReference(Out);
            int w = TV.Count;
            if (Inner == 1)
            {
                ref float p0 = ref MemoryMarshal.GetArrayDataReference(P0), p1 = ref MemoryMarshal.GetArrayDataReference(P1);
                ref float p2 = ref MemoryMarshal.GetArrayDataReference(P2), p3 = ref MemoryMarshal.GetArrayDataReference(P3);
                for (int b = start; b < end; b++)
                {
                    int at = b * C, j = 0;
                    for (; j <= C - w; j += w)
                    {
                        var r = Grad
                            ? Running ? TV.Load(ref o, at + j) + TV.Load(ref p1, j) * TV.Load(ref dy, at + j)
                                      : TV.Load(ref o, at + j) + TV.Load(ref p1, j) * ((TV.Load(ref dy, at + j) - TV.Load(ref p2, j)) - (TV.Load(ref x, at + j) - TV.Load(ref p0, j)) * TV.Load(ref p3, j))
                            : (TV.Load(ref x, at + j) - TV.Load(ref p0, j)) * TV.Load(ref p1, j) + TV.Load(ref p2, j);
                        TV.Store(r, ref o, at + j);
                    }
                    for (; j < C; j++) Scalar(at + j, j);
                }
                return;
            }
            for (int block = start; block < end; block++)
            {
                int ch = block % C, at = block * Inner, i = 0;
                var m = TV.Splat(P0[ch]); var a = TV.Splat(P1[ch]); var q = TV.Splat(P2[ch]); var k = TV.Splat(P3[ch]);
                for (; i <= Inner - w; i += w)
                {
                    var r = Grad
                        ? Running ? TV.Load(ref o, at + i) + a * TV.Load(ref dy, at + i)
                                  : TV.Load(ref o, at + i) + a * ((TV.Load(ref dy, at + i) - q) - (TV.Load(ref x, at + i) - m) * k)
                        : (TV.Load(ref x, at + i) - m) * a + q;
                    TV.Store(r, ref o, at + i);
                }
                for (; i < Inner; i++) Scalar(at + i, ch);
            }
        }

        /// <summary>Element e of channel ch, with the reference's scalar formula.</summary>
        readonly void Scalar(int e, int ch)
        {
            if (!Grad) Out[e] = BatchNormMath.Normalise(X[e], P0[ch], P1[ch], P2[ch]);
            else if (Running) Out[e] += P1[ch] * DY[e];
            else Out[e] += BatchNormMath.Grad(DY[e], X[e], P0[ch], P1[ch], P2[ch], P3[ch]);
        }
    }

    static void Map(KernelPath path, MapKernel<V512> k, int n)
    {
        path = CpuSimd.Resolve(path);
        int items = k.Inner == 1 ? n : n * k.C;
        long perItem = k.Inner == 1 ? k.C : k.Inner;
        int grain = (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1, perItem));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(items, grain, k, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(items, grain, new MapKernel<V256> { X = k.X, DY = k.DY, Out = k.Out, P0 = k.P0, P1 = k.P1, P2 = k.P2, P3 = k.P3, C = k.C, Inner = k.Inner, Grad = k.Grad, Running = k.Running }, align: 1); break;
            default: CpuSimd.For(items, grain, new MapKernel<VecT> { X = k.X, DY = k.DY, Out = k.Out, P0 = k.P0, P1 = k.P1, P2 = k.P2, P3 = k.P3, C = k.C, Inner = k.Inner, Grad = k.Grad, Running = k.Running }, align: 1); break;
        }
    }

    /// <summary>y = (x − mean)·(w·invstd) + b per channel (Norm.cs), on the given path; weight and bias may be null.</summary>
    public static void Forward(KernelPath path, float[] x, float[] mean, float[] var, float[]? weight, float[]? bias, float[] y, int n, int c, int inner, float eps)
    {
        if (x.Length < n * c * inner || y.Length < n * c * inner) throw new ArgumentException($"batch_norm: buffers too short for [{n}, {c}, {inner}]");
        float[] mu = new float[c], a = new float[c], b = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            mu[ch] = mean[ch];
            a[ch] = (weight is null ? 1f : weight[ch]) * BatchNormMath.InvStd(var[ch], eps);
            b[ch] = bias is null ? 0f : bias[ch];
        }
        Map(path, new MapKernel<V512> { X = x, DY = x, Out = y, P0 = mu, P1 = a, P2 = b, P3 = b, C = c, Inner = inner }, n);
    }

    /// <summary>dx += the input gradient (Norm.cs): batch statistics when sumDy and sumDyXhat are given, else a·dy.</summary>
    public static void Backward(KernelPath path, float[] dy, float[] x, float[] mean, float[] var, float[]? weight, float[]? sumDy, float[]? sumDyXhat,
                                float[] dx, int n, int c, int inner, float eps)
    {
        if (x.Length < n * c * inner || dy.Length < n * c * inner || dx.Length < n * c * inner)
            throw new ArgumentException($"batch_norm backward: buffers too short for [{n}, {c}, {inner}]");
        int m = n * inner;
        float[] mu = new float[c], a = new float[c], mdy = new float[c], k = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            float invstd = BatchNormMath.InvStd(var[ch], eps);
            a[ch] = (weight is null ? 1f : weight[ch]) * invstd;
            if (sumDy is null) continue;
            mu[ch] = mean[ch];
            mdy[ch] = sumDy[ch] / m;
            k[ch] = BatchNormMath.K(invstd, sumDyXhat![ch], m);
        }
        Map(path, new MapKernel<V512> { X = x, DY = dy, Out = dx, P0 = mu, P1 = a, P2 = mdy, P3 = k, C = c, Inner = inner, Grad = true, Running = sumDy is null }, n);
    }
}
