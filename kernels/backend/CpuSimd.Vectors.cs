using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// The vector types the SIMD kernels are generic over (see CpuSimd.cs). Each wraps one hardware vector of
// Count float lanes; the wrapper is a single-field struct, which the JIT keeps in a register, and every member
// is a one-line intrinsic that it inlines. Masks are vectors too: a comparison sets a lane to all ones (true)
// or all zeros (false), and Select(mask, a, b) takes a's bits where the mask is set, b's elsewhere.
//
//   V512: Vector512<float>, 16 lanes (AVX-512F)        V128: Vector128<float>, 4 lanes (SSE; max-pool row tails)
//   V256: Vector256<float>, 8 lanes  (AVX2)            VecT: System.Numerics.Vector<float>, the portable fallback
//
// Besides arithmetic, three families of kernels need something lane-wise that has no generic form:
//   - stride-2 loads for max pooling: lanes p[i], p[i+2], ..., p[i+2(Count−1)] (LoadEven) or the odd ones
//     (LoadOdd), taken from the two vectors p[i .. i+2·Count) with a lane shuffle (VecT has none: HasStride2 = false);
//   - sums in double (bias gradient, Sum): each float lane is widened to double before it is added;
//   - the dropout hash on 64-bit integer lanes (Dropout.cs): two vectors of Count/2 ulong counters each,
//     narrowed to one float mask.
internal interface ISimd<TV> where TV : struct, ISimd<TV>
{
    static abstract int Count { get; }
    static abstract TV Load(ref float p, nint i);
    static abstract void Store(TV v, ref float p, nint i);
    static abstract TV Splat(float x);
    /// <summary>0, 1, 2, ..., Count − 1.</summary>
    static abstract TV Iota { get; }
    static abstract TV operator +(TV a, TV b);
    static abstract TV operator -(TV a, TV b);
    static abstract TV operator *(TV a, TV b);
    static abstract TV operator /(TV a, TV b);
    static abstract TV operator |(TV a, TV b);
    static abstract TV Sqrt(TV a);
    static abstract TV LessThan(TV a, TV b);
    static abstract TV GreaterThan(TV a, TV b);
    static abstract TV IsNaN(TV a);
    /// <summary>mask ? a : b, lane by lane (bitwise: the result has exactly a's or b's bits).</summary>
    static abstract TV Select(TV mask, TV a, TV b);
    /// <summary>Stores lanes that hold whole numbers (|v| &lt; 2^24) as Int32.</summary>
    static abstract void StoreInt(TV v, ref int p, nint i);

    static abstract bool HasStride2 { get; }
    /// <summary>p[i + 2j] for j &lt; Count; reads p[i .. i + 2·Count).</summary>
    static abstract TV LoadEven(ref float p, nint i);
    /// <summary>p[i + 1 + 2j] for j &lt; Count; reads p[i .. i + 2·Count).</summary>
    static abstract TV LoadOdd(ref float p, nint i);

    /// <summary>Σ p[0 .. n) in double (Count/2-lane double accumulators, then the scalar tail).</summary>
    static abstract double SumDouble(ref float p, nint n);
    /// <summary>dst[j] += (float)(Σ_{r &lt; rows} p[r·stride + j]) for j &lt; Count: each column summed in row order, in double.</summary>
    static abstract void AddColumnSums(ref float p, nint stride, int rows, ref float dst);

    /// <summary>Dropout mask of elements i .. i + Count − 1: scale where (hash(key, e) >> 40) ≥ threshold, else 0.</summary>
    static abstract TV DropoutMask(ulong key, int i, ulong threshold, float scale);
}

/// <summary>The SplitMix64 hash of Dropout.cs on vector lanes (any width): Mix64(key + counter · γ).</summary>
internal static class DropoutLanes
{
    public const ulong Gamma = 0x9E3779B97F4A7C15UL, M1 = 0xBF58476D1CE4E5B9UL, M2 = 0x94D049BB133111EBUL;
}

