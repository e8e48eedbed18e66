namespace ScratchNet.Kernels;

// ── broadcast ── element-wise math with NumPy broadcasting: y = a ⊕ b, y = f(x), y = where(c, a, b), and the
//                reduce-to-shape adjoint Σ that takes a gradient back to a broadcast input's shape
//   definition  Broadcast.Reference.cs   (the oracle of the tests, `scratchnet check` and the gradient checks)
//   cpu         Broadcast.Cpu.cs: the reference loops with --kernels reference, else Broadcast.Cpu.Simd.cs (avx512 | avx2 |
//               vector: the IEEE-exact ops, + − × ÷ max min comparisons √ |x| clamp, give the reference's bits; exp and log
//               use .NET's vector Exp / Log, within 2 ulp; pow stays scalar) and, for SumToShape, the [outer, dim, inner]
//               sums of kernels/reduce/ReduceDim.Cpu.Simd.cs
//   gpu         Broadcast.Ilgpu.cs
//   tests       tests/TensorMathKernelTests.cs (every version against the Reference), tests/TensorMathTests.cs and TensorMathTorchTests.cs (the ops)
//   check/bench bench/ops/BroadcastOp.cs: scratchnet check --op broadcast, scratchnet bench --op broadcast (GB/s, a copy as the ceiling)
//   engine      engine/autograd/Ops.Math.cs (F.Add, Sub, Mul, Div, Pow, Maximum, Minimum, Where, Exp, Log, ..., the operators)
//
// BROADCASTING (NumPy's rule, as torch): shapes are aligned at their last dimension; a missing leading dimension counts as 1;
// two sizes are compatible when they are equal or one of them is 1, and the output takes the larger. [3, 1, 5] ⊕ [4, 1] →
// [3, 4, 5]; a rank-0 tensor (shape []) or [1] broadcasts against anything.
//
// STRIDES. The output y is contiguous (row-major) over the output shape S; element i has coordinates (c0, ..., c_{r−1}),
// i = Σ_k c_k·Π_{j>k} S_j. An operand x of shape s is read at offset(x, i) = Σ_k c_k·t_k with t_k = its contiguous stride
// where s_k = S_k and t_k = 0 where it is broadcast (s_k = 1 < S_k, or the dimension is missing): a broadcast dimension
// reads the same element again. So every op here is one loop over i with one offset per operand:
//   Binary      y[i] = op(a[offset(a, i)], b[offset(b, i)])
//   Where       y[i] = c[offset(c, i)] ≠ 0 ? a[offset(a, i)] : b[offset(b, i)]
//   Unary       y[i] = f(x[i])                  (same shape, no offsets)
// Before a launch the dimensions are MERGED (StridedLayout.Coalesce): a size-1 dimension is dropped, and dimension k merges
// into k + 1 when every operand has t_k = t_{k+1}·S_{k+1} (contiguous across the two, or broadcast across both). A same-shape
// op becomes rank 1 with strides 1, [N, C] + [C] becomes [N, C] with strides (C, 1) and (0, 1). At most Dims6.MaxRank (6)
// dimensions remain after merging; more is an ArgumentException naming the shapes.
//
// THE ADJOINT OF A BROADCAST (SumToShape). If y = a ⊕ b with a broadcast along the dims B_a, then
//   ∂L/∂a[j] = Σ_{i : offset(a, i) = j} ∂L/∂y[i] · ∂op/∂a (a[j], b[offset(b, i)]),
// the sum over every output element that read a[j]. The backward first forms g[i] = dy[i]·∂op/∂a (BinaryGrad, in the output's
// shape), then sums g over the broadcast dims: SumToShape(g → da) ACCUMULATES y[j] += α·Σ_{r} x[j-th kept coords, r] over the
// reduced coordinates r. Kept and reduced dims are merged separately; the common layout is one reduced block between two
// kept ones, the [outer, dim, inner] view of kernels/reduce/ReduceDim.cs, and runs its Sum kernel. When nothing is broadcast
// the backward accumulates dy·∂op/∂a straight into da (BinaryGrad with accumulate).
//
// THE FORMULAS (BroadcastMath below: the one copy that the reference, the vector code's scalar tail and the GPU kernels call)
//   binary      forward                      ∂/∂a · dy                                ∂/∂b · dy
//   Add         a + b                        dy                                       dy
//   Sub         a − b                        dy                                       −dy
//   Mul         a · b                        dy·b                                     dy·a
//   Div         a / b                        dy / b                                   −dy·((a / b) / b)
//   Pow         a^b (MathF.Pow)              b = 0 ? 0 : dy·(b·a^(b−1))               a = 0 ∧ b ≥ 0 ? 0 : dy·(y·ln a)
//   Maximum     a > b or a is NaN ? a : b    a = b ? dy/2 : a < b ? 0 : dy             a = b ? dy/2 : a > b ? 0 : dy
//   Minimum     a < b or a is NaN ? a : b    a = b ? dy/2 : a > b ? 0 : dy             a = b ? dy/2 : a < b ? 0 : dy
//   Eq Ne Lt Le Gt Ge   1 if the comparison holds else 0 (a Float32 mask; NaN compares false, Ne true)      no gradient
// Pow, Maximum and Minimum follow torch's derivatives.yaml at the kinks: at a tie max/min split the gradient evenly, a NaN
// propagates (either input NaN gives NaN); pow's exponent gradient is 0 where a = 0 and b ≥ 0.
//   unary (p, q: the op's scalars)   forward              dx += dy · f'
//   Neg            −x                   −dy
//   Exp            e^x                  dy·y
//   Log            ln x                 dy / x
//   Sqrt           √x                   dy / (2y)                    (∞ at 0, as torch)
//   Abs            |x|                  dy·sgn x                     (0 at 0, as torch)
//   Pow            x^p                  p = 0 ? 0 : dy·(p·x^(p−1))
//   Clamp          min(max(x, p), q)    p ≤ x ≤ q ? dy : 0            (the bounds pass the gradient, as torch; p > q gives q)
//   AddScalar      x + p                dy
//   MulScalar      x · p                dy·p
//   DivScalar      x / p                dy / p
//   RSub           p − x                −dy
//   RDiv           p / x                −dy·((p / x) / x)
//   RPow           p^x                  p = 0 ∧ x ≥ 0 ? 0 : dy·(y·ln p)
// Where's condition is a Float32 mask: any value other than 0 (NaN included, as bool(nan) in Python) selects a.
/// <summary>The binary ops of <see cref="IBackend.Binary"/>, with their gradients in the table above. The numeric values are
/// the op argument of the GPU kernels and of <see cref="BroadcastMath.Binary"/>.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add = 0,
    /// <summary>a − b.</summary>
    Sub = 1,
    /// <summary>a · b.</summary>
    Mul = 2,
    /// <summary>a / b (IEEE: x/0 is ±∞, 0/0 NaN).</summary>
    Div = 3,
    /// <summary>a^b by MathF.Pow (no vector form on the cpu).</summary>
    Pow = 4,
    /// <summary>max(a, b), NaN if either is NaN; a tie splits the gradient evenly.</summary>
    Maximum = 5,
    /// <summary>min(a, b), NaN if either is NaN; a tie splits the gradient evenly.</summary>
    Minimum = 6,
    /// <summary>1 where a = b, else 0 (NaN compares unequal).</summary>
    Eq = 7,
    /// <summary>1 where a ≠ b, else 0 (1 when either is NaN).</summary>
    Ne = 8,
    /// <summary>1 where a &lt; b, else 0.</summary>
    Lt = 9,
    /// <summary>1 where a ≤ b, else 0.</summary>
    Le = 10,
    /// <summary>1 where a &gt; b, else 0.</summary>
    Gt = 11,
    /// <summary>1 where a ≥ b, else 0.</summary>
    Ge = 12,
}

