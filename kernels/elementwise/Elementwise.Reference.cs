namespace ScratchNet.Kernels;

// Element-wise ops on the cpu device. Reference holds the plain loops (each split into chunks of 16K
// elements that run in parallel): the definition and the oracle. Elementwise.Cpu.Simd.cs gives the same bits; the cpu device runs these with --kernels reference, and the tests compare every version with them.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.Add"/>: Y[i] = A[i] + B[i] for i &lt; n, in parallel chunks of 16K elements.</summary>
    public static void Add(float[] A, float[] B, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = A[i] + B[i]; });

    /// <summary>The definition of <see cref="IBackend.Mul"/>: Y[i] = A[i] · B[i] for i &lt; n.</summary>
    public static void Mul(float[] A, float[] B, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = A[i] * B[i]; });

    /// <summary>The definition of <see cref="IBackend.Scale"/>: Y[i] = alpha · X[i] for i &lt; n.</summary>
    public static void Scale(float[] X, float alpha, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = alpha * X[i]; });

    /// <summary>The definition of <see cref="IBackend.Axpy"/>: Y[i] += alpha · X[i] for i &lt; n (accumulates).</summary>
    public static void Axpy(float alpha, float[] X, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] += alpha * X[i]; });

    /// <summary>The definition of <see cref="IBackend.MulAcc"/>: Y[i] += A[i] · B[i] for i &lt; n (accumulates).</summary>
    public static void MulAcc(float[] A, float[] B, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] += A[i] * B[i]; });

    /// <summary>y[i] += v (v = alpha · s[0], computed by the caller).</summary>
    public static void AddScalar(float v, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (st, e) => { for (int i = st; i < e; i++) Y[i] += v; });
}
