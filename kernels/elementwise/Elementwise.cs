namespace ScratchNet.Kernels;

// ── elementwise ── y[i] = f(a[i], b[i]): fill, copy, add, mul, scale, axpy, mul-acc, add a broadcast scalar
//   definition  Elementwise.Reference.cs   (the oracle of the tests, `scratchnet check` and gradcheck)
//   cpu         Elementwise.Cpu.cs: the reference loops with --kernels reference, else Elementwise.Cpu.Simd.cs
//               (avx512 | avx2 | vector: one generic source, the reference's bits)
//   gpu         Elementwise.Ilgpu.cs
//   tests       tests/ElementwiseTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/ElementwiseOp.cs: scratchnet check --op elementwise, scratchnet bench --op elementwise (GB/s)
//
// Element-wise ops over n contiguous floats: y[i] = f(a[i], b[i]).
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
