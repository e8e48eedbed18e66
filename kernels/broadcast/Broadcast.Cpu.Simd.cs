using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// The broadcast family, vectorised (CpuSimd.cs).
//
// BINARY. The output is walked as rows of its innermost (merged) dimension: a chunk [start, end) of output elements is cut at
// row ends, and each row segment gets its operands' base offsets once (StridedLayout.Offset). Along the row an operand's stride
// is 1 (it varies with the row: a vector load), 0 (it is broadcast along the row: one value splatted to every lane) or anything
// else (a gather: the scalar loop). So a same-shape op is one long row, [N, C] + [C] is N rows of loads + loads, [N, C] + [N, 1]
// N rows of loads + a splat. Every op here is a single IEEE operation or a selection, computed lane by lane exactly as
// BroadcastMath's scalar formula: every path gives the reference's bits. Pow is not vectorised (MathF.Pow per element).
//
// UNARY / UNARY BACKWARD: CpuMap over the n elements with the op's formula, the reference's bits, except: exp and log use .NET's
// vector Exp / Log (System.Runtime.Intrinsics), within 2 ulp of MathF.Exp / MathF.Log (a 1e-5 tolerance in the checks, as for
// the GPU); the two pows stay scalar (Reference). Where and BinaryGrad run the reference loops (Broadcast.Cpu.cs).
/// <summary>The broadcast family on the cpu device's vector paths: binary ops walked as row segments of the innermost merged
/// dimension (loads where an operand's stride is 1, a splat where it is 0, the scalar loop otherwise), unary ops and their
/// gradients through CpuMap. Every op but exp and log gives the reference's bits; the pows have no vector form.</summary>
public static class BroadcastSimd
{
    /// <summary>The vector form of a binary op (the scalar form is BroadcastMath.Binary).</summary>
    struct BinaryV(int op) : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV>
        {
            var one = TV.Splat(1f); var zero = TV.Splat(0f);
            switch (op)
            {
                case 0: return a + b;
                case 1: return a - b;
                case 2: return a * b;
                case 3: return a / b;
                case 5: return TV.Select(TV.GreaterThan(a, b) | TV.IsNaN(a), a, b);
                case 6: return TV.Select(TV.LessThan(a, b) | TV.IsNaN(a), a, b);
                case 7: return TV.Select(TV.LessThan(a, b) | TV.GreaterThan(a, b) | TV.IsNaN(a) | TV.IsNaN(b), zero, one);
                case 8: return TV.Select(TV.LessThan(a, b) | TV.GreaterThan(a, b) | TV.IsNaN(a) | TV.IsNaN(b), one, zero);
                case 9: return TV.Select(TV.LessThan(a, b), one, zero);
                case 10: return TV.Select(TV.GreaterThan(a, b) | TV.IsNaN(a) | TV.IsNaN(b), zero, one);
                case 11: return TV.Select(TV.GreaterThan(a, b), one, zero);
                default: return TV.Select(TV.LessThan(a, b) | TV.IsNaN(a) | TV.IsNaN(b), zero, one);
            }
        }

