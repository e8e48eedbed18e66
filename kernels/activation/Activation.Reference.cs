namespace ScratchNet.Kernels;

// Activations on the cpu device. Reference holds the plain loops: chunks of 16K elements in parallel; the
// kind is chosen once, outside the loop, so each loop body is a single formula from Activations (Activation.cs).
// The cpu device runs them with --kernels reference; the tests, `scratchnet check` and the gradient checks compare every other version with them.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.ActivationForward"/>: Y[i] = f(X[i]) for i &lt; n, with f from
    /// <see cref="Activations"/> (alpha: LeakyRelu's slope), in parallel chunks of 16K elements. An unknown kind is an ArgumentException.</summary>
    public static void ActivationForward(ActivationKind kind, float[] X, float[] Y, int n, float alpha = 0f)
    {
        Action<int, int> loop = kind switch
        {
            ActivationKind.Relu => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.Relu(X[i]); },
            ActivationKind.Sigmoid => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.Sigmoid(X[i]); },
            ActivationKind.Tanh => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.Tanh(X[i]); },
            ActivationKind.Step => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.Step(X[i]); },
            ActivationKind.LeakyRelu => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.LeakyRelu(X[i], alpha); },
            ActivationKind.Gelu => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.Gelu(X[i]); },
            ActivationKind.GeluTanh => (s, e) => { for (int i = s; i < e; i++) Y[i] = Activations.GeluTanh(X[i]); },
            _ => throw new ArgumentException($"activation: unknown kind {kind}"),
        };
        CpuBackend.ForChunks(n, loop);
    }

    /// <summary>The definition of <see cref="IBackend.ActivationBackward"/>: DX[i] += DY[i] · f'(X[i]) for i &lt; n (accumulates).
    /// ReLU, LeakyReLU and the GELUs read X, Sigmoid and Tanh the forward output Y; Step adds nothing (f' = 0).</summary>
    public static void ActivationBackward(ActivationKind kind, float[] X, float[] Y, float[] DY, float[] DX, int n, float alpha = 0f)
    {
        Action<int, int> loop = kind switch
        {
            ActivationKind.Relu => (s, e) => { for (int i = s; i < e; i++) DX[i] += Activations.ReluGrad(X[i], DY[i]); },
            ActivationKind.Sigmoid => (s, e) => { for (int i = s; i < e; i++) DX[i] += Activations.SigmoidGrad(Y[i], DY[i]); },
            ActivationKind.Tanh => (s, e) => { for (int i = s; i < e; i++) DX[i] += Activations.TanhGrad(Y[i], DY[i]); },
            ActivationKind.Step => (_, _) => { },  // f' = 0: nothing to add
            ActivationKind.LeakyRelu => (s, e) => { for (int i = s; i < e; i++) DX[i] += Activations.LeakyReluGrad(X[i], DY[i], alpha); },
            ActivationKind.Gelu => (s, e) => { for (int i = s; i < e; i++) DX[i] += Activations.GeluGrad(X[i], DY[i]); },
            ActivationKind.GeluTanh => (s, e) => { for (int i = s; i < e; i++) DX[i] += Activations.GeluTanhGrad(X[i], DY[i]); },
            _ => throw new ArgumentException($"activation: unknown kind {kind}"),
        };
        CpuBackend.ForChunks(n, loop);
    }
}
