namespace ScratchNet.Kernels;

// Element-wise ops on the cpu device. Reference holds the plain loops (each split into chunks of 16K
// elements that run in parallel): the definition and the oracle. Elementwise.Cpu.Simd.cs gives the same bits; the cpu device runs these with --kernels reference, and the tests compare every version with them.
public static partial class Reference
{
    public static void Add(float[] A, float[] B, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = A[i] + B[i]; });

    public static void Mul(float[] A, float[] B, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = A[i] * B[i]; });

    public static void Scale(float[] X, float alpha, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = alpha * X[i]; });

    public static void Axpy(float alpha, float[] X, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] += alpha * X[i]; });

    public static void MulAcc(float[] A, float[] B, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] += A[i] * B[i]; });

    /// <summary>y[i] += v (v = alpha · s[0], computed by the caller).</summary>
    public static void AddScalar(float v, float[] Y, int n) =>
        CpuBackend.ForChunks(n, (st, e) => { for (int i = st; i < e; i++) Y[i] += v; });
}
