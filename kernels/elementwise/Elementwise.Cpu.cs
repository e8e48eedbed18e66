namespace ScratchNet.Kernels;

// Element-wise ops on the cpu device. CpuReference holds the plain loops (each split into chunks of 16K
// elements that run in parallel): the definition and the oracle. CpuBackend runs the vectorised versions of
// Elementwise.Cpu.Simd.cs, which give the same bits, unless CpuSimd.ForcedPath is Reference.
public static partial class CpuReference
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

public sealed partial class CpuBackend
{
    public void Fill(Storage y, float value, int n) => F(y).AsSpan(0, n).Fill(value);

    public void Copy(Storage x, Storage y, int n) => F(x).AsSpan(0, n).CopyTo(F(y));

    public void Add(Storage a, Storage b, Storage y, int n) => ElementwiseSimd.Add(CpuSimd.Resolve(), F(a), F(b), F(y), n);
    public void Mul(Storage a, Storage b, Storage y, int n) => ElementwiseSimd.Mul(CpuSimd.Resolve(), F(a), F(b), F(y), n);
    public void Scale(Storage x, float alpha, Storage y, int n) => ElementwiseSimd.Scale(CpuSimd.Resolve(), F(x), alpha, F(y), n);
    public void Axpy(float alpha, Storage x, Storage y, int n) => ElementwiseSimd.Axpy(CpuSimd.Resolve(), alpha, F(x), F(y), n);
    public void MulAcc(Storage a, Storage b, Storage y, int n) => ElementwiseSimd.MulAcc(CpuSimd.Resolve(), F(a), F(b), F(y), n);
    public void AddBroadcastScalar(Storage s, float alpha, Storage y, int n) =>
        ElementwiseSimd.AddScalar(CpuSimd.Resolve(), alpha * F(s)[0], F(y), n);
}
