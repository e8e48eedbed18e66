using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// The shape family as ILGPU kernels: grid-stride loops. The strided copy computes both offsets of output index i
// (StridedLayout.Offset, Broadcast.cs); consecutive threads write consecutive y elements when y is contiguous. IndexSelect: one
// thread per y element; its adjoint one thread per (o, i) column adding the j in order (deterministic, no atomics).
public sealed partial class IlgpuBackend
{
    static void StridedCopyKernel(ArrayView<float> x, ArrayView<float> y, Dims6 d, Strides6 sx, Strides6 sy, int accumulate)
    {
        for (int i = Grid.GlobalIndex.X; i < d.N; i += Grid.DimX * Group.DimX)
        {
            int oy = StridedLayout.Offset(i, d, sy);
            float v = x[StridedLayout.Offset(i, d, sx)];
            y[oy] = accumulate != 0 ? y[oy] + v : v;
        }
    }

    static void IndexSelectKernel(ArrayView<float> x, ArrayView<int> index, ArrayView<float> y, int n, int dimIn, int count, int inner)
    {
        for (int e = Grid.GlobalIndex.X; e < n; e += Grid.DimX * Group.DimX)
        {
            int i = e % inner, row = e / inner, j = row % count, o = row / count, k = index[j];
            y[e] = k >= 0 && k < dimIn ? x[(o * dimIn + k) * inner + i] : float.NaN;
        }
    }

    static void IndexSelectGradKernel(ArrayView<int> index, ArrayView<float> dy, ArrayView<float> dx, int columns, int dimIn, int count, int inner)
    {
        for (int c = Grid.GlobalIndex.X; c < columns; c += Grid.DimX * Group.DimX)
        {
            int o = c / inner, i = c % inner;
            for (int j = 0; j < count; j++)
            {
                int k = index[j];
                if (k >= 0 && k < dimIn) dx[(o * dimIn + k) * inner + i] += dy[(o * count + j) * inner + i];
            }
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, int>? _stridedCopy;
    Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>? _indexSelect;
    Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _indexSelectGrad;

    /// <inheritdoc />
    public void StridedCopy(Storage x, Storage y, Dims6 d, Strides6 sx, Strides6 sy, bool accumulate)
    {
        if (d.N == 0) return;
        (_stridedCopy ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, Dims6, Strides6, Strides6, int>(StridedCopyKernel))(
            Grid1D(d.N), F(x), F(y), d, sx, sy, accumulate ? 1 : 0);
    }

    /// <inheritdoc />
    public void IndexSelect(Storage x, Storage index, Storage y, int outer, int dimIn, int count, int inner)
    {
        int n = outer * count * inner;
        if (n == 0) return;
        (_indexSelect ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(IndexSelectKernel))(
            Grid1D(n), F(x), I(index), F(y), n, dimIn, count, inner);
    }

    /// <inheritdoc />
    public void IndexSelectBackward(Storage index, Storage dy, Storage dx, int outer, int dimIn, int count, int inner)
    {
        int columns = outer * inner;
        if (columns == 0 || count == 0) return;
        (_indexSelectGrad ??= Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int, int>(IndexSelectGradKernel))(
            Grid1D(columns), I(index), F(dy), F(dx), columns, dimIn, count, inner);
    }
}