/// <summary>The unary ops of <see cref="IBackend.Unary"/> (p and q are their scalar parameters; see Broadcast.cs).</summary>
public enum UnaryOp
{
    /// <summary>−x.</summary>
    Neg = 0,
    /// <summary>e^x; the gradient reads the output y.</summary>
    Exp = 1,
    /// <summary>ln x (NaN for x &lt; 0, −∞ at 0).</summary>
    Log = 2,
    /// <summary>√x; the gradient dy / (2y) reads the output and is ∞ at 0.</summary>
    Sqrt = 3,
    /// <summary>|x|; the gradient is dy·sgn x, 0 at 0.</summary>
    Abs = 4,
    /// <summary>x^p by MathF.Pow.</summary>
    Pow = 5,
    /// <summary>min(max(x, p), q): p is the lower bound, q the upper; p &gt; q gives q (a NaN x stays NaN).</summary>
    Clamp = 6,
    /// <summary>x + p.</summary>
    AddScalar = 7,
    /// <summary>x · p.</summary>
    MulScalar = 8,
    /// <summary>x / p.</summary>
    DivScalar = 9,
    /// <summary>p − x (a scalar minus a tensor).</summary>
    RSub = 10,
    /// <summary>p / x (a scalar divided by a tensor).</summary>
    RDiv = 11,
    /// <summary>p^x (a scalar raised to a tensor); the gradient reads the output y.</summary>
    RPow = 12,
}