        public float Scalar(float a, float b, float y) => BroadcastMath.Binary(op, a, b);
    }

    /// <summary>.NET's vector exp or log of TV's lanes (within 2 ulp of MathF.Exp / MathF.Log; not part of ISimd: one branch per
    /// vector type, folded by the JIT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV ExpLog<TV>(TV x, bool log) where TV : struct, ISimd<TV>
    {
        if (typeof(TV) == typeof(V512))
        {
            var v = Unsafe.As<TV, System.Runtime.Intrinsics.Vector512<float>>(ref x);
            var r = log ? System.Runtime.Intrinsics.Vector512.Log(v) : System.Runtime.Intrinsics.Vector512.Exp(v);
            return Unsafe.As<System.Runtime.Intrinsics.Vector512<float>, TV>(ref r);
        }
        if (typeof(TV) == typeof(V256))
        {
            var v = Unsafe.As<TV, System.Runtime.Intrinsics.Vector256<float>>(ref x);
            var r = log ? System.Runtime.Intrinsics.Vector256.Log(v) : System.Runtime.Intrinsics.Vector256.Exp(v);
            return Unsafe.As<System.Runtime.Intrinsics.Vector256<float>, TV>(ref r);
        }
        {
            var v = Unsafe.As<TV, System.Numerics.Vector<float>>(ref x);
            var r = log ? System.Numerics.Vector.Log(v) : System.Numerics.Vector.Exp(v);
            return Unsafe.As<System.Numerics.Vector<float>, TV>(ref r);
        }
    }

    /// <summary>y = f(x) in vector form for every unary op but Pow and RPow (exp and log: .NET's vector functions).</summary>
    struct UnaryV(int op, float p, float q) : IMapOp
    {
        public static bool ReadsB => false; public static bool ReadsY => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Vec<TV>(TV x, TV b, TV y) where TV : struct, ISimd<TV>
        {
            switch (op)
            {
                case 0: return TV.Splat(-1f) * x;
                case 1: return ExpLog(x, log: false);
                case 2: return ExpLog(x, log: true);
                case 3: return TV.Sqrt(x);
                case 4: return TV.Select(TV.LessThan(x, TV.Splat(0f)), TV.Splat(-1f) * x, x) + TV.Splat(0f);   // + 0 turns −0 into +0
                case 6:
                    {
                        var t = TV.Select(TV.LessThan(x, TV.Splat(p)), TV.Splat(p), x);
                        return TV.Select(TV.GreaterThan(t, TV.Splat(q)), TV.Splat(q), t);
                    }
                case 7: return x + TV.Splat(p);
                case 8: return x * TV.Splat(p);
                case 9: return x / TV.Splat(p);
                case 10: return TV.Splat(p) - x;
                default: return TV.Splat(p) / x;
            }
        }

        public float Scalar(float x, float b, float y) => BroadcastMath.Unary(op, x, p, q);
    }

    /// <summary>dx += dy·f'(x) in vector form: A = x, B = dy, Y = dx. Ops reading the forward output y use <see cref="UnaryGradYV"/>.</summary>
    struct UnaryGradV(int op, float p, float q) : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Vec<TV>(TV x, TV dy, TV dx) where TV : struct, ISimd<TV>
        {
            var zero = TV.Splat(0f);
            switch (op)
            {
                case 0: case 10: return dx + TV.Splat(-1f) * dy;
                case 2: return dx + dy / x;
                case 4: return dx + dy * TV.Select(TV.GreaterThan(x, zero), TV.Splat(1f), TV.Select(TV.LessThan(x, zero), TV.Splat(-1f), TV.Select(TV.IsNaN(x), x, zero)));
                case 6: return dx + TV.Select(TV.LessThan(x, TV.Splat(p)) | TV.GreaterThan(x, TV.Splat(q)) | TV.IsNaN(x), zero, dy);
                case 7: return dx + dy;
                case 8: return dx + dy * TV.Splat(p);
                case 9: return dx + dy / TV.Splat(p);
                default: return dx + TV.Splat(-1f) * dy * ((TV.Splat(p) / x) / x);
            }
        }

        public float Scalar(float x, float dy, float dx) => dx + BroadcastMath.UnaryGrad(op, x, 0f, dy, p, q);
    }

    /// <summary>dx += dy·f'(y) for the ops whose derivative reads the output (Exp: dy·y, Sqrt: dy / (2y)): A = y, B = dy, Y = dx.</summary>
    struct UnaryGradYV(int op) : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Vec<TV>(TV y, TV dy, TV dx) where TV : struct, ISimd<TV> =>
            op == 1 ? dx + dy * y : dx + dy / (TV.Splat(2f) * y);

        public float Scalar(float y, float dy, float dx) => dx + BroadcastMath.UnaryGrad(op, 0f, y, dy, 0f, 0f);
    }

    /// <summary>Whether the unary op has a vector form (the pows do not).</summary>
    public static bool IsVectorUnary(UnaryOp op) => op is not (UnaryOp.Pow or UnaryOp.RPow);

    /// <summary>Whether the op's vector form gives the reference's bits (all but exp and log).</summary>
    public static bool IsExactUnary(UnaryOp op) => op is not (UnaryOp.Exp or UnaryOp.Log or UnaryOp.Pow or UnaryOp.RPow);

    /// <summary>Whether the unary op's backward has a vector form (the pows do not).</summary>
    public static bool IsVectorUnaryGrad(UnaryOp op) => op is not (UnaryOp.Pow or UnaryOp.RPow);

    /// <summary>Whether the binary op has a vector form (pow does not).</summary>
    public static bool IsVectorBinary(BinaryOp op) => op != BinaryOp.Pow;

    /// <summary>y[i] = f(x[i]) for i &lt; n on a vector path, with the op's scalars p and q; exp and log within 2 ulp of MathF's,
    /// the other ops bit-identical. Pow and RPow are an ArgumentException (see <see cref="IsVectorUnary"/>).</summary>
    public static void Unary(KernelPath path, UnaryOp op, float p, float q, float[] x, float[] y, int n)
    {
        if (!IsVectorUnary(op)) throw new ArgumentException($"unary: {op} has no vector form (it runs Reference.Unary)");
        CpuMap.Run(path, n, x, null, y, new UnaryV((int)op, p, q));
    }

    /// <summary>dx[i] += dy[i]·f'(x[i]) for i &lt; n on a vector path (accumulates). Exp and Sqrt read the forward output y, the
    /// others x; Pow and RPow are an ArgumentException.</summary>
    public static void UnaryBackward(KernelPath path, UnaryOp op, float p, float q, float[] x, float[] y, float[] dy, float[] dx, int n)
    {
        if (!IsVectorUnaryGrad(op)) throw new ArgumentException($"unary backward: {op} has no vector form (it runs Reference.UnaryBackward)");
        if (op is UnaryOp.Exp or UnaryOp.Sqrt) CpuMap.Run(path, n, y, dy, dx, new UnaryGradYV((int)op));
        else CpuMap.Run(path, n, x, dy, dx, new UnaryGradV((int)op, p, q));
    }

    /// <summary>y[i] = op(a[offset(a, i)], b[offset(b, i)]) on a vector path (not Pow).</summary>
    public static void Binary(KernelPath path, BinaryOp op, float[] a, float[] b, float[] y, Dims6 d, Strides6 sa, Strides6 sb)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (!IsVectorBinary(op)) throw new ArgumentException($"binary: {op} has no vector form (it runs Reference.Binary)");
        var f = new BinaryV((int)op);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(d.N, CpuSimd.SerialElements, new StridedBinary<V512> { A = a, B = b, Y = y, D = d, SA = sa, SB = sb, Op = f }); break;
            case KernelPath.Avx2: CpuSimd.For(d.N, CpuSimd.SerialElements, new StridedBinary<V256> { A = a, B = b, Y = y, D = d, SA = sa, SB = sb, Op = f }); break;
            default: CpuSimd.For(d.N, CpuSimd.SerialElements, new StridedBinary<VecT> { A = a, B = b, Y = y, D = d, SA = sa, SB = sb, Op = f }); break;
        }
    }

    /// <summary>Output elements [start, end) as row segments of the innermost dimension (see the header).</summary>
    struct StridedBinary<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] A, B, Y;
        public Dims6 D;
        public Strides6 SA, SB;
        public BinaryV Op;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            int r = D.Rank;
            int row = r == 0 ? 1 : D.Size(r - 1);
            int ia = r == 0 ? 0 : SA.Stride(r - 1), ib = r == 0 ? 0 : SB.Stride(r - 1);
            for (int i = start; i < end;)
            {
                int col = i % row, len = Math.Min(row - col, end - i);
                int oa = StridedLayout.Offset(i - col, D, SA) + col * ia, ob = StridedLayout.Offset(i - col, D, SB) + col * ib;
                Segment(oa, ob, i, len, ia, ib);
                i += len;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Segment(int oa, int ob, int oy, int len, int ia, int ib)
        {
            ref float a = ref MemoryMarshal.GetArrayDataReference(A);
            ref float b = ref MemoryMarshal.GetArrayDataReference(B);
            ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
            int k = 0;
            if ((ia | 1) == 1 && (ib | 1) == 1)
            {
                var sa = TV.Splat(A[oa]); var sb = TV.Splat(B[ob]);
                for (; k <= len - TV.Count; k += TV.Count)
                {
                    var va = ia == 1 ? TV.Load(ref a, oa + k) : sa;
                    var vb = ib == 1 ? TV.Load(ref b, ob + k) : sb;
                    TV.Store(Op.Vec(va, vb, va), ref y, oy + k);
                }
            }
            for (; k < len; k++) Y[oy + k] = Op.Scalar(A[oa + k * ia], B[ob + k * ib], 0f);
        }
    }
}
