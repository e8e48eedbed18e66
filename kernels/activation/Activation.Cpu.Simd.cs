namespace ScratchNet.Kernels;

// Activations, vectorised (CpuSimd.cs). ReLU and Step are selections, so a compare and a lane select give
// exactly the scalar results of Activations (Activation.cs), NaN and −0 included:
//   Relu(x)        = x < 0 ? 0 : x          (NaN < 0 is false: NaN passes through; −0 stays −0)
//   Step(x)        = x > 0 ? 1 : 0
//   dx += ReluGrad = dx + (x > 0 ? dy : 0)  (a NaN or ∞ in dy where x ≤ 0 still adds 0)
//   LeakyRelu(x)   = x > 0 ? x : x·α        dx += (x > 0 ? dy : dy·α)   (the same multiply as the scalar code)
// Sigmoid, Tanh and the GELUs stay scalar (Reference): a vector exp would not round like MathF.Exp, and the cpu
// device is the oracle the GPU kernels are compared with; the networks here use ReLU.
/// <summary>The activations on the cpu device's vector paths (AVX-512, AVX2, Vector&lt;T&gt;). ReLU and Step are compare-and-select,
/// bit-identical to <see cref="Activations"/> (NaN and −0 included); Sigmoid and Tanh run the scalar reference loops.</summary>
public static class ActivationSimd
{
    struct ReluOp : IMapOp
    {
        public static bool ReadsB => false; public static bool ReadsY => false;
        public TV Vec<TV>(TV x, TV b, TV y) where TV : struct, ISimd<TV>
        {
            var zero = TV.Splat(0f);
            return TV.Select(TV.LessThan(x, zero), zero, x);
        }
        public float Scalar(float x, float b, float y) => Activations.Relu(x);
    }

    struct StepOp : IMapOp
    {
        public static bool ReadsB => false; public static bool ReadsY => false;
        public TV Vec<TV>(TV x, TV b, TV y) where TV : struct, ISimd<TV> => TV.Select(TV.GreaterThan(x, TV.Splat(0f)), TV.Splat(1f), TV.Splat(0f));
        public float Scalar(float x, float b, float y) => Activations.Step(x);
    }

    /// <summary>a = x, b = dy, y = dx.</summary>
    struct ReluGradOp : IMapOp
    {
        public static bool ReadsB => true; public static bool ReadsY => true;
        public TV Vec<TV>(TV x, TV dy, TV dx) where TV : struct, ISimd<TV> => dx + TV.Select(TV.GreaterThan(x, TV.Splat(0f)), dy, TV.Splat(0f));
        public float Scalar(float x, float dy, float dx) => dx + Activations.ReluGrad(x, dy);
    }

    struct LeakyOp : IMapOp
    {
        public float Slope;
        public static bool ReadsB => false; public static bool ReadsY => false;
        public TV Vec<TV>(TV x, TV b, TV y) where TV : struct, ISimd<TV> => TV.Select(TV.GreaterThan(x, TV.Splat(0f)), x, x * TV.Splat(Slope));
        public float Scalar(float x, float b, float y) => Activations.LeakyRelu(x, Slope);
    }

    /// <summary>a = x, b = dy, y = dx.</summary>
    struct LeakyGradOp : IMapOp
    {
        public float Slope;
        public static bool ReadsB => true; public static bool ReadsY => true;
        public TV Vec<TV>(TV x, TV dy, TV dx) where TV : struct, ISimd<TV> => dx + TV.Select(TV.GreaterThan(x, TV.Splat(0f)), dy, dy * TV.Splat(Slope));
        public float Scalar(float x, float dy, float dx) => dx + Activations.LeakyReluGrad(x, dy, Slope);
    }

    /// <summary>y[i] = f(x[i]) on the given path (Sigmoid, Tanh and the GELUs: always the scalar reference).</summary>
    public static void Forward(KernelPath path, ActivationKind kind, float[] x, float[] y, int n, float alpha = 0f)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (kind is ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.Gelu or ActivationKind.GeluTanh)
            Reference.ActivationForward(kind, x, y, n, alpha);
        else if (kind == ActivationKind.LeakyRelu) CpuMap.Run(path, n, x, null, y, new LeakyOp { Slope = alpha });
        else if (kind == ActivationKind.Relu) CpuMap.Run(path, n, x, null, y, new ReluOp());
        else if (kind == ActivationKind.Step) CpuMap.Run(path, n, x, null, y, new StepOp());
        else throw new ArgumentException($"activation: unknown kind {kind}");
    }

    /// <summary>dx[i] += dy[i] · f'(x[i]) on the given path (Sigmoid, Tanh and the GELUs: always the scalar reference).</summary>
    public static void Backward(KernelPath path, ActivationKind kind, float[] x, float[] y, float[] dy, float[] dx, int n, float alpha = 0f)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (kind is ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.Gelu or ActivationKind.GeluTanh)
            Reference.ActivationBackward(kind, x, y, dy, dx, n, alpha);
        else if (kind == ActivationKind.LeakyRelu) CpuMap.Run(path, n, x, dy, dx, new LeakyGradOp { Slope = alpha });
        else if (kind == ActivationKind.Relu) CpuMap.Run(path, n, x, dy, dx, new ReluGradOp());
        else if (kind == ActivationKind.Step) { }   // f' = 0: nothing to add
        else throw new ArgumentException($"activation: unknown kind {kind}");
    }
}
