using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ScratchNet.Kernels;

// Var and softmax / log_softmax along a dimension on the cpu's vector paths (see ReduceDim.Cpu.Simd.cs for the layouts).
//   ROWS (inner = 1): softmax: a vector max, e = exp(x − m) with .NET's vector exp (within 2 ulp of MathF.Exp: a tolerance,
//   not the reference's bits) stored in y, Σ e in double (TV.SumDouble), then y scaled (or y = x − m − ln Σ); its backward: the
//   dot product in double, then a vector update. Var: the mean with TV.SumDouble, Σ (x − m)² on double lanes.
//   COLUMNS (inner > 1): blocks of 256 columns of one o, each pass reading x row by row of the block (in order of d) into
//   running values in L1: max, then Σ exp, then the writes; var: the mean, then Σ (x − m)², on double lanes in order of d (the
//   reference's bits).
public static partial class ReduceDimSimd
{
    const int SoftBlock = 256;

    /// <summary>y = softmax of x along dim (log_softmax when <paramref name="log"/>) of an [outer, dim, inner] view, on a vector
    /// path: the max, then e = exp(x − m) with .NET's vector exp (within 2 ulp of MathF.Exp) and Σ e in double.</summary>
    public static void Softmax(KernelPath path, float[] x, float[] y, int outer, int dim, int inner, bool log) =>
        Dispatch(path, outer, dim, inner, new SoftmaxJob { X = x, Y = y, Log = log });

    /// <summary>dx += the backward of softmax (log_softmax when <paramref name="log"/>) from its output y and dy, on a vector path
    /// (accumulates): dx_d += y_d·(dy_d − Σ_k dy_k·y_k), or dx_d += dy_d − exp(y_d)·Σ_k dy_k; the sums in double.</summary>
    public static void SoftmaxBackward(KernelPath path, float[] y, float[] dy, float[] dx, int outer, int dim, int inner, bool log) =>
        Dispatch(path, outer, dim, inner, new SoftmaxJob { X = y, Y = dx, DY = dy, Log = log, Backward = true });

    /// <summary>y[o, i] = scale·Σ_d (x − m)², m = the mean (written to <paramref name="mean"/> when given).</summary>
    public static void Var(KernelPath path, float[] x, float[] y, float[]? mean, int outer, int dim, int inner, float scale) =>
        Dispatch(path, outer, dim, inner, new SoftmaxJob { X = x, Y = y, DY = mean, Var = true, Scale = scale });

    /// <summary>What one call does (the kernel struct is generic over the vector type only).</summary>
    struct SoftmaxJob
    {
        public float[] X, Y;
        public float[]? DY;
        public bool Log, Backward, Var;
        public float Scale;
    }