internal readonly struct V512 : ISimd<V512>
{
    readonly Vector512<float> v;
    V512(Vector512<float> v) => this.v = v;
    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V512 Load(ref float p, nint i) => new(Vector512.LoadUnsafe(ref p, (nuint)i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(V512 a, ref float p, nint i) => a.v.StoreUnsafe(ref p, (nuint)i);
    public static V512 Splat(float x) => new(Vector512.Create(x));
    public static V512 Iota => new(Vector512<float>.Indices);
    public static V512 operator +(V512 a, V512 b) => new(a.v + b.v);
    public static V512 operator -(V512 a, V512 b) => new(a.v - b.v);
    public static V512 operator *(V512 a, V512 b) => new(a.v * b.v);
    public static V512 operator /(V512 a, V512 b) => new(a.v / b.v);
    public static V512 operator |(V512 a, V512 b) => new(a.v | b.v);
    public static V512 Sqrt(V512 a) => new(Vector512.Sqrt(a.v));
    public static V512 LessThan(V512 a, V512 b) => new(Vector512.LessThan(a.v, b.v));
    public static V512 GreaterThan(V512 a, V512 b) => new(Vector512.GreaterThan(a.v, b.v));
    public static V512 IsNaN(V512 a) => new(~Vector512.Equals(a.v, a.v));
    public static V512 Select(V512 m, V512 a, V512 b) => new(Vector512.ConditionalSelect(m.v, a.v, b.v));
    public static void StoreInt(V512 a, ref int p, nint i) => Vector512.ConvertToInt32(a.v).StoreUnsafe(ref p, (nuint)i);

    public static bool HasStride2 => true;
    static Vector512<int> EvenLanes => Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    static Vector512<int> OddLanes => Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    // vpermt2ps: index k < 16 takes lane k of the first vector, k ≥ 16 lane k − 16 of the second.
    public static V512 LoadEven(ref float p, nint i) =>
        new(Avx512F.PermuteVar16x32x2(Vector512.LoadUnsafe(ref p, (nuint)i), EvenLanes, Vector512.LoadUnsafe(ref p, (nuint)(i + 16))));
    public static V512 LoadOdd(ref float p, nint i) =>
        new(Avx512F.PermuteVar16x32x2(Vector512.LoadUnsafe(ref p, (nuint)i), OddLanes, Vector512.LoadUnsafe(ref p, (nuint)(i + 16))));

    public static double SumDouble(ref float p, nint n)
    {
        Vector512<double> a0 = default, a1 = default;
        nint i = 0;
        for (; i <= n - 16; i += 16)
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref p, (nuint)i));
            a0 += lo; a1 += hi;
        }
        double s = Vector512.Sum(a0 + a1);
        for (; i < n; i++) s += Unsafe.Add(ref p, i);
        return s;
    }

    public static void AddColumnSums(ref float p, nint stride, int rows, ref float dst)
    {
        Vector512<double> a0 = default, a1 = default;
        for (int r = 0; r < rows; r++)
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref p, (nuint)(r * stride)));
            a0 += lo; a1 += hi;
        }
        var sum = Vector512.Narrow(a0, a1);   // double → float, round to nearest, as (float)s
        (Vector512.LoadUnsafe(ref dst) + sum).StoreUnsafe(ref dst);
    }

    public static V512 DropoutMask(ulong key, int i, ulong threshold, float scale)
    {
        var c = Vector512.Create((ulong)i + 1) + Vector512<ulong>.Indices;      // counters i+1 .. i+8
        var keep = Vector512.Narrow(Keep(key, c, threshold), Keep(key, c + Vector512.Create(8UL), threshold));
        return new(Vector512.ConditionalSelect(keep.AsSingle(), Vector512.Create(scale), Vector512<float>.Zero));
    }

    static Vector512<ulong> Keep(ulong key, Vector512<ulong> counter, ulong threshold)
    {
        var z = Vector512.Create(key) + counter * Vector512.Create(DropoutLanes.Gamma);
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(DropoutLanes.M1);
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(DropoutLanes.M2);
        z ^= Vector512.ShiftRightLogical(z, 31);
        return Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(z, 40), Vector512.Create(threshold));
    }
}