public partial interface IBackend
{
    /// <summary>y[i] = op(a[offset(a, i)], b[offset(b, i)]) over the output dims d (y contiguous, d.N elements).</summary>
    void Binary(BinaryOp op, Storage a, Storage b, Storage y, Dims6 d, Strides6 sa, Strides6 sb);

    /// <summary>g[i] (+)= dy[i]·∂op/∂(input <paramref name="which"/>: 0 = a, 1 = b) at (a[offset(a, i)], b[offset(b, i)], y[i]),
    /// over the output dims (g, y and dy contiguous). accumulate: add into g (the input's gradient when it is not broadcast),
    /// else overwrite (a temporary that SumToShape then reduces).</summary>
    void BinaryGrad(BinaryOp op, int which, Storage a, Storage b, Storage y, Storage dy, Storage g, Dims6 d, Strides6 sa, Strides6 sb, bool accumulate);

    /// <summary>y[i] = f(x[i]) over n contiguous elements, with the op's scalars p, q.</summary>
    void Unary(UnaryOp op, float p, float q, Storage x, Storage y, int n);

    /// <summary>dx[i] += dy[i]·f'(x[i]) (ACCUMULATES); y is the forward output (Exp, Sqrt and RPow read it).</summary>
    void UnaryBackward(UnaryOp op, float p, float q, Storage x, Storage y, Storage dy, Storage dx, int n);

    /// <summary>y[i] = c[offset(c, i)] ≠ 0 ? a[offset(a, i)] : b[offset(b, i)] over the output dims (y contiguous).</summary>
    void Where(Storage c, Storage a, Storage b, Storage y, Dims6 d, Strides6 sc, Strides6 sa, Strides6 sb);

    /// <summary>y[j] += alpha·Σ_r x[offset over kept coords of j + offset over reduced coords r] (ACCUMULATES): the sum of a
    /// gradient over the dimensions its input was broadcast along. y is contiguous over the kept dims (r.Kept.N elements).</summary>
    void SumToShape(Storage x, Storage y, ReducePlan r, float alpha);
}

/// <summary>
/// Up to <see cref="MaxRank"/> sizes, innermost last, and their product N: the index space of a strided loop, passed by value to
/// the GPU kernels (a struct of ints: a kernel indexes it through <see cref="Size"/>, a switch, since ILGPU keeps a local array in
/// registers only with constant indices).
/// </summary>
public struct Dims6
{
    /// <summary>The most dimensions a strided kernel takes (after merging).</summary>
    public const int MaxRank = 6;

    /// <summary>Number of dimensions in use, 0 to <see cref="MaxRank"/>; sizes past it are ignored.</summary>
    public int Rank;
    /// <summary>Element count: the product of the first Rank sizes (1 for rank 0).</summary>
    public int N;
    /// <summary>Size of dimension 0, the outermost.</summary>
    public int S0;
    /// <summary>Size of dimension 1.</summary>
    public int S1;
    /// <summary>Size of dimension 2.</summary>
    public int S2;
    /// <summary>Size of dimension 3.</summary>
    public int S3;
    /// <summary>Size of dimension 4.</summary>
    public int S4;
    /// <summary>Size of dimension 5.</summary>
    public int S5;

