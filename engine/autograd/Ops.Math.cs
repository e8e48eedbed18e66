using ScratchNet.Kernels;

namespace ScratchNet;

// PyTorch's element-wise tensor math with NumPy broadcasting. Forward first, backward right below; every backward ACCUMULATES.
// Kernels: kernels/broadcast/ (Broadcast.cs: the broadcast rule, the strides, the formulas and their gradients at the kinks).
//
// The backward of a broadcast input sums the gradient over the dimensions it was broadcast along (SumToShape): for y = a + b
// with a [3, 1, 5] and b [4, 1], y is [3, 4, 5], da = Σ over dim 1 of dy (kept as [3, 1, 5]) and db = Σ over dims 0 and 2.
// Same-shape add and mul keep their kernels of kernels/elementwise/ (Ops.Basic.cs); every other case runs here.
public static partial class F
{
    // ---------------------------------------------------------------- binary, tensor ⊕ tensor

    /// <summary>y = a − b with broadcasting.  da += Σ dy,  db −= Σ dy (each summed to its input's shape).</summary>
    public static Tensor Sub(Tensor a, Tensor b) => BroadcastBinary("sub", BinaryOp.Sub, a, b);

    /// <summary>y = a / b with broadcasting.  da += Σ dy / b,  db += Σ −dy·(a / b) / b.</summary>
    public static Tensor Div(Tensor a, Tensor b) => BroadcastBinary("div", BinaryOp.Div, a, b);

    /// <summary>y = a^b with broadcasting (torch.pow).  da += Σ dy·b·a^(b−1) (0 where b = 0),  db += Σ dy·y·ln a (0 where a = 0 and b ≥ 0).</summary>
    public static Tensor Pow(Tensor a, Tensor b) => BroadcastBinary("pow", BinaryOp.Pow, a, b);

    /// <summary>Element-wise maximum with broadcasting (NaN propagates). The gradient goes to the larger input; at a tie each gets half (torch).</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => BroadcastBinary("maximum", BinaryOp.Maximum, a, b);

    /// <summary>Element-wise minimum with broadcasting (NaN propagates). The gradient goes to the smaller input; at a tie each gets half (torch).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => BroadcastBinary("minimum", BinaryOp.Minimum, a, b);

    /// <summary>1 where a = b, else 0: a Float32 mask (no gradient), for <see cref="Where"/>.</summary>
    public static Tensor Eq(Tensor a, Tensor b) => BroadcastBinary("eq", BinaryOp.Eq, a, b);
    /// <summary>1 where a ≠ b (and where either is NaN), else 0.</summary>
    public static Tensor Ne(Tensor a, Tensor b) => BroadcastBinary("ne", BinaryOp.Ne, a, b);
    /// <summary>1 where a &lt; b, else 0.</summary>
    public static Tensor Lt(Tensor a, Tensor b) => BroadcastBinary("lt", BinaryOp.Lt, a, b);
    /// <summary>1 where a ≤ b, else 0.</summary>
    public static Tensor Le(Tensor a, Tensor b) => BroadcastBinary("le", BinaryOp.Le, a, b);
    /// <summary>1 where a &gt; b, else 0.</summary>
    public static Tensor Gt(Tensor a, Tensor b) => BroadcastBinary("gt", BinaryOp.Gt, a, b);
    /// <summary>1 where a ≥ b, else 0.</summary>
    public static Tensor Ge(Tensor a, Tensor b) => BroadcastBinary("ge", BinaryOp.Ge, a, b);

    /// <summary>y = op(a, b) over the broadcast shape. Backward: per input, dy·∂op/∂input summed to the input's shape.</summary>
    internal static Tensor BroadcastBinary(string name, BinaryOp op, Tensor a, Tensor b)
    {
        Check.SameDevice(name, a, b); Check.Float(name, a); Check.Float(name, b);
        var shape = Check.Broadcast(name, a, b);
        var y = Tensor.Empty(shape, a.Device);
        var (d, s) = StridedLayout.Broadcast(name, shape, a.Shape, b.Shape);
        a.Backend.Binary(op, a.Storage, b.Storage, y.Storage, d, s[0], s[1]);
        if (op >= BinaryOp.Eq) return y;   // a comparison: a mask, no gradient
        return y.SetBackward(name, [a, b], () =>
        {
            if (a.RequiresGrad) BinaryBackward(name, op, 0, a, b, y, d, s);
            if (b.RequiresGrad) BinaryBackward(name, op, 1, a, b, y, d, s);
        });
    }