internal readonly struct V256 : ISimd<V256>
{
    readonly Vector256<float> v;
    V256(Vector256<float> v) => this.v = v;
    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V256 Load(ref float p, nint i) => new(Vector256.LoadUnsafe(ref p, (nuint)i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(V256 a, ref float p, nint i) => a.v.StoreUnsafe(ref p, (nuint)i);
    public static V256 Splat(float x) => new(Vector256.Create(x));
    public static V256 Iota => new(Vector256<float>.Indices);
    public static V256 operator +(V256 a, V256 b) => new(a.v + b.v);
    public static V256 operator -(V256 a, V256 b) => new(a.v - b.v);
    public static V256 operator *(V256 a, V256 b) => new(a.v * b.v);
    public static V256 operator /(V256 a, V256 b) => new(a.v / b.v);
    public static V256 operator |(V256 a, V256 b) => new(a.v | b.v);
    public static V256 Sqrt(V256 a) => new(Vector256.Sqrt(a.v));
    public static V256 LessThan(V256 a, V256 b) => new(Vector256.LessThan(a.v, b.v));
    public static V256 GreaterThan(V256 a, V256 b) => new(Vector256.GreaterThan(a.v, b.v));
    public static V256 IsNaN(V256 a) => new(~Vector256.Equals(a.v, a.v));
    public static V256 Select(V256 m, V256 a, V256 b) => new(Vector256.ConditionalSelect(m.v, a.v, b.v));
    public static void StoreInt(V256 a, ref int p, nint i) => Vector256.ConvertToInt32(a.v).StoreUnsafe(ref p, (nuint)i);

    public static bool HasStride2 => true;
    // shufps picks lanes 0, 2 (imm 0x88) or 1, 3 (0xDD) of each 128-bit half of a, then of b:
    // a0 a2 b0 b2 | a4 a6 b4 b6; vpermpd with 64-bit order 0, 2, 1, 3 then gives a0 a2 a4 a6 b0 b2 b4 b6.
    public static V256 LoadEven(ref float p, nint i) => new(Avx2.Permute4x64(
        Avx.Shuffle(Vector256.LoadUnsafe(ref p, (nuint)i), Vector256.LoadUnsafe(ref p, (nuint)(i + 8)), 0x88).AsDouble(), 0b11_01_10_00).AsSingle());
    public static V256 LoadOdd(ref float p, nint i) => new(Avx2.Permute4x64(
        Avx.Shuffle(Vector256.LoadUnsafe(ref p, (nuint)i), Vector256.LoadUnsafe(ref p, (nuint)(i + 8)), 0xDD).AsDouble(), 0b11_01_10_00).AsSingle());

    public static double SumDouble(ref float p, nint n)
    {
        Vector256<double> a0 = default, a1 = default;
        nint i = 0;
        for (; i <= n - 8; i += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref p, (nuint)i));
            a0 += lo; a1 += hi;
        }
        double s = Vector256.Sum(a0 + a1);
        for (; i < n; i++) s += Unsafe.Add(ref p, i);
        return s;
    }

    public static void AddColumnSums(ref float p, nint stride, int rows, ref float dst)
    {
        Vector256<double> a0 = default, a1 = default;
        for (int r = 0; r < rows; r++)
        {
            var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref p, (nuint)(r * stride)));
            a0 += lo; a1 += hi;
        }
        (Vector256.LoadUnsafe(ref dst) + Vector256.Narrow(a0, a1)).StoreUnsafe(ref dst);
    }

    public static V256 DropoutMask(ulong key, int i, ulong threshold, float scale)
    {
        var c = Vector256.Create((ulong)i + 1) + Vector256<ulong>.Indices;      // counters i+1 .. i+4
        var keep = Vector256.Narrow(Keep(key, c, threshold), Keep(key, c + Vector256.Create(4UL), threshold));
        return new(Vector256.ConditionalSelect(keep.AsSingle(), Vector256.Create(scale), Vector256<float>.Zero));
    }

    static Vector256<ulong> Keep(ulong key, Vector256<ulong> counter, ulong threshold)
    {
        var z = Vector256.Create(key) + counter * Vector256.Create(DropoutLanes.Gamma);
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * Vector256.Create(DropoutLanes.M1);
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * Vector256.Create(DropoutLanes.M2);
        z ^= Vector256.ShiftRightLogical(z, 31);
        return Vector256.GreaterThanOrEqual(Vector256.ShiftRightLogical(z, 40), Vector256.Create(threshold));
    }
}