    static void Dispatch(KernelPath path, int outer, int dim, int inner, SoftmaxJob job)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        int blocks = (inner + SoftBlock - 1) / SoftBlock;
        int items = inner == 1 ? outer : outer * blocks;
        int grain = (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1L, (long)dim * Math.Min(inner, SoftBlock)));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(items, grain, new SoftmaxKernel<V512> { J = job, Dim = dim, Inner = inner, Blocks = blocks }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(items, grain, new SoftmaxKernel<V256> { J = job, Dim = dim, Inner = inner, Blocks = blocks }, align: 1); break;
            default: CpuSimd.For(items, grain, new SoftmaxKernel<VecT> { J = job, Dim = dim, Inner = inner, Blocks = blocks }, align: 1); break;
        }
    }

    /// <summary>Σ_j ((double)row[j] − m)² over n floats, on double lanes of TV's width (another order than a running sum);
    /// also batch normalisation's variance (NormSimd).</summary>
    internal static double SquaredDeviations<TV>(ref float row, int n, double m) where TV : struct, ISimd<TV>
    {
        int j = 0;
        double s = 0;
        if (typeof(TV) == typeof(V512))
        {
            Vector512<double> a0 = default, a1 = default, vm = Vector512.Create(m);
            for (; j <= n - 16; j += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref row, (nuint)j));
                lo -= vm; hi -= vm;
                a0 += lo * lo; a1 += hi * hi;
            }
            s = Vector512.Sum(a0 + a1);
        }
        else
        {
            Vector256<double> a0 = default, a1 = default, vm = Vector256.Create(m);
            for (; j <= n - 8; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref row, (nuint)j));
                lo -= vm; hi -= vm;
                a0 += lo * lo; a1 += hi * hi;
            }
            s = Vector256.Sum(a0 + a1);
        }
        for (; j < n; j++) { double e = Unsafe.Add(ref row, j) - m; s += e * e; }
        return s;
    }

    /// <summary>ss[j] += ((double)row[j] − mean[j])² for j &lt; w: each column's sum in order of d (the reference's bits).</summary>
    static void AddSquaredDeviations<TV>(ref float row, ref double mean, ref double ss, int w) where TV : struct, ISimd<TV>
    {
        int j = 0;
        if (typeof(TV) == typeof(V512))
            for (; j <= w - 16; j += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref row, (nuint)j));
                lo -= Vector512.LoadUnsafe(ref mean, (nuint)j); hi -= Vector512.LoadUnsafe(ref mean, (nuint)j + 8);
                (Vector512.LoadUnsafe(ref ss, (nuint)j) + lo * lo).StoreUnsafe(ref ss, (nuint)j);
                (Vector512.LoadUnsafe(ref ss, (nuint)j + 8) + hi * hi).StoreUnsafe(ref ss, (nuint)j + 8);
            }
        else
            for (; j <= w - 8; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref row, (nuint)j));
                lo -= Vector256.LoadUnsafe(ref mean, (nuint)j); hi -= Vector256.LoadUnsafe(ref mean, (nuint)j + 4);
                (Vector256.LoadUnsafe(ref ss, (nuint)j) + lo * lo).StoreUnsafe(ref ss, (nuint)j);
                (Vector256.LoadUnsafe(ref ss, (nuint)j + 4) + hi * hi).StoreUnsafe(ref ss, (nuint)j + 4);
            }
        for (; j < w; j++) { double e = Unsafe.Add(ref row, j) - Unsafe.Add(ref mean, j); Unsafe.Add(ref ss, j) += e * e; }
    }

    struct SoftmaxKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public SoftmaxJob J;
        public int Dim, Inner, Blocks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            Span<float> m = stackalloc float[SoftBlock];
            Span<double> s = stackalloc double[SoftBlock];
            for (int item = start; item < end; item++)
            {
                if (Inner == 1)
                {
                    if (J.Var) VarRow(item);
                    else if (J.Backward) BackwardRow(item);
                    else ForwardRow(item);
                    continue;
                }
                int o = item / Blocks, i0 = item % Blocks * SoftBlock, w = Math.Min(SoftBlock, Inner - i0);
                int first = o * Dim * Inner + i0;
                if (J.Var) VarColumns(first, o * Inner + i0, w, m[..w], s[..w]);
                else if (J.Backward) BackwardColumns(first, w, m[..w], s[..w]);
                else ForwardColumns(first, w, m[..w], s[..w]);
            }
        }

        static TV Max(TV m, TV v) => TV.Select(TV.GreaterThan(v, m) | TV.IsNaN(v), v, m);

        void ForwardRow(int o)
        {
            float[] X = J.X, Y = J.Y;
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
            int first = o * Dim, i = 0;
            float mx = float.NegativeInfinity;
            if (Dim >= TV.Count)
            {
                var vm = TV.Load(ref x, first);
                for (i = TV.Count; i <= Dim - TV.Count; i += TV.Count) vm = Max(vm, TV.Load(ref x, first + i));
                Span<float> lanes = stackalloc float[TV.Count];
                TV.Store(vm, ref MemoryMarshal.GetReference(lanes), 0);
                foreach (float v in lanes) mx = Math.Max(mx, v);
            }
            for (; i < Dim; i++) mx = Math.Max(mx, X[first + i]);
            var vmx = TV.Splat(mx);
            for (i = 0; i <= Dim - TV.Count; i += TV.Count) TV.Store(BroadcastSimd.ExpLog(TV.Load(ref x, first + i) - vmx, log: false), ref y, first + i);
            for (; i < Dim; i++) Y[first + i] = MathF.Exp(X[first + i] - mx);
            double sum = TV.SumDouble(ref Unsafe.Add(ref y, first), Dim);
            if (J.Log)
            {
                float ls = (float)Math.Log(sum);
                var vls = TV.Splat(ls);
                for (i = 0; i <= Dim - TV.Count; i += TV.Count) TV.Store(TV.Load(ref x, first + i) - vmx - vls, ref y, first + i);
                for (; i < Dim; i++) Y[first + i] = X[first + i] - mx - ls;
            }
            else
            {
                float inv = (float)(1.0 / sum);
                var vinv = TV.Splat(inv);
                for (i = 0; i <= Dim - TV.Count; i += TV.Count) TV.Store(TV.Load(ref y, first + i) * vinv, ref y, first + i);
                for (; i < Dim; i++) Y[first + i] *= inv;
            }
        }

        void ForwardColumns(int first, int w, Span<float> m, Span<double> s)
        {
            float[] X = J.X, Y = J.Y;
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
            ref float pm = ref MemoryMarshal.GetReference(m);
            m.Fill(float.NegativeInfinity);
            s.Clear();
            for (int d = 0; d < Dim; d++)
            {
                int row = first + d * Inner, i = 0;
                for (; i <= w - TV.Count; i += TV.Count) TV.Store(Max(TV.Load(ref pm, i), TV.Load(ref x, row + i)), ref pm, i);
                for (; i < w; i++) m[i] = Math.Max(m[i], X[row + i]);
            }
            for (int d = 0; d < Dim; d++)
            {
                int row = first + d * Inner, i = 0;
                for (; i <= w - TV.Count; i += TV.Count) TV.Store(BroadcastSimd.ExpLog(TV.Load(ref x, row + i) - TV.Load(ref pm, i), log: false), ref y, row + i);
                for (; i < w; i++) Y[row + i] = MathF.Exp(X[row + i] - m[i]);
                AddWidened<TV>(ref Unsafe.Add(ref y, row), ref MemoryMarshal.GetReference(s), w);
            }
            // s → ln Σ (log) or 1 / Σ, as floats in the first w entries of a float view of m's neighbour: reuse s as floats
            Span<float> f = MemoryMarshal.Cast<double, float>(s)[..w];
            for (int i = 0; i < w; i++) f[i] = J.Log ? (float)Math.Log(s[i]) : (float)(1.0 / s[i]);
            ref float pf = ref MemoryMarshal.GetReference(f);
            for (int d = 0; d < Dim; d++)
            {
                int row = first + d * Inner, i = 0;
                if (J.Log)
                {
                    for (; i <= w - TV.Count; i += TV.Count) TV.Store(TV.Load(ref x, row + i) - TV.Load(ref pm, i) - TV.Load(ref pf, i), ref y, row + i);
                    for (; i < w; i++) Y[row + i] = X[row + i] - m[i] - f[i];
                }
                else
                {
                    for (; i <= w - TV.Count; i += TV.Count) TV.Store(TV.Load(ref y, row + i) * TV.Load(ref pf, i), ref y, row + i);
                    for (; i < w; i++) Y[row + i] *= f[i];
                }
            }
        }

        /// <summary>X = the forward output y, Y = dx, DY = dy.</summary>
        void BackwardRow(int o)
        {
            float[] Yf = J.X, DX = J.Y, DY = J.DY!;
            ref float yv = ref MemoryMarshal.GetArrayDataReference(Yf);
            ref float dx = ref MemoryMarshal.GetArrayDataReference(DX);
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            int first = o * Dim, i;
            double dot = 0;
            for (i = 0; i < Dim; i++) dot += J.Log ? DY[first + i] : (double)DY[first + i] * Yf[first + i];
            float t = (float)dot;
            var vt = TV.Splat(t);
            for (i = 0; i <= Dim - TV.Count; i += TV.Count)
            {
                var g = TV.Load(ref dy, first + i);
                var yy = TV.Load(ref yv, first + i);
                var add = J.Log ? g - BroadcastSimd.ExpLog(yy, log: false) * vt : yy * (g - vt);
                TV.Store(TV.Load(ref dx, first + i) + add, ref dx, first + i);
            }
            for (; i < Dim; i++)
                DX[first + i] += J.Log ? DY[first + i] - MathF.Exp(Yf[first + i]) * t : Yf[first + i] * (DY[first + i] - t);
        }

        void BackwardColumns(int first, int w, Span<float> t, Span<double> s)
        {
            float[] Yf = J.X, DX = J.Y, DY = J.DY!;
            ref float yv = ref MemoryMarshal.GetArrayDataReference(Yf);
            ref float dx = ref MemoryMarshal.GetArrayDataReference(DX);
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            s.Clear();
            for (int d = 0; d < Dim; d++)
            {
                int row = first + d * Inner;
                for (int i = 0; i < w; i++) s[i] += J.Log ? DY[row + i] : (double)DY[row + i] * Yf[row + i];
            }
            for (int i = 0; i < w; i++) t[i] = (float)s[i];
            ref float pt = ref MemoryMarshal.GetReference(t);
            for (int d = 0; d < Dim; d++)
            {
                int row = first + d * Inner, i = 0;
                for (; i <= w - TV.Count; i += TV.Count)
                {
                    var g = TV.Load(ref dy, row + i);
                    var yy = TV.Load(ref yv, row + i);
                    var vt = TV.Load(ref pt, i);
                    var add = J.Log ? g - BroadcastSimd.ExpLog(yy, log: false) * vt : yy * (g - vt);
                    TV.Store(TV.Load(ref dx, row + i) + add, ref dx, row + i);
                }
                for (; i < w; i++)
                    DX[row + i] += J.Log ? DY[row + i] - MathF.Exp(Yf[row + i]) * t[i] : Yf[row + i] * (DY[row + i] - t[i]);
            }
        }

        void VarRow(int o)
        {
            float[] X = J.X;
            int first = o * Dim;
            ref float row = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), first);
            double mean = TV.SumDouble(ref row, Dim) / Dim;
            double ss = SquaredDeviations<TV>(ref row, Dim, mean);
            J.Y[o] = (float)(ss * J.Scale);
            if (J.DY is not null) J.DY[o] = (float)mean;
        }

        void VarColumns(int first, int outAt, int w, Span<float> unused, Span<double> sum)
        {
            float[] X = J.X;
            Span<double> ss = stackalloc double[w];
            ss.Clear();
            sum.Clear();
            for (int d = 0; d < Dim; d++)
                AddWidened<TV>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), first + d * Inner), ref MemoryMarshal.GetReference(sum), w);
            for (int i = 0; i < w; i++) sum[i] /= Dim;
            for (int d = 0; d < Dim; d++)
                AddSquaredDeviations<TV>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), first + d * Inner), ref MemoryMarshal.GetReference(sum), ref MemoryMarshal.GetReference(ss), w);
            for (int i = 0; i < w; i++)
            {
                J.Y[outAt + i] = (float)(ss[i] * J.Scale);
                if (J.DY is not null) J.DY[outAt + i] = (float)sum[i];
            }
        }
    }
}