    /// <summary>input (a when which = 0, else b).grad += Σ_broadcast dy·∂op/∂input.</summary>
    static void BinaryBackward(string name, BinaryOp op, int which, Tensor a, Tensor b, Tensor y, Dims6 d, Strides6[] s)
    {
        var x = which == 0 ? a : b;
        var be = y.Backend;
        var dy = y.Grad!.Storage;
        float sign = op == BinaryOp.Sub && which == 1 ? -1f : 1f;
        if (x.Numel == y.Numel)   // not broadcast: x has y's layout
        {
            if (op is BinaryOp.Add or BinaryOp.Sub) be.Axpy(sign, dy, x.GradStorage(), x.Numel);
            else be.BinaryGrad(op, which, a.Storage, b.Storage, y.Storage, dy, x.GradStorage(), d, s[0], s[1], accumulate: true);
            return;
        }
        var plan = StridedLayout.SumToShape(name, y.Shape, x.Shape);
        if (op is BinaryOp.Add or BinaryOp.Sub) { be.SumToShape(dy, x.GradStorage(), plan, sign); return; }
        using var g = be.Allocate(y.Numel, DType.Float32);   // back to the pool at once: later users queue after these kernels
        be.BinaryGrad(op, which, a.Storage, b.Storage, y.Storage, dy, g, d, s[0], s[1], accumulate: false);
        be.SumToShape(g, x.GradStorage(), plan, 1f);
    }

    /// <summary>
    /// torch.where(cond, a, b): a where cond ≠ 0, else b, over the broadcast shape of the three. The condition is a Float32 mask
    /// (any value other than 0, NaN included, is true: what F.Gt and the other comparisons return; there is no Bool dtype);
    /// it gets no gradient.  da += Σ where(cond, dy, 0),  db += Σ where(cond, 0, dy).
    /// </summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        const string name = "where";
        Check.SameDevice(name, cond, a, b); Check.Float(name, cond); Check.Float(name, a); Check.Float(name, b);
        var shape = Check.Broadcast(name, cond, a, b);
        var y = Tensor.Empty(shape, a.Device);
        var (d, s) = StridedLayout.Broadcast(name, shape, cond.Shape, a.Shape, b.Shape);
        a.Backend.Where(cond.Storage, a.Storage, b.Storage, y.Storage, d, s[0], s[1], s[2]);
        return y.SetBackward(name, [a, b], () =>
        {
            var be = y.Backend;
            using var zero = be.Allocate(1, DType.Float32);
            be.Fill(zero, 0f, 1);
            // where(cond, dy, 0) and where(cond, 0, dy) over y's shape: dy contiguous, the zero broadcast everywhere.
            var (gd, gs) = StridedLayout.Broadcast(name, shape, cond.Shape, shape, []);
            foreach (var (x, first) in new[] { (a, true), (b, false) })
            {
                if (!x.RequiresGrad) continue;
                using var g = be.Allocate(y.Numel, DType.Float32);
                if (first) be.Where(cond.Storage, y.Grad!.Storage, zero, g, gd, gs[0], gs[1], gs[2]);
                else be.Where(cond.Storage, zero, y.Grad!.Storage, g, gd, gs[0], gs[2], gs[1]);
                if (x.Numel == y.Numel) be.Axpy(1f, g, x.GradStorage(), x.Numel);
                else be.SumToShape(g, x.GradStorage(), StridedLayout.SumToShape(name, shape, x.Shape), 1f);
            }
        });
    }

    // ---------------------------------------------------------------- tensor ⊕ scalar, and unary

    /// <summary>y = x + s.  dx += dy.</summary>
    public static Tensor Add(Tensor x, float s) => UnaryMath("add", UnaryOp.AddScalar, x, s);
    /// <summary>y = x − s.  dx += dy.</summary>
    public static Tensor Sub(Tensor x, float s) => UnaryMath("sub", UnaryOp.AddScalar, x, -s);
    /// <summary>y = s − x.  dx −= dy.</summary>
    public static Tensor Sub(float s, Tensor x) => UnaryMath("rsub", UnaryOp.RSub, x, s);
    /// <summary>y = x · s.  dx += s·dy.</summary>
    public static Tensor Mul(Tensor x, float s) => UnaryMath("mul", UnaryOp.MulScalar, x, s);
    /// <summary>y = x / s.  dx += dy / s.</summary>
    public static Tensor Div(Tensor x, float s) => UnaryMath("div", UnaryOp.DivScalar, x, s);
    /// <summary>y = s / x.  dx += −dy·(s / x) / x.</summary>
    public static Tensor Div(float s, Tensor x) => UnaryMath("rdiv", UnaryOp.RDiv, x, s);
    /// <summary>y = x^p (torch.pow(x, p)).  dx += dy·p·x^(p−1), 0 when p = 0.</summary>
    public static Tensor Pow(Tensor x, float p) => UnaryMath("pow", UnaryOp.Pow, x, p);
    /// <summary>y = s^x (torch.pow(s, x)).  dx += dy·y·ln s, 0 where s = 0 and x ≥ 0.</summary>
    public static Tensor Pow(float s, Tensor x) => UnaryMath("pow", UnaryOp.RPow, x, s);

    /// <summary>y = −x.  dx −= dy.</summary>
    public static Tensor Neg(Tensor x) => UnaryMath("neg", UnaryOp.Neg, x);
    /// <summary>y = e^x.  dx += dy·y.</summary>
    public static Tensor Exp(Tensor x) => UnaryMath("exp", UnaryOp.Exp, x);
    /// <summary>y = ln x.  dx += dy / x.</summary>
    public static Tensor Log(Tensor x) => UnaryMath("log", UnaryOp.Log, x);
    /// <summary>y = √x.  dx += dy / (2y) (∞ at 0, as torch).</summary>
    public static Tensor Sqrt(Tensor x) => UnaryMath("sqrt", UnaryOp.Sqrt, x);
    /// <summary>y = |x|.  dx += dy·sgn x (0 at x = 0, as torch).</summary>
    public static Tensor Abs(Tensor x) => UnaryMath("abs", UnaryOp.Abs, x);

    /// <summary>torch.clamp: y = min(max(x, min), max) (a missing bound does not clamp; min &gt; max gives max everywhere, NaN stays NaN).
    /// dx += dy where min ≤ x ≤ max (the bounds themselves pass the gradient, as torch), else 0.</summary>
    public static Tensor Clamp(Tensor x, float? min = null, float? max = null)
    {
        if (min is null && max is null) throw new ArgumentException($"clamp: at least one of min and max must be given (x {x.ShapeString})");
        return UnaryMath("clamp", UnaryOp.Clamp, x, min ?? float.NegativeInfinity, max ?? float.PositiveInfinity);
    }

    static Tensor UnaryMath(string name, UnaryOp op, Tensor x, float p = 0f, float q = 0f)
    {
        Check.SameDevice(name, x); Check.Float(name, x);
        var y = Tensor.Empty(x.Shape, x.Device);
        x.Backend.Unary(op, p, q, x.Storage, y.Storage, x.Numel);
        return y.SetBackward(name, [x], () =>
            x.Backend.UnaryBackward(op, p, q, x.Storage, y.Storage, y.Grad!.Storage, x.GradStorage(), x.Numel));
    }
}

