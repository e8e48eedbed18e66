using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Batch normalisation as ILGPU kernels (Norm.cs).
//
// Reductions (statistics, backward reduce): ONE GROUP PER CHANNEL (groups loop over the channels, the trip count the same for
// every thread of a group, so all reach every barrier), of 32 to 256 threads as the channel's M values need (RowLaunch). The group's threads take the channel's M values k = t, t + T, ...
// (element (k / inner)·C·inner + channel·inner + k % inner), and their partial sums are combined by GroupReduce's tree in shared
// memory (Reduce.Ilgpu.cs): float sums, in an order fixed by the shape and the group size, so deterministic.
// Running statistics: ONE GROUP for all channels: every thread reads num_batches_tracked, a barrier, then thread 0 writes the
// incremented count, so no thread can see the new count while computing the factor.
// Element-wise passes: one thread per element (grid-stride), channel (e / inner) % C, the per-channel constants recomputed by
// each thread with BatchNormMath (a few flops next to the memory traffic; no per-channel buffer to allocate).
public sealed partial class IlgpuBackend
{
    static int NormIndex(int k, int channel, int c, int inner)
    {
        int b = k / inner;
        return (b * c + channel) * inner + (k - b * inner);
    }

    static void BatchNormReduceKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> mean, ArrayView<float> var,
        ArrayView<float> out0, ArrayView<float> out1, int n, int c, int inner, float eps, int backward)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceThreads);
        int m = n * inner;
        for (int ch = Grid.IdxX; ch < c; ch += Grid.DimX)
        {
            if (backward == 0)
            {
                float s = 0f;
                for (int k = Group.IdxX; k < m; k += Group.DimX) s += x[NormIndex(k, ch, c, inner)];
                float mu = GroupReduce(shared, s, ReduceSum) / m;
                float ss = 0f;
                for (int k = Group.IdxX; k < m; k += Group.DimX)
                {
                    float e = x[NormIndex(k, ch, c, inner)] - mu;
                    ss += e * e;
                }
                ss = GroupReduce(shared, ss, ReduceSum);
                if (Group.IdxX == 0) { out0[ch] = mu; out1[ch] = ss / m; }
            }
            else
            {
                float mu = mean[ch], sdy = 0f, dot = 0f;
                for (int k = Group.IdxX; k < m; k += Group.DimX)
                {
                    int e = NormIndex(k, ch, c, inner);
                    float g = dy[e];
                    sdy += g;
                    dot += g * (x[e] - mu);
                }
                sdy = GroupReduce(shared, sdy, ReduceSum);
                dot = GroupReduce(shared, dot, ReduceSum);
                if (Group.IdxX == 0) { out0[ch] = sdy; out1[ch] = dot * BatchNormMath.InvStd(var[ch], eps); }
            }
        }
    }

    static void BatchNormUpdateKernel(ArrayView<float> mean, ArrayView<float> var, ArrayView<float> runningMean, ArrayView<float> runningVar,
        ArrayView<int> count, int hasCount, int c, int m, float momentum)
    {
        int cnt = hasCount != 0 ? count[0] + 1 : 0;
        Group.Barrier();   // every thread has read the old count before thread 0 writes the new one
        if (hasCount != 0 && Group.IdxX == 0) count[0] = cnt;
        float f = BatchNormMath.Factor(momentum, cnt);
        for (int ch = Group.IdxX; ch < c; ch += Group.DimX)
        {
            runningMean[ch] = BatchNormMath.Blend(f, mean[ch], runningMean[ch]);
            runningVar[ch] = BatchNormMath.Blend(f, BatchNormMath.Unbiased(var[ch], m), runningVar[ch]);
        }
    }

    // flags: 1 = weight given, 2 = bias given.
    static void BatchNormForwardKernel(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> var, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> y, int total, int c, int inner, float eps, int flags)
    {
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int ch = e / inner % c;
            float a = ((flags & 1) != 0 ? weight[ch] : 1f) * BatchNormMath.InvStd(var[ch], eps);
            y[e] = BatchNormMath.Normalise(x[e], mean[ch], a, (flags & 2) != 0 ? bias[ch] : 0f);
        }
    }

    // flags: 1 = weight given, 4 = running statistics (dx += a·dy; the sums are not read).
    static void BatchNormBackwardKernel(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> var, ArrayView<float> weight,
        ArrayView<float> sumDy, ArrayView<float> sumDyXhat, ArrayView<float> dx, int total, int c, int inner, float eps, int flags)
    {
        int m = total / c;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int ch = e / inner % c;
            float invstd = BatchNormMath.InvStd(var[ch], eps);
            float a = ((flags & 1) != 0 ? weight[ch] : 1f) * invstd;
            if ((flags & 4) != 0) dx[e] += a * dy[e];
            else dx[e] += BatchNormMath.Grad(dy[e], x[e], mean[ch], a, sumDy[ch] / m, BatchNormMath.K(invstd, sumDyXhat[ch], m));
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>? _bnReduce;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, float>? _bnUpdate;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>? _bnForward;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>? _bnBackward;

    void LaunchNormReduce(Storage x, Storage dy, Storage mean, Storage var, Storage out0, Storage out1, int n, int c, int inner, float eps, int backward)
    {
        if (c == 0 || n * inner == 0) return;
        var k = _bnReduce ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>(BatchNormReduceKernel);
        k(RowLaunch(c, n * inner), F(x), F(dy), F(mean), F(var), F(out0), F(out1), n, c, inner, eps, backward);
    }

    /// <inheritdoc/>
    public void BatchNormStats(Storage x, Storage mean, Storage var, int n, int c, int inner) =>
        LaunchNormReduce(x, x, mean, var, mean, var, n, c, inner, 0f, 0);

    /// <inheritdoc/>
    public void BatchNormBackwardReduce(Storage dy, Storage x, Storage mean, Storage var, Storage sumDy, Storage sumDyXhat, int n, int c, int inner, float eps) =>
        LaunchNormReduce(x, dy, mean, var, sumDy, sumDyXhat, n, c, inner, eps, 1);

    /// <inheritdoc/>
    public void BatchNormUpdateRunning(Storage mean, Storage var, Storage runningMean, Storage runningVar, Storage? count, int c, int m, float momentum)
    {
        if (c == 0) return;
        (_bnUpdate ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, float>(BatchNormUpdateKernel))(
            new KernelConfig(1, GroupSize), F(mean), F(var), F(runningMean), F(runningVar), count is null ? DummyI : I(count), count is null ? 0 : 1, c, m, momentum);
    }

    /// <inheritdoc/>
    public void BatchNormForward(Storage x, Storage mean, Storage var, Storage? weight, Storage? bias, Storage y, int n, int c, int inner, float eps)
    {
        int total = n * c * inner;
        if (total == 0) return;
        (_bnForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>(BatchNormForwardKernel))(
            Grid1D(total), F(x), F(mean), F(var), weight is null ? DummyF : F(weight), bias is null ? DummyF : F(bias), F(y), total, c, inner, eps,
            (weight is null ? 0 : 1) | (bias is null ? 0 : 2));
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Storage dy, Storage x, Storage mean, Storage var, Storage? weight, Storage? sumDy, Storage? sumDyXhat, Storage dx,
                                  int n, int c, int inner, float eps)
    {
        int total = n * c * inner;
        if (total == 0) return;
        (_bnBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>(BatchNormBackwardKernel))(
            Grid1D(total), F(dy), F(x), F(mean), F(var), weight is null ? DummyF : F(weight), sumDy is null ? DummyF : F(sumDy), sumDyXhat is null ? DummyF : F(sumDyXhat),
            F(dx), total, c, inner, eps, (weight is null ? 0 : 1) | (sumDy is null ? 4 : 0));
    }
}