    /// <summary>The size of dimension <paramref name="k"/> (0 ≤ k &lt; <see cref="MaxRank"/>; any k ≥ 5 reads S5). A switch
    /// rather than an array, so that a GPU kernel keeps the struct in registers.</summary>
    public readonly int Size(int k) => k switch { 0 => S0, 1 => S1, 2 => S2, 3 => S3, 4 => S4, _ => S5 };

    /// <summary>Sets the size of dimension <paramref name="k"/> to <paramref name="v"/> without updating <see cref="N"/>
    /// (any k ≥ 5 sets S5).</summary>
    public void SetSize(int k, int v)
    {
        switch (k) { case 0: S0 = v; break; case 1: S1 = v; break; case 2: S2 = v; break; case 3: S3 = v; break; case 4: S4 = v; break; default: S5 = v; break; }
    }

    /// <summary>The dims of these sizes (at most MaxRank; a rank-0 shape is one element).</summary>
    public static Dims6 Of(ReadOnlySpan<int> sizes)
    {
        if (sizes.Length > MaxRank) throw new ArgumentException($"strided kernels take at most {MaxRank} dimensions after merging, got {sizes.Length}");
        var d = new Dims6 { Rank = sizes.Length, N = 1 };
        for (int k = 0; k < sizes.Length; k++) { d.SetSize(k, sizes[k]); d.N *= sizes[k]; }
        return d;
    }

    /// <summary>The first <see cref="Rank"/> sizes, outermost first.</summary>
    public readonly int[] ToArray()
    {
        var a = new int[Rank];
        for (int k = 0; k < Rank; k++) a[k] = Size(k);
        return a;
    }

    /// <summary>The sizes as a shape, e.g. "[4, 3, 5]" ("[]" for rank 0).</summary>
    public override readonly string ToString() => "[" + string.Join(", ", ToArray()) + "]";
}

/// <summary>An operand's element offset and its strides over a <see cref="Dims6"/> (0 on a broadcast dimension).</summary>
public struct Strides6
{
    /// <summary>Element offset of coordinate (0, ..., 0) in the operand's storage.</summary>
    public int Offset;
    /// <summary>Elements between neighbours along dimension 0 (0 where the operand is broadcast).</summary>
    public int T0;
    /// <summary>Stride of dimension 1, in elements.</summary>
    public int T1;
    /// <summary>Stride of dimension 2, in elements.</summary>
    public int T2;
    /// <summary>Stride of dimension 3, in elements.</summary>
    public int T3;
    /// <summary>Stride of dimension 4, in elements.</summary>
    public int T4;
    /// <summary>Stride of dimension 5, in elements.</summary>
    public int T5;

    /// <summary>The stride of dimension <paramref name="k"/> (0 ≤ k &lt; <see cref="Dims6.MaxRank"/>; any k ≥ 5 reads T5).</summary>
    public readonly int Stride(int k) => k switch { 0 => T0, 1 => T1, 2 => T2, 3 => T3, 4 => T4, _ => T5 };

    /// <summary>Sets the stride of dimension <paramref name="k"/> to <paramref name="v"/> (any k ≥ 5 sets T5).</summary>
    public void SetStride(int k, int v)
    {
        switch (k) { case 0: T0 = v; break; case 1: T1 = v; break; case 2: T2 = v; break; case 3: T3 = v; break; case 4: T4 = v; break; default: T5 = v; break; }
    }

    /// <summary>The strides given (dimension k's at position k; the rest 0) and the base offset <paramref name="offset"/>.
    /// More than <see cref="Dims6.MaxRank"/> strides is not checked: extra ones overwrite T5.</summary>
    public static Strides6 Of(ReadOnlySpan<int> strides, int offset = 0)
    {
        var s = new Strides6 { Offset = offset };
        for (int k = 0; k < strides.Length; k++) s.SetStride(k, strides[k]);
        return s;
    }

