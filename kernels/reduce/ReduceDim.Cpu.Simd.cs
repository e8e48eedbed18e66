using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// Sum and max/min along a dimension, vectorised (CpuSimd.cs), in the two layouts of the [outer, dim, inner] view:
//   - ROWS (inner = 1): each output reduces a contiguous row of dim floats. Sum: TV.SumDouble (Count/2-lane double
//     accumulators: another order than the reference's running sum, so the float result may differ in its last bit).
//     Max/min: each lane keeps the best value and its index of the positions d ≡ lane (mod Count), then the lanes are merged
//     (NaN first, else the largest value, ties to the smaller index) and the tail is scanned: the reference's value and index.
//   - COLUMNS (inner > 1): Count consecutive outputs (o, i .. i + Count − 1) in the lanes, one vector load per d (stride inner).
//     Blocks of 512 columns, each row of the block read in order of d (no strided walk down a column) into 512 running values
//     in L1. Sum: the row widened and added to double accumulators: the reference's bits. Max/min: the running best and its
//     index, a compare and two lane selects per vector: the reference's value and index.
// A kernel item is a row (rows) or an (o, lane block) pair (columns); items run in parallel on the cpu team.
/// <summary>Reductions and softmax along a dimension of an [outer, dim, inner] view on the cpu device's vector paths: along
/// contiguous rows when inner = 1, across rows in blocks of columns (one lane per output) otherwise. Max/min, their indices
/// and the column sums give the reference's bits; row sums differ at most in the last bit, softmax within the vector exp's
/// 2 ulp.</summary>
public static partial class ReduceDimSimd
{
    /// <summary>y[o, i] = (float)Σ_d x[o, d, i] · scale, or with <paramref name="accumulate"/> y[o, i] += scale · (float)Σ_d x[o, d, i]
    /// (the form of SumToShape).</summary>
    public static void Sum(KernelPath path, float[] x, float[] y, int outer, int dim, int inner, float scale, bool accumulate)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        switch (path)
        {
            case KernelPath.Avx512: Run<V512>(); break;
            case KernelPath.Avx2: Run<V256>(); break;
            default: Run<VecT>(); break;
        }

