using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Bias add and its gradient as ILGPU kernels ([outer, channels, inner] layout: see Bias.cs).
//
// BiasAdd: a grid-stride loop over every element k of y; its channel is (k / inner) % channels.
//
// BiasBackward, two kernels, both deterministic (no atomics, a fixed summation order):
//   - inner > 1 (conv): one group per channel. Thread t of the group sums the elements t, t + G, t + 2G, ...
//     of the channel's outer·inner values (element m is (o, i) = (m / inner, m % inner): adjacent
//     threads read adjacent addresses within a run of `inner`), then the group folds its G partial
//     sums in shared memory in log2(G) halving steps, and thread 0 adds the total to dbias[c].
//   - inner = 1 (linear): dy is [outer, channels], so thread c sums column c down the rows; adjacent
//     threads read adjacent addresses of each row (coalesced), no shared memory needed.
public sealed partial class IlgpuBackend
{
    const int BiasGroup = 256;   // shared-memory size of the reduction; the group is the largest power of two ≤ GroupSize

    static void BiasAddKernel(ArrayView<float> y, ArrayView<float> bias, int channels, int inner, int n)
    {
        for (int k = Grid.GlobalIndex.X; k < n; k += Grid.DimX * Group.DimX)
            y[k] += bias[k / inner % channels];
    }

    static void BiasBackwardGroupKernel(ArrayView<float> dy, ArrayView<float> dbias, int outer, int channels, int inner)
    {
        var partial = SharedMemory.Allocate<float>(BiasGroup);
        int c = Grid.IdxX, t = Group.IdxX, g = Group.DimX;
        int m = outer * inner;
        float s = 0f;
        for (int e = t; e < m; e += g)
        {
            int o = e / inner, i = e - o * inner;
            s += dy[(o * channels + c) * inner + i];
        }
        partial[t] = s;
        Group.Barrier();
        for (int half = g / 2; half > 0; half /= 2)
        {
            if (t < half) partial[t] += partial[t + half];
            Group.Barrier();
        }
        if (t == 0) dbias[c] += partial[0];
    }

    static void BiasBackwardColumnsKernel(ArrayView<float> dy, ArrayView<float> dbias, int outer, int channels)
    {
        for (int c = Grid.GlobalIndex.X; c < channels; c += Grid.DimX * Group.DimX)
        {
            float s = 0f;
            for (int o = 0; o < outer; o++) s += dy[o * channels + c];
            dbias[c] += s;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _biasAdd, _biasBackwardGroup;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _biasBackwardColumns;

    /// <inheritdoc />
    public void BiasAdd(Storage y, Storage bias, int outer, int channels, int inner)
    {
        BiasChecks.Validate("bias_add", y, bias, outer, channels, inner);
        int n = outer * channels * inner;
        (_biasAdd ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(BiasAddKernel))(
            Grid1D(n), F(y), F(bias), channels, inner, n);
    }

    /// <inheritdoc />
    public void BiasBackward(Storage dy, Storage dbias, int outer, int channels, int inner)
    {
        BiasChecks.Validate("bias_backward", dy, dbias, outer, channels, inner);
        if (inner == 1)
        {
            (_biasBackwardColumns ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(BiasBackwardColumnsKernel))(
                Grid1D(channels), F(dy), F(dbias), outer, channels);
            return;
        }
        int group = 1;
        while (group * 2 <= Math.Min(BiasGroup, GroupSize)) group *= 2;
        (_biasBackwardGroup ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(BiasBackwardGroupKernel))(
            new KernelConfig(channels, group), F(dy), F(dbias), outer, channels, inner);
    }
}