    /// <summary>The strides of the first <paramref name="rank"/> dimensions (the offset is not included).</summary>
    public readonly int[] ToArray(int rank)
    {
        var a = new int[rank];
        for (int k = 0; k < rank; k++) a[k] = Stride(k);
        return a;
    }
}

/// <summary>
/// A SumToShape: the output's (kept) dims with the input's strides along them, and the reduced dims with the input's strides.
/// <see cref="Outer"/>, <see cref="Dim"/>, <see cref="Inner"/> are set when the input is the contiguous [outer, dim, inner] view
/// (one reduced block between kept ones), the layout the reduce family's Sum kernel runs; Dim = 0 otherwise.
/// </summary>
/// <param name="Kept">The output's dims (merged): one output element per kept coordinate, contiguous.</param>
/// <param name="KeptStrides">The input's strides along the kept dims; the offset is 0.</param>
/// <param name="Reduced">The dims summed over (merged); N = 1 when nothing is reduced.</param>
/// <param name="ReducedStrides">The input's strides along the reduced dims.</param>
/// <param name="Outer">Product of the kept sizes before the reduced block (or of all sizes when nothing is reduced).</param>
/// <param name="Dim">Size of the one reduced block, 1 when nothing is reduced, 0 when the layout is not [outer, dim, inner].</param>
/// <param name="Inner">Product of the kept sizes after the reduced block.</param>
public readonly record struct ReducePlan(Dims6 Kept, Strides6 KeptStrides, Dims6 Reduced, Strides6 ReducedStrides, int Outer, int Dim, int Inner)
{
    /// <summary>Whether the input is a contiguous [Outer, Dim, Inner] block reduced along Dim.</summary>
    public bool IsOuterDimInner => Dim > 0;
}

