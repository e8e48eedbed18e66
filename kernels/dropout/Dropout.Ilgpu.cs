using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Dropout as an ILGPU kernel: a grid-stride loop, thread t handling i = t, t + T, ... Because the random
// number of element i is the hash of (key, i) (see Dropout.cs), a thread needs no generator state and the
// mask does not depend on the launch shape: it is the same as the CPU's, bit for bit.
public sealed partial class IlgpuBackend
{
    static void DropoutForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, float scale, ulong key)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            float m = DropoutRng.MaskValue(key, i, p, scale);
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, ulong>? _dropoutForward;

    /// <inheritdoc />
    public void DropoutForward(Storage x, Storage y, Storage mask, int n, float p, ulong seed, long step)
    {
        if (n == 0) return;
        (_dropoutForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, ulong>(DropoutForwardKernel))(
            Grid1D(n), F(x), F(y), F(mask), n, p, DropoutRng.Scale(p), DropoutRng.Key(seed, step));
    }
}