public sealed partial class Tensor
{
    /// <summary>F.Div(a, b): element-wise quotient, broadcasting as torch.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => F.Div(a, b);
    /// <summary>F.Add(a, s): s added to every element.</summary>
    public static Tensor operator +(Tensor a, float s) => F.Add(a, s);
    /// <summary>F.Add(a, s): s added to every element.</summary>
    public static Tensor operator +(float s, Tensor a) => F.Add(a, s);
    /// <summary>F.Sub(a, s): s subtracted from every element.</summary>
    public static Tensor operator -(Tensor a, float s) => F.Sub(a, s);
    /// <summary>F.Sub(s, a): s − x for every element x.</summary>
    public static Tensor operator -(float s, Tensor a) => F.Sub(s, a);
    /// <summary>F.Div(a, s): every element divided by s.</summary>
    public static Tensor operator /(Tensor a, float s) => F.Div(a, s);
    /// <summary>F.Div(s, a): s / x for every element x.</summary>
    public static Tensor operator /(float s, Tensor a) => F.Div(s, a);
    /// <summary>F.Neg(a): −x for every element x.</summary>
    public static Tensor operator -(Tensor a) => F.Neg(a);

    /// <summary>F.Add(this, other), as torch.Tensor.add (broadcasting).</summary>
    public Tensor Add(Tensor other) => F.Add(this, other);
    /// <summary>F.Sub(this, other), as torch.Tensor.sub (broadcasting).</summary>
    public Tensor Sub(Tensor other) => F.Sub(this, other);
    /// <summary>F.Mul(this, other), as torch.Tensor.mul: element-wise, broadcasting.</summary>
    public Tensor Mul(Tensor other) => F.Mul(this, other);
    /// <summary>F.Div(this, other), as torch.Tensor.div (broadcasting).</summary>
    public Tensor Div(Tensor other) => F.Div(this, other);
    /// <summary>F.Pow(this, p), as torch.Tensor.pow: x^p element-wise.</summary>
    public Tensor Pow(float p) => F.Pow(this, p);
    /// <summary>F.Pow(this, p), as torch.Tensor.pow: x^p element-wise, broadcasting.</summary>
    public Tensor Pow(Tensor p) => F.Pow(this, p);
    /// <summary>F.Neg(this), as torch.Tensor.neg.</summary>
    public Tensor Neg() => F.Neg(this);
    /// <summary>F.Exp(this), as torch.Tensor.exp.</summary>
    public Tensor Exp() => F.Exp(this);
    /// <summary>F.Log(this), as torch.Tensor.log: the natural logarithm.</summary>
    public Tensor Log() => F.Log(this);
    /// <summary>F.Sqrt(this), as torch.Tensor.sqrt.</summary>
    public Tensor Sqrt() => F.Sqrt(this);
    /// <summary>F.Abs(this), as torch.Tensor.abs.</summary>
    public Tensor Abs() => F.Abs(this);
    /// <summary>F.Clamp(this, min, max), as torch.Tensor.clamp: min(max(x, min), max), a null bound not applied.</summary>
    public Tensor Clamp(float? min = null, float? max = null) => F.Clamp(this, min, max);
    /// <summary>F.Maximum(this, other), as torch.maximum: element-wise, broadcasting, NaN propagates.</summary>
    public Tensor Maximum(Tensor other) => F.Maximum(this, other);
    /// <summary>F.Minimum(this, other), as torch.minimum: element-wise, broadcasting, NaN propagates.</summary>
    public Tensor Minimum(Tensor other) => F.Minimum(this, other);
}