        void Run<TV>() where TV : struct, ISimd<TV>
        {
            var k = new SumKernel<TV> { X = x, Y = y, Dim = dim, Inner = inner, Scale = scale, Accumulate = accumulate, Blocks = (inner + ColumnBlock - 1) / ColumnBlock };
            int items = inner == 1 ? outer : outer * k.Blocks;
            long perItem = inner == 1 ? dim : (long)dim * Math.Min(inner, ColumnBlock);
            CpuSimd.For(items, (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1, perItem)), k, align: 1);
        }
    }

    /// <summary>y[o, i] = the first maximum (max) or minimum of x[o, :, i] (a NaN wins), index[o, i] = its d.</summary>
    public static void Extreme(KernelPath path, float[] x, float[] y, int[] index, int outer, int dim, int inner, bool max)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (dim >= 1 << 24) { Reference.ReduceDim(max ? DimReduction.Max : DimReduction.Min, x, y, index, null, outer, dim, inner, 1f); return; }   // indices must be exact floats
        switch (path)
        {
            case KernelPath.Avx512: Run<V512>(); break;
            case KernelPath.Avx2: Run<V256>(); break;
            default: Run<VecT>(); break;
        }

        void Run<TV>() where TV : struct, ISimd<TV>
        {
            var k = new ExtremeKernel<TV> { X = x, Y = y, Index = index, Dim = dim, Inner = inner, Max = max, Blocks = (inner + ColumnBlock - 1) / ColumnBlock };
            int items = inner == 1 ? outer : outer * k.Blocks;
            long perItem = inner == 1 ? dim : (long)dim * Math.Min(inner, ColumnBlock);
            CpuSimd.For(items, (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1, perItem)), k, align: 1);
        }
    }

    /// <summary>The backward of Sum: dx[o, d, i] += scale·dy[o, i], a row of dy added to every row d of block o (inner &gt; 1) or dy[o]
    /// splatted along row o (inner = 1); the reference's operations: its bits.</summary>
    public static void SumBackward(KernelPath path, float[] dy, float[] dx, int outer, int dim, int inner, float scale)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        // items: rows (o, d) of inner floats; or, when inner = 1, blocks o of dim floats that all add dy[o]
        int rows = inner == 1 ? outer : outer * dim, grain = Math.Max(1, CpuSimd.SerialElements / Math.Max(1, inner == 1 ? dim : inner));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(rows, grain, new SumGradKernel<V512> { DY = dy, DX = dx, Dim = dim, Inner = inner, Scale = scale }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(rows, grain, new SumGradKernel<V256> { DY = dy, DX = dx, Dim = dim, Inner = inner, Scale = scale }, align: 1); break;
            default: CpuSimd.For(rows, grain, new SumGradKernel<VecT> { DY = dy, DX = dx, Dim = dim, Inner = inner, Scale = scale }, align: 1); break;
        }
    }

    /// <summary>Item = a row (o, d) of dx: inner floats (inner = 1: item = o, dim floats).</summary>
    struct SumGradKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] DY, DX;
        public int Dim, Inner;
        public float Scale;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            ref float dx = ref MemoryMarshal.GetArrayDataReference(DX);
            var sc = TV.Splat(Scale);
            if (Inner == 1)
            {
                for (int o = start; o < end; o++)
                {
                    var v = sc * TV.Splat(DY[o]);
                    int at = o * Dim, i = 0;
                    for (; i <= Dim - TV.Count; i += TV.Count) TV.Store(TV.Load(ref dx, at + i) + v, ref dx, at + i);
                    for (; i < Dim; i++) DX[at + i] += Scale * DY[o];
                }
                return;
            }
            for (int row = start; row < end; row++)
            {
                int o = row / Dim, at = row * Inner, from = o * Inner, i = 0;
                for (; i <= Inner - TV.Count; i += TV.Count)
                    TV.Store(TV.Load(ref dx, at + i) + sc * TV.Load(ref dy, from + i), ref dx, at + i);
                for (; i < Inner; i++) DX[at + i] += Scale * DY[from + i];
            }
        }
    }

    /// <summary>Columns per block of the column sums: 512 double accumulators (4 KiB, in L1) per item.</summary>
    const int ColumnBlock = 512;

    struct SumKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X, Y;
        public int Dim, Inner, Blocks;
        public float Scale;
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            Span<double> acc = stackalloc double[ColumnBlock];
            for (int item = start; item < end; item++)
            {
                if (Inner == 1)
                {
                    float s = (float)TV.SumDouble(ref Unsafe.Add(ref x, (nint)item * Dim), Dim);
                    Y[item] = Accumulate ? Y[item] + Scale * s : s * Scale;
                    continue;
                }
                // Columns i0 .. i1 of row block o: each row of the block added to the double accumulators, in order of d
                // (each column's sum in the reference's order: the same bits).
                int o = item / Blocks, i0 = item % Blocks * ColumnBlock, w = Math.Min(ColumnBlock, Inner - i0);
                var a = acc[..w];
                a.Clear();
                ref double pa = ref MemoryMarshal.GetReference(a);
                for (int d = 0; d < Dim; d++) AddWidened<TV>(ref Unsafe.Add(ref x, (nint)(o * Dim + d) * Inner + i0), ref pa, w);
                int outAt = o * Inner + i0;
                for (int j = 0; j < w; j++)
                {
                    float s = (float)a[j];
                    Y[outAt + j] = Accumulate ? Y[outAt + j] + Scale * s : s * Scale;
                }
            }
        }
    }

    /// <summary>acc[j] += (double)row[j] for j &lt; w, with the vector width of TV (the widening is not part of ISimd: one branch per
    /// vector type, folded by the JIT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddWidened<TV>(ref float row, ref double acc, int w) where TV : struct, ISimd<TV>
    {
        int j = 0;
        if (typeof(TV) == typeof(V512))
            for (; j <= w - 16; j += 16)
            {
                var (lo, hi) = System.Runtime.Intrinsics.Vector512.Widen(System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref row, (nuint)j));
                (System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref acc, (nuint)j) + lo).StoreUnsafe(ref acc, (nuint)j);
                (System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref acc, (nuint)j + 8) + hi).StoreUnsafe(ref acc, (nuint)j + 8);
            }
        else if (typeof(TV) == typeof(V256))
            for (; j <= w - 8; j += 8)
            {
                var (lo, hi) = System.Runtime.Intrinsics.Vector256.Widen(System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref row, (nuint)j));
                (System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref acc, (nuint)j) + lo).StoreUnsafe(ref acc, (nuint)j);
                (System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref acc, (nuint)j + 4) + hi).StoreUnsafe(ref acc, (nuint)j + 4);
            }
        else
        {
            int n = System.Numerics.Vector<float>.Count, h = n / 2;
            for (; j <= w - n; j += n)
            {
                System.Numerics.Vector.Widen(System.Numerics.Vector.LoadUnsafe(ref row, (nuint)j), out var lo, out var hi);
                (System.Numerics.Vector.LoadUnsafe(ref acc, (nuint)j) + lo).StoreUnsafe(ref acc, (nuint)j);
                (System.Numerics.Vector.LoadUnsafe(ref acc, (nuint)(j + h)) + hi).StoreUnsafe(ref acc, (nuint)(j + h));
            }
        }
        for (; j < w; j++) Unsafe.Add(ref acc, j) += Unsafe.Add(ref row, j);
    }

    struct ExtremeKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X, Y;
        public int[] Index;
        public int Dim, Inner, Blocks;
        public bool Max;

        /// <summary>Lanes where v should replace best: v beats it, or v is the first NaN.</summary>
        static TV Takes(TV v, TV best, bool max) =>
            (max ? TV.GreaterThan(v, best) : TV.LessThan(v, best)) | TV.Select(TV.IsNaN(best), TV.Splat(0f), TV.IsNaN(v));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            Span<float> lanes = stackalloc float[TV.Count];
            Span<float> lanesIdx = stackalloc float[TV.Count];
            Span<float> best = stackalloc float[ColumnBlock];
            Span<float> at = stackalloc float[ColumnBlock];
            for (int item = start; item < end; item++)
            {
                if (Inner == 1) { Row(ref x, item, lanes, lanesIdx); continue; }
                // Columns i0 .. i0 + w of block o: the running best value and index of each column in two L1 rows, updated
                // row by row of x (whole rows read in order, no strided walk down a column).
                int o = item / Blocks, i0 = item % Blocks * ColumnBlock, w = Math.Min(ColumnBlock, Inner - i0);
                int first = o * Dim * Inner + i0, outAt = o * Inner + i0;
                X.AsSpan(first, w).CopyTo(best);
                at.Clear();
                ref float pb = ref MemoryMarshal.GetReference(best);
                ref float pa = ref MemoryMarshal.GetReference(at);
                for (int d = 1; d < Dim; d++)
                {
                    int row = first + d * Inner, i = 0;
                    var dv = TV.Splat(d);
                    for (; i <= w - TV.Count; i += TV.Count)
                    {
                        var v = TV.Load(ref x, row + i);
                        var b = TV.Load(ref pb, i);
                        var take = Takes(v, b, Max);
                        TV.Store(TV.Select(take, v, b), ref pb, i);
                        TV.Store(TV.Select(take, dv, TV.Load(ref pa, i)), ref pa, i);
                    }
                    for (; i < w; i++)
                    {
                        float v = X[row + i];
                        if (!float.IsNaN(best[i]) && ((Max ? v > best[i] : v < best[i]) || float.IsNaN(v))) { best[i] = v; at[i] = d; }
                    }
                }
                for (int i = 0; i < w; i++) { Y[outAt + i] = best[i]; Index[outAt + i] = (int)at[i]; }
            }
        }

        void Row(ref float x, int o, Span<float> lanes, Span<float> lanesIdx)
        {
            int first = o * Dim, w = TV.Count;
            if (Dim < 2 * w) { var (v0, d0) = Reference.ExtremeAlong(X, first, Dim, 1, Max); Y[o] = v0; Index[o] = d0; return; }
            var best = TV.Load(ref x, first);
            var at = TV.Iota;
            int d = w;
            for (; d <= Dim - w; d += w)
            {
                var v = TV.Load(ref x, first + d);
                var take = Takes(v, best, Max);
                best = TV.Select(take, v, best);
                at = TV.Select(take, TV.Splat(d) + TV.Iota, at);
            }
            TV.Store(best, ref MemoryMarshal.GetReference(lanes), 0);
            TV.Store(at, ref MemoryMarshal.GetReference(lanesIdx), 0);
            // Merge the lanes: the first NaN if any, else the best value with the smallest index.
            float bv = lanes[0]; int bi = (int)lanesIdx[0];
            for (int l = 1; l < w; l++)
            {
                float v = lanes[l]; int i = (int)lanesIdx[l];
                bool nanB = float.IsNaN(bv), nanV = float.IsNaN(v);
                bool take = nanB ? nanV && i < bi
                    : nanV || (Max ? v > bv : v < bv) || (v == bv && i < bi);
                if (take) { bv = v; bi = i; }
            }
            for (; d < Dim && !float.IsNaN(bv); d++)
            {
                float v = X[first + d];
                if ((Max ? v > bv : v < bv) || float.IsNaN(v)) { bv = v; bi = d; }
            }
            Y[o] = bv; Index[o] = bi;
        }
    }
}
