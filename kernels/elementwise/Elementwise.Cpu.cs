namespace ScratchNet.Kernels;

// Element-wise ops, plain C#. Each loop is split into chunks of 16K elements that run in parallel.
public sealed partial class CpuBackend
{
    public void Fill(Storage y, float value, int n) => F(y).AsSpan(0, n).Fill(value);

    public void Copy(Storage x, Storage y, int n) => F(x).AsSpan(0, n).CopyTo(F(y));

    public void Add(Storage a, Storage b, Storage y, int n)
    {
        float[] A = F(a), B = F(b), Y = F(y);
        ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = A[i] + B[i]; });
    }

    public void Mul(Storage a, Storage b, Storage y, int n)
    {
        float[] A = F(a), B = F(b), Y = F(y);
        ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = A[i] * B[i]; });
    }

    public void Scale(Storage x, float alpha, Storage y, int n)
    {
        float[] X = F(x), Y = F(y);
        ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] = alpha * X[i]; });
    }

    public void Axpy(float alpha, Storage x, Storage y, int n)
    {
        float[] X = F(x), Y = F(y);
        ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] += alpha * X[i]; });
    }

    public void MulAcc(Storage a, Storage b, Storage y, int n)
    {
        float[] A = F(a), B = F(b), Y = F(y);
        ForChunks(n, (s, e) => { for (int i = s; i < e; i++) Y[i] += A[i] * B[i]; });
    }

    public void AddBroadcastScalar(Storage s, float alpha, Storage y, int n)
    {
        float v = alpha * F(s)[0];
        float[] Y = F(y);
        ForChunks(n, (st, e) => { for (int i = st; i < e; i++) Y[i] += v; });
    }
}
