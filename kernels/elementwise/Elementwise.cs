namespace ScratchNet.Kernels;

// Element-wise ops over n contiguous floats: y[i] = f(a[i], b[i]).
// CPU version: Elementwise.Cpu.cs. ILGPU version: Elementwise.Ilgpu.cs.
public partial interface IBackend
{
    /// <summary>y[i] = value</summary>
    void Fill(Storage y, float value, int n);
    /// <summary>y[i] = x[i] (device to device)</summary>
    void Copy(Storage x, Storage y, int n);
    /// <summary>y[i] = a[i] + b[i]</summary>
    void Add(Storage a, Storage b, Storage y, int n);
    /// <summary>y[i] = a[i] * b[i]</summary>
    void Mul(Storage a, Storage b, Storage y, int n);
    /// <summary>y[i] = alpha * x[i]</summary>
    void Scale(Storage x, float alpha, Storage y, int n);
    /// <summary>y[i] += alpha * x[i]   (gradient accumulation: BLAS axpy)</summary>
    void Axpy(float alpha, Storage x, Storage y, int n);
    /// <summary>y[i] += a[i] * b[i]    (backward of mul)</summary>
    void MulAcc(Storage a, Storage b, Storage y, int n);
    /// <summary>y[i] += alpha * s[0]   (backward of sum/mean: s is a 1-element device tensor, read on the device)</summary>
    void AddBroadcastScalar(Storage s, float alpha, Storage y, int n);
}