internal readonly struct V128 : ISimd<V128>
{
    readonly Vector128<float> v;
    V128(Vector128<float> v) => this.v = v;
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static V128 Load(ref float p, nint i) => new(Vector128.LoadUnsafe(ref p, (nuint)i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(V128 a, ref float p, nint i) => a.v.StoreUnsafe(ref p, (nuint)i);
    public static V128 Splat(float x) => new(Vector128.Create(x));
    public static V128 Iota => new(Vector128<float>.Indices);
    public static V128 operator +(V128 a, V128 b) => new(a.v + b.v);
    public static V128 operator -(V128 a, V128 b) => new(a.v - b.v);
    public static V128 operator *(V128 a, V128 b) => new(a.v * b.v);
    public static V128 operator /(V128 a, V128 b) => new(a.v / b.v);
    public static V128 operator |(V128 a, V128 b) => new(a.v | b.v);
    public static V128 Sqrt(V128 a) => new(Vector128.Sqrt(a.v));
    public static V128 LessThan(V128 a, V128 b) => new(Vector128.LessThan(a.v, b.v));
    public static V128 GreaterThan(V128 a, V128 b) => new(Vector128.GreaterThan(a.v, b.v));
    public static V128 IsNaN(V128 a) => new(~Vector128.Equals(a.v, a.v));
    public static V128 Select(V128 m, V128 a, V128 b) => new(Vector128.ConditionalSelect(m.v, a.v, b.v));
    public static void StoreInt(V128 a, ref int p, nint i) => Vector128.ConvertToInt32(a.v).StoreUnsafe(ref p, (nuint)i);

    public static bool HasStride2 => Sse.IsSupported;
    public static V128 LoadEven(ref float p, nint i) => new(Sse.Shuffle(Vector128.LoadUnsafe(ref p, (nuint)i), Vector128.LoadUnsafe(ref p, (nuint)(i + 4)), 0x88));
    public static V128 LoadOdd(ref float p, nint i) => new(Sse.Shuffle(Vector128.LoadUnsafe(ref p, (nuint)i), Vector128.LoadUnsafe(ref p, (nuint)(i + 4)), 0xDD));

    public static double SumDouble(ref float p, nint n)
    {
        Vector128<double> a0 = default, a1 = default;
        nint i = 0;
        for (; i <= n - 4; i += 4)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref p, (nuint)i));
            a0 += lo; a1 += hi;
        }
        double s = Vector128.Sum(a0 + a1);
        for (; i < n; i++) s += Unsafe.Add(ref p, i);
        return s;
    }

    public static void AddColumnSums(ref float p, nint stride, int rows, ref float dst)
    {
        Vector128<double> a0 = default, a1 = default;
        for (int r = 0; r < rows; r++)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref p, (nuint)(r * stride)));
            a0 += lo; a1 += hi;
        }
        (Vector128.LoadUnsafe(ref dst) + Vector128.Narrow(a0, a1)).StoreUnsafe(ref dst);
    }

    public static V128 DropoutMask(ulong key, int i, ulong threshold, float scale)
    {
        var c = Vector128.Create((ulong)i + 1) + Vector128<ulong>.Indices;      // counters i+1, i+2
        var keep = Vector128.Narrow(Keep(key, c, threshold), Keep(key, c + Vector128.Create(2UL), threshold));
        return new(Vector128.ConditionalSelect(keep.AsSingle(), Vector128.Create(scale), Vector128<float>.Zero));
    }

    static Vector128<ulong> Keep(ulong key, Vector128<ulong> counter, ulong threshold)
    {
        var z = Vector128.Create(key) + counter * Vector128.Create(DropoutLanes.Gamma);
        z = (z ^ Vector128.ShiftRightLogical(z, 30)) * Vector128.Create(DropoutLanes.M1);
        z = (z ^ Vector128.ShiftRightLogical(z, 27)) * Vector128.Create(DropoutLanes.M2);
        z ^= Vector128.ShiftRightLogical(z, 31);
        return Vector128.GreaterThanOrEqual(Vector128.ShiftRightLogical(z, 40), Vector128.Create(threshold));
    }
}

