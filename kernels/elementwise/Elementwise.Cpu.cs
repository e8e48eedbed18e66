namespace ScratchNet.Kernels;

// The elementwise kernels of the cpu device: the plain loops of Elementwise.Reference.cs when its options say Reference,
// else the vector code of Elementwise.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Fill(Storage y, float value, int n) => F(y).AsSpan(0, n).Fill(value);

    /// <inheritdoc />
    public void Copy(Storage x, Storage y, int n) => F(x).AsSpan(0, n).CopyTo(F(y));

    /// <inheritdoc />
    public void Add(Storage a, Storage b, Storage y, int n) { if (IsReference) Reference.Add(F(a), F(b), F(y), n); else ElementwiseSimd.Add(Path, F(a), F(b), F(y), n); }
    /// <inheritdoc />
    public void Mul(Storage a, Storage b, Storage y, int n) { if (IsReference) Reference.Mul(F(a), F(b), F(y), n); else ElementwiseSimd.Mul(Path, F(a), F(b), F(y), n); }
    /// <inheritdoc />
    public void Scale(Storage x, float alpha, Storage y, int n) { if (IsReference) Reference.Scale(F(x), alpha, F(y), n); else ElementwiseSimd.Scale(Path, F(x), alpha, F(y), n); }
    /// <inheritdoc />
    public void Axpy(float alpha, Storage x, Storage y, int n) { if (IsReference) Reference.Axpy(alpha, F(x), F(y), n); else ElementwiseSimd.Axpy(Path, alpha, F(x), F(y), n); }
    /// <inheritdoc />
    public void MulAcc(Storage a, Storage b, Storage y, int n) { if (IsReference) Reference.MulAcc(F(a), F(b), F(y), n); else ElementwiseSimd.MulAcc(Path, F(a), F(b), F(y), n); }
    /// <inheritdoc />
    public void AddBroadcastScalar(Storage s, float alpha, Storage y, int n)
        { if (IsReference) Reference.AddScalar(alpha * F(s)[0], F(y), n); else ElementwiseSimd.AddScalar(Path, alpha * F(s)[0], F(y), n); }
}
