using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Element-wise ops as ILGPU kernels. Every kernel is a grid-stride loop: thread t of a grid of T
// threads handles i = t, t + T, t + 2T, ... so a fixed launch (Grid1D) covers any n, and consecutive
// threads touch consecutive addresses (coalesced loads).
public sealed partial class IlgpuBackend
{
    static void FillKernel(ArrayView<float> y, float v, int n)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = v;
    }

    static void CopyKernel(ArrayView<float> x, ArrayView<float> y, int n)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = x[i];
    }

    // op: 0 = add, 1 = mul, 2 = y += a*b. One kernel, a branch that is uniform across the grid.
    static void BinaryKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int n, int op)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            if (op == 0) y[i] = a[i] + b[i];
            else if (op == 1) y[i] = a[i] * b[i];
            else y[i] += a[i] * b[i];
        }
    }

    // accumulate = 0: y = alpha*x;  accumulate = 1: y += alpha*x
    static void ScaleKernel(ArrayView<float> x, float alpha, ArrayView<float> y, int n, int accumulate)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            y[i] = accumulate != 0 ? y[i] + alpha * x[i] : alpha * x[i];
    }

    static void AddBroadcastScalarKernel(ArrayView<float> s, float alpha, ArrayView<float> y, int n)
    {
        float v = alpha * s[0];
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] += v;
    }

    Action<KernelConfig, ArrayView<float>, float, int>? _fill;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int>? _copy;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _binary;
    Action<KernelConfig, ArrayView<float>, float, ArrayView<float>, int, int>? _scale;
    Action<KernelConfig, ArrayView<float>, float, ArrayView<float>, int>? _addScalar;

    /// <inheritdoc />
    public void Fill(Storage y, float value, int n)
    {
        if (n == 0) return;
        (_fill ??= Accelerator.LoadStreamKernel<ArrayView<float>, float, int>(FillKernel))(Grid1D(n), F(y), value, n);
    }

    /// <inheritdoc />
    public void Copy(Storage x, Storage y, int n)
    {
        if (n == 0) return;
        (_copy ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(CopyKernel))(Grid1D(n), F(x), F(y), n);
    }

    void Binary(Storage a, Storage b, Storage y, int n, int op)
    {
        if (n == 0) return;
        (_binary ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BinaryKernel))(
            Grid1D(n), F(a), F(b), F(y), n, op);
    }

    /// <inheritdoc />
    public void Add(Storage a, Storage b, Storage y, int n) => Binary(a, b, y, n, 0);
    /// <inheritdoc />
    public void Mul(Storage a, Storage b, Storage y, int n) => Binary(a, b, y, n, 1);
    /// <inheritdoc />
    public void MulAcc(Storage a, Storage b, Storage y, int n) => Binary(a, b, y, n, 2);

    void ScaleCore(Storage x, float alpha, Storage y, int n, int accumulate)
    {
        if (n == 0) return;
        (_scale ??= Accelerator.LoadStreamKernel<ArrayView<float>, float, ArrayView<float>, int, int>(ScaleKernel))(
            Grid1D(n), F(x), alpha, F(y), n, accumulate);
    }

    /// <inheritdoc />
    public void Scale(Storage x, float alpha, Storage y, int n) => ScaleCore(x, alpha, y, n, 0);
    /// <inheritdoc />
    public void Axpy(float alpha, Storage x, Storage y, int n) => ScaleCore(x, alpha, y, n, 1);

    /// <inheritdoc />
    public void AddBroadcastScalar(Storage s, float alpha, Storage y, int n)
    {
        if (n == 0) return;
        (_addScalar ??= Accelerator.LoadStreamKernel<ArrayView<float>, float, ArrayView<float>, int>(AddBroadcastScalarKernel))(
            Grid1D(n), F(s), alpha, F(y), n);
    }
}
