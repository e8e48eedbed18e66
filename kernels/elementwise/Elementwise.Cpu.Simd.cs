namespace ScratchNet.Kernels;

// Element-wise ops, vectorised (CpuSimd.cs): each is one IMapOp formula, y[i] = f(a[i], b[i], y[i]), applied
// Count lanes at a time by CpuMap. Same operations in the same order as Reference (Elementwise.Reference.cs),
// no fused multiply-add, so every path gives the reference's bits. Each method takes the path explicitly
// so the tests can compare every path with Elementwise.Reference.cs.
/// <summary>The element-wise ops on the cpu device's vector paths: the same operations in the same order as the reference, no
/// fused multiply-add, so every path gives the reference's bits. Each method takes its path explicitly (Simd means this CPU's
/// best; Reference is an ArgumentException).</summary>
public static class ElementwiseSimd
{
    struct AddOp : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => false;
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV> => a + b;
        public float Scalar(float a, float b, float y) => a + b;
    }

    struct MulOp : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => false;
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV> => a * b;
        public float Scalar(float a, float b, float y) => a * b;
    }

    struct ScaleOp(float alpha) : IMapOp
    {
        public static bool ReadsB => false; public static bool ReadsY => false;
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV> => TV.Splat(alpha) * a;
        public float Scalar(float a, float b, float y) => alpha * a;
    }

    struct AxpyOp(float alpha) : IMapOp
    {
        public static bool ReadsB => false; public static bool ReadsY => true;
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV> => y + TV.Splat(alpha) * a;
        public float Scalar(float a, float b, float y) => y + alpha * a;
    }

    struct MulAccOp : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => true;
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV> => y + a * b;
        public float Scalar(float a, float b, float y) => y + a * b;
    }

    struct AddScalarOp(float v) : IMapOp
    {
        public static bool ReadsB => false; public static bool ReadsY => true;
        public TV Vec<TV>(TV a, TV b, TV y) where TV : struct, ISimd<TV> => y + TV.Splat(v);
        public float Scalar(float a, float b, float y) => y + v;
    }

    /// <summary>y[i] = a[i] + b[i] for i &lt; n.</summary>
    public static void Add(KernelPath path, float[] a, float[] b, float[] y, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CpuMap.Run(path, n, a, b, y, new AddOp());
    }

    /// <summary>y[i] = a[i] · b[i] for i &lt; n.</summary>
    public static void Mul(KernelPath path, float[] a, float[] b, float[] y, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CpuMap.Run(path, n, a, b, y, new MulOp());
    }

    /// <summary>y[i] = alpha · x[i] for i &lt; n.</summary>
    public static void Scale(KernelPath path, float[] x, float alpha, float[] y, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CpuMap.Run(path, n, x, null, y, new ScaleOp(alpha));
    }

    /// <summary>y[i] += alpha · x[i] for i &lt; n (accumulates).</summary>
    public static void Axpy(KernelPath path, float alpha, float[] x, float[] y, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CpuMap.Run(path, n, x, null, y, new AxpyOp(alpha));
    }

    /// <summary>y[i] += a[i] · b[i] for i &lt; n (accumulates; a product then a sum, not a fused multiply-add).</summary>
    public static void MulAcc(KernelPath path, float[] a, float[] b, float[] y, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CpuMap.Run(path, n, a, b, y, new MulAccOp());
    }

    /// <summary>y[i] += v.</summary>
    public static void AddScalar(KernelPath path, float v, float[] y, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        CpuMap.Run(path, n, y, null, y, new AddScalarOp(v));
    }
}