/// <summary>Shape arithmetic of the strided kernels: broadcast shapes, contiguous and broadcast strides, and the merging of
/// dimensions (see Broadcast.cs).</summary>
public static class StridedLayout
{
    /// <summary>Row-major strides of a shape.</summary>
    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var t = new int[shape.Length];
        int s = 1;
        for (int k = shape.Length - 1; k >= 0; k--) { t[k] = s; s *= shape[k]; }
        return t;
    }

    /// <summary>The broadcast shape of the operands (NumPy's rule), or null when two sizes differ and neither is 1.</summary>
    public static int[]? BroadcastShape(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        var r = new int[rank];
        for (int k = 0; k < rank; k++)
        {
            int size = 1;
            foreach (var s in shapes)
            {
                int j = k - (rank - s.Length);
                if (j < 0) continue;
                int v = s[j];
                if (v == size || v == 1) continue;
                if (size == 1) size = v;
                else return null;
            }
            r[k] = size;
        }
        return r;
    }

    /// <summary>The strides of an operand of shape <paramref name="shape"/> read over the output shape <paramref name="output"/>
    /// (aligned at the last dimension): its contiguous stride where the sizes match, 0 where it is broadcast or missing.</summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> output)
    {
        var own = ContiguousStrides(shape);
        var t = new int[output.Length];
        for (int k = 0; k < output.Length; k++)
        {
            int j = k - (output.Length - shape.Length);
            t[k] = j < 0 || (shape[j] == 1 && output[k] != 1) ? 0 : own[j];
        }
        return t;
    }

    /// <summary>
    /// Merges the dimensions of a strided loop over <paramref name="sizes"/> with one stride list per operand: drops size-1
    /// dimensions and merges dimension k into k + 1 when every operand has stride[k] = stride[k+1]·size[k+1]. Returns the
    /// dims and each operand's strides (offsets as given). ArgumentException if more than Dims6.MaxRank dimensions remain.
    /// </summary>
    public static (Dims6 Dims, Strides6[] Strides) Coalesce(string op, ReadOnlySpan<int> sizes, int[][] strides, int[]? offsets = null)
    {
        var s = new List<int>();
        var t = strides.Select(_ => new List<int>()).ToArray();
        for (int k = 0; k < sizes.Length; k++)
        {
            if (sizes[k] == 1) continue;
            int last = s.Count - 1;
            bool merge = last >= 0;
            for (int o = 0; o < strides.Length && merge; o++)
                merge = t[o][last] == (long)strides[o][k] * sizes[k];
            if (merge)
            {
                s[last] *= sizes[k];
                for (int o = 0; o < strides.Length; o++) t[o][last] = strides[o][k];
            }
            else
            {
                s.Add(sizes[k]);
                for (int o = 0; o < strides.Length; o++) t[o].Add(strides[o][k]);
            }
        }
        if (s.Count > Dims6.MaxRank)
            throw new ArgumentException($"{op}: this layout keeps {s.Count} dimensions after merging (sizes [{string.Join(", ", sizes.ToArray())}]); the strided kernels take at most {Dims6.MaxRank}");
        var dims = Dims6.Of(s.ToArray());
        var result = new Strides6[strides.Length];
        for (int o = 0; o < strides.Length; o++) result[o] = Strides6.Of(t[o].ToArray(), offsets?[o] ?? 0);
        return (dims, result);
    }

    /// <summary>A broadcast loop: the output shape and each operand's shape → merged dims and strides.</summary>
    public static (Dims6 Dims, Strides6[] Strides) Broadcast(string op, int[] output, params int[][] operands) =>
        Coalesce(op, output, operands.Select(s => BroadcastStrides(s, output)).ToArray());

    /// <summary>
    /// The plan of a SumToShape from a contiguous tensor of shape <paramref name="from"/> to <paramref name="to"/> (which broadcasts
    /// to <paramref name="from"/>): kept dims are those where the sizes match, reduced those where <paramref name="to"/> has 1 or
    /// lacks the dimension; each group merged on its own.
    /// </summary>
    public static ReducePlan SumToShape(string op, int[] from, int[] to)
    {
        var strides = ContiguousStrides(from);
        var kept = new List<int>(); var keptT = new List<int>();
        var red = new List<int>(); var redT = new List<int>();
        // Runs of kept / reduced dims in order, for the [outer, dim, inner] test.
        var kinds = new List<(bool Reduced, int Size)>();
        for (int k = 0; k < from.Length; k++)
        {
            int j = k - (from.Length - to.Length);
            bool reduced = j < 0 || (to[j] == 1 && from[k] != 1);
            if (from[k] == 1) continue;
            if (reduced) { red.Add(from[k]); redT.Add(strides[k]); }
            else { kept.Add(from[k]); keptT.Add(strides[k]); }
            if (kinds.Count > 0 && kinds[^1].Reduced == reduced) kinds[^1] = (reduced, kinds[^1].Size * from[k]);
            else kinds.Add((reduced, from[k]));
        }
        var (kd, ks) = Coalesce(op, kept.ToArray(), [keptT.ToArray()]);
        var (rd, rs) = Coalesce(op, red.ToArray(), [redT.ToArray()]);
        int outer = 1, dim = 0, inner = 1;
        int reducedRuns = kinds.Count(x => x.Reduced);
        if (reducedRuns <= 1)
        {
            int at = kinds.FindIndex(x => x.Reduced);
            if (at < 0) { dim = 1; outer = kinds.Aggregate(1, (p, x) => p * x.Size); }   // nothing reduced: y += α·x
            else
            {
                dim = kinds[at].Size;
                for (int i = 0; i < at; i++) outer *= kinds[i].Size;
                for (int i = at + 1; i < kinds.Count; i++) inner *= kinds[i].Size;
            }
        }
        return new ReducePlan(kd, ks[0], rd, rs[0], outer, dim, inner);
    }

    /// <summary>offset(i) of one operand: the element read for output index i (Broadcast.cs). Shared by the reference and the GPU kernels.</summary>
    public static int Offset(int i, Dims6 d, Strides6 s)
    {
        int off = s.Offset;
        for (int k = d.Rank - 1; k >= 0; k--)
        {
            int size = d.Size(k);
            int c = i % size;
            i /= size;
            off += c * s.Stride(k);
        }
        return off;
    }
}