internal readonly struct VecT : ISimd<VecT>
{
    readonly Vector<float> v;
    VecT(Vector<float> v) => this.v = v;
    public static int Count => Vector<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecT Load(ref float p, nint i) => new(Vector.LoadUnsafe(ref p, (nuint)i));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(VecT a, ref float p, nint i) => a.v.StoreUnsafe(ref p, (nuint)i);
    public static VecT Splat(float x) => new(new Vector<float>(x));
    public static VecT Iota => new(Vector<float>.Indices);
    public static VecT operator +(VecT a, VecT b) => new(a.v + b.v);
    public static VecT operator -(VecT a, VecT b) => new(a.v - b.v);
    public static VecT operator *(VecT a, VecT b) => new(a.v * b.v);
    public static VecT operator /(VecT a, VecT b) => new(a.v / b.v);
    public static VecT operator |(VecT a, VecT b) => new(a.v | b.v);
    public static VecT Sqrt(VecT a) => new(Vector.SquareRoot(a.v));
    public static VecT LessThan(VecT a, VecT b) => new(Vector.LessThan<float>(a.v, b.v));
    public static VecT GreaterThan(VecT a, VecT b) => new(Vector.GreaterThan<float>(a.v, b.v));
    public static VecT IsNaN(VecT a) => new(~Vector.Equals<float>(a.v, a.v));
    public static VecT Select(VecT m, VecT a, VecT b) => new(Vector.ConditionalSelect(m.v, a.v, b.v));
    public static void StoreInt(VecT a, ref int p, nint i) => Vector.ConvertToInt32(a.v).StoreUnsafe(ref p, (nuint)i);

    // Vector<T> has no lane shuffle: the pooling kernel vectorises only stride 1 on this path.
    public static bool HasStride2 => false;
    public static VecT LoadEven(ref float p, nint i)
    {
        Span<float> t = stackalloc float[Vector<float>.Count];
        for (int j = 0; j < t.Length; j++) t[j] = Unsafe.Add(ref p, i + 2 * j);
        return new(new Vector<float>(t));
    }
    public static VecT LoadOdd(ref float p, nint i) => LoadEven(ref p, i + 1);

    public static double SumDouble(ref float p, nint n)
    {
        Vector<double> a0 = default, a1 = default;
        nint i = 0, w = Vector<float>.Count;
        for (; i <= n - w; i += w)
        {
            Vector.Widen(Vector.LoadUnsafe(ref p, (nuint)i), out var lo, out var hi);
            a0 += lo; a1 += hi;
        }
        double s = Vector.Sum(a0 + a1);
        for (; i < n; i++) s += Unsafe.Add(ref p, i);
        return s;
    }

    public static void AddColumnSums(ref float p, nint stride, int rows, ref float dst)
    {
        Vector<double> a0 = default, a1 = default;
        for (int r = 0; r < rows; r++)
        {
            Vector.Widen(Vector.LoadUnsafe(ref p, (nuint)(r * stride)), out var lo, out var hi);
            a0 += lo; a1 += hi;
        }
        (Vector.LoadUnsafe(ref dst) + Vector.Narrow(a0, a1)).StoreUnsafe(ref dst);
    }

    public static VecT DropoutMask(ulong key, int i, ulong threshold, float scale)
    {
        var c = new Vector<ulong>((ulong)i + 1) + Vector<ulong>.Indices;
        var keep = Vector.Narrow(Keep(key, c, threshold), Keep(key, c + new Vector<ulong>((ulong)Vector<ulong>.Count), threshold));
        return new(Vector.ConditionalSelect(Vector.AsVectorSingle(keep), new Vector<float>(scale), Vector<float>.Zero));
    }

    static Vector<ulong> Keep(ulong key, Vector<ulong> counter, ulong threshold)
    {
        var z = new Vector<ulong>(key) + counter * new Vector<ulong>(DropoutLanes.Gamma);
        z = (z ^ Vector.ShiftRightLogical(z, 30)) * new Vector<ulong>(DropoutLanes.M1);
        z = (z ^ Vector.ShiftRightLogical(z, 27)) * new Vector<ulong>(DropoutLanes.M2);
        z ^= Vector.ShiftRightLogical(z, 31);
        return Vector.GreaterThanOrEqual<ulong>(Vector.ShiftRightLogical(z, 40), new Vector<ulong>(threshold));
    }
}