/// <summary>The scalar formulas of the broadcast family (the table in Broadcast.cs), used by the CPU loops and the GPU kernels alike.</summary>
public static class BroadcastMath
{
    /// <summary>max(a, b) with NaN propagating from either side (as torch.maximum): a when a &gt; b or a is NaN, else b (so b's
    /// NaN too).</summary>
    public static float Maximum(float a, float b) => a > b || float.IsNaN(a) ? a : b;
    /// <summary>min(a, b) with NaN propagating from either side (as torch.minimum): a when a &lt; b or a is NaN, else b.</summary>
    public static float Minimum(float a, float b) => a < b || float.IsNaN(a) ? a : b;

    /// <summary>op(a, b) for the values of <see cref="BinaryOp"/>.</summary>
    public static float Binary(int op, float a, float b)
    {
        switch (op)
        {
            case 0: return a + b;
            case 1: return a - b;
            case 2: return a * b;
            case 3: return a / b;
            case 4: return MathF.Pow(a, b);
            case 5: return Maximum(a, b);
            case 6: return Minimum(a, b);
            case 7: return a == b ? 1f : 0f;
            case 8: return a != b ? 1f : 0f;
            case 9: return a < b ? 1f : 0f;
            case 10: return a <= b ? 1f : 0f;
            case 11: return a > b ? 1f : 0f;
            default: return a >= b ? 1f : 0f;
        }
    }

    /// <summary>dy·∂op/∂a (which = 0) or dy·∂op/∂b (which = 1) at (a, b) with y = op(a, b); 0 for the comparisons.</summary>
    public static float BinaryGrad(int op, int which, float a, float b, float y, float dy)
    {
        switch (op)
        {
            case 0: return dy;
            case 1: return which == 0 ? dy : -dy;
            case 2: return which == 0 ? dy * b : dy * a;
            case 3: return which == 0 ? dy / b : -dy * ((a / b) / b);
            case 4:
                if (which == 0) return b == 0f ? 0f : dy * (b * MathF.Pow(a, b - 1f));
                return a == 0f && b >= 0f ? 0f : dy * (y * MathF.Log(a));
            case 5:
                if (a == b) return dy * 0.5f;
                return (which == 0 ? a < b : a > b) ? 0f : dy;
            case 6:
                if (a == b) return dy * 0.5f;
                return (which == 0 ? a > b : a < b) ? 0f : dy;
            default: return 0f;
        }
    }

    /// <summary>f(x) for the values of <see cref="UnaryOp"/>, with the op's scalars p, q.</summary>
    public static float Unary(int op, float x, float p, float q)
    {
        switch (op)
        {
            case 0: return -x;
            case 1: return MathF.Exp(x);
            case 2: return MathF.Log(x);
            case 3: return MathF.Sqrt(x);
            case 4: return MathF.Abs(x);
            case 5: return MathF.Pow(x, p);
            case 6:
                {
                    float t = x < p ? p : x;
                    return t > q ? q : t;
                }
            case 7: return x + p;
            case 8: return x * p;
            case 9: return x / p;
            case 10: return p - x;
            case 11: return p / x;
            default: return MathF.Pow(p, x);
        }
    }

    /// <summary>dy·f'(x), given x, the forward output y and the upstream gradient dy.</summary>
    public static float UnaryGrad(int op, float x, float y, float dy, float p, float q)
    {
        switch (op)
        {
            case 0: return -dy;
            case 1: return dy * y;
            case 2: return dy / x;
            case 3: return dy / (2f * y);
            case 4: return dy * (x > 0f ? 1f : x < 0f ? -1f : x == 0f ? 0f : x);
            case 5: return p == 0f ? 0f : dy * (p * MathF.Pow(x, p - 1f));
            case 6: return x >= p && x <= q ? dy : 0f;
            case 7: return dy;
            case 8: return dy * p;
            case 9: return dy / p;
            case 10: return -dy;
            case 11: return -dy * ((p / x) / x);
            default: return p == 0f && x >= 0f ? 0f : dy * (y * MathF.Log(p));
        }
    }
}
