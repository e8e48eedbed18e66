using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Reductions and softmax along a dimension as ILGPU kernels (ReduceDim.cs).
//
// L LANES PER OUTPUT. A group of T threads handles T / L consecutive outputs j = (o, i); the L threads of one output (consecutive
// threads) take d = lane, lane + L, ... and their partial results are combined by a tree over the L lanes in shared memory
// (SegmentReduce: L/2 lanes add the upper half, then L/4, ..., a barrier after each level, as GroupReduce in Reduce.Ilgpu.cs but
// over segments of L threads). L = 1 is a plain loop per output (no tree), and with inner > 1 consecutive threads then read
// consecutive addresses; many outputs get L = 1, few long ones up to 256 lanes (LanesFor). Groups loop over the outputs
// (grid-stride), the trip count the same for every thread of a group, so every thread reaches every barrier.
// Deterministic: the lanes, the launch and so the order of additions depend only on the shape and the device.
//
// The backward of sum, mean and var is element-wise (one thread per element of dx, reading dy[o, i] and, for var, the mean);
// the backward of max/min scatters dy[o, i] to dx[o, index, i], one thread per output (each writes its own element).
public sealed partial class IlgpuBackend
{
    const int OpSum = 0, OpMax = 1, OpMin = 2, OpVar = 3;

    /// <summary>Whether (v, at) beats (best, bestAt) for max (or min): an empty side (index int.MaxValue) always loses; a NaN beats
    /// every number and the first NaN wins; otherwise the larger (smaller) value, and at a tie the smaller index.</summary>
    static bool Beats(float v, int at, float best, int bestAt, bool max)
    {
        if (at == int.MaxValue) return false;
        if (bestAt == int.MaxValue) return true;
        bool nanV = float.IsNaN(v), nanB = float.IsNaN(best);
        if (nanB) return nanV && at < bestAt;
        if (nanV) return true;
        if (max ? v > best : v < best) return true;
        return v == best && at < bestAt;
    }

    /// <summary>Sum (op 0) or NaN-propagating max (op 1) of one value per thread over each segment of <paramref name="lanes"/>
    /// consecutive threads; every thread gets its segment's result. Every thread of the group must call it.</summary>
    static float SegmentReduce(ArrayView<float> shared, float value, int lanes, int op)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int s = lanes / 2; s > 0; s >>= 1)
        {
            if (t % lanes < s)
            {
                float a = shared[t], b = shared[t + s];
                shared[t] = op == 0 ? a + b : (b > a || float.IsNaN(b)) && !float.IsNaN(a) ? b : a;
            }
            Group.Barrier();
        }
        float r = shared[t - t % lanes];
        Group.Barrier();
        return r;
    }

    static void ReduceDimKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<int> index, ArrayView<float> mean,
        int outer, int dim, int inner, int op, float scale, int lanes, int flags)
    {
        var sv = SharedMemory.Allocate<float>(MaxReduceThreads);
        var si = SharedMemory.Allocate<int>(MaxReduceThreads);
        int t = Group.IdxX, lane = t % lanes, perGroup = Group.DimX / lanes;
        int outputs = outer * inner;
        for (int first = Grid.IdxX * perGroup; first < outputs; first += Grid.DimX * perGroup)
        {
            int j = first + t / lanes;
            bool active = j < outputs;
            int o = active ? j / inner : 0, i = active ? j % inner : 0;
            int start = o * dim * inner + i;
            if (op == OpSum || op == OpVar)
            {
                float s = 0f;
                if (active) for (int d = lane; d < dim; d += lanes) s += x[start + d * inner];
                s = SegmentReduce(sv, s, lanes, 0);
                if (op == OpSum)
                {
                    if (active && lane == 0) y[j] = (flags & 1) != 0 ? y[j] + scale * s : s * scale;
                }
                else
                {
                    float m = s / dim, ss = 0f;
                    if (active)
                        for (int d = lane; d < dim; d += lanes)
                        {
                            float e = x[start + d * inner] - m;
                            ss += e * e;
                        }
                    ss = SegmentReduce(sv, ss, lanes, 0);
                    if (active && lane == 0)
                    {
                        y[j] = ss * scale;
                        if ((flags & 2) != 0) mean[j] = m;
                    }
                }
            }
            else
            {
                bool max = op == OpMax;
                float best = 0f;
                int at = int.MaxValue;
                if (active)
                    for (int d = lane; d < dim; d += lanes)
                    {
                        float v = x[start + d * inner];
                        if (Beats(v, d, best, at, max)) { best = v; at = d; }
                    }
                sv[t] = best; si[t] = at;
                Group.Barrier();
                for (int s = lanes / 2; s > 0; s >>= 1)
                {
                    if (lane < s && Beats(sv[t + s], si[t + s], sv[t], si[t], max)) { sv[t] = sv[t + s]; si[t] = si[t + s]; }
                    Group.Barrier();
                }
                if (active && lane == 0) { y[j] = sv[t]; index[j] = si[t]; }
                Group.Barrier();
            }
        }
    }

    // op 0: dx[k] += scale·dy[o, i];  op 3: dx[k] += dy[o, i]·(2·scale·(x[k] − mean[o, i])), over the n = outer·dim·inner elements k.
    static void ReduceDimGradKernel(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> dy, ArrayView<float> dx, int n, int dim, int inner, int op, float scale)
    {
        for (int k = Grid.GlobalIndex.X; k < n; k += Grid.DimX * Group.DimX)
        {
            int j = k / (dim * inner) * inner + k % inner;
            dx[k] += op == OpSum ? scale * dy[j] : dy[j] * (2f * scale * (x[k] - mean[j]));
        }
    }

    static void ReduceDimIndexGradKernel(ArrayView<int> index, ArrayView<float> dy, ArrayView<float> dx, int outputs, int dim, int inner)
    {
        for (int j = Grid.GlobalIndex.X; j < outputs; j += Grid.DimX * Group.DimX)
        {
            int d = index[j];
            if (d >= 0 && d < dim) dx[(j / inner * dim + d) * inner + j % inner] += dy[j];
        }
    }

    static void SoftmaxDimKernel(ArrayView<float> x, ArrayView<float> y, int outer, int dim, int inner, int lanes, int log)
    {
        var sv = SharedMemory.Allocate<float>(MaxReduceThreads);
        int t = Group.IdxX, lane = t % lanes, perGroup = Group.DimX / lanes;
        int outputs = outer * inner;
        for (int first = Grid.IdxX * perGroup; first < outputs; first += Grid.DimX * perGroup)
        {
            int j = first + t / lanes;
            bool active = j < outputs;
            int o = active ? j / inner : 0, i = active ? j % inner : 0;
            int start = o * dim * inner + i;
            float m = float.NegativeInfinity;
            if (active)
                for (int d = lane; d < dim; d += lanes)
                {
                    float v = x[start + d * inner];
                    if ((v > m || float.IsNaN(v)) && !float.IsNaN(m)) m = v;
                }
            m = SegmentReduce(sv, m, lanes, 1);
            float s = 0f;
            if (active) for (int d = lane; d < dim; d += lanes) s += MathF.Exp(x[start + d * inner] - m);
            s = SegmentReduce(sv, s, lanes, 0);
            if (active)
            {
                float ls = MathF.Log(s), inv = 1f / s;
                for (int d = lane; d < dim; d += lanes)
                {
                    int k = start + d * inner;
                    y[k] = log != 0 ? x[k] - m - ls : MathF.Exp(x[k] - m) * inv;
                }
            }
        }
    }

    static void SoftmaxDimGradKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int outer, int dim, int inner, int lanes, int log)
    {
        var sv = SharedMemory.Allocate<float>(MaxReduceThreads);
        int t = Group.IdxX, lane = t % lanes, perGroup = Group.DimX / lanes;
        int outputs = outer * inner;
        for (int first = Grid.IdxX * perGroup; first < outputs; first += Grid.DimX * perGroup)
        {
            int j = first + t / lanes;
            bool active = j < outputs;
            int o = active ? j / inner : 0, i = active ? j % inner : 0;
            int start = o * dim * inner + i;
            float s = 0f;
            if (active)
                for (int d = lane; d < dim; d += lanes)
                {
                    int k = start + d * inner;
                    s += log != 0 ? dy[k] : dy[k] * y[k];
                }
            s = SegmentReduce(sv, s, lanes, 0);
            if (active)
                for (int d = lane; d < dim; d += lanes)
                {
                    int k = start + d * inner;
                    dx[k] += log != 0 ? dy[k] - MathF.Exp(y[k]) * s : y[k] * (dy[k] - s);
                }
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, float, int, int>? _reduceDim;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, float>? _reduceDimGrad;
    Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>? _reduceDimIndexGrad;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int, int>? _softmaxDim;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>? _softmaxDimGrad;
    // One-element buffers for the operands an op does not read (freed with the accelerator, outside the memory pool's statistics).
    MemoryBuffer1D<float, Stride1D.Dense>? _dummyFloat;
    MemoryBuffer1D<int, Stride1D.Dense>? _dummyInt;

    ArrayView<float> DummyF => (_dummyFloat ??= Accelerator.Allocate1D<float>(1)).View;
    ArrayView<int> DummyI => (_dummyInt ??= Accelerator.Allocate1D<int>(1)).View;

    /// <summary>Lanes per output: doubles while the outputs · lanes do not fill the device (MaxGroups · GroupSize threads) and the
    /// lanes stay below dim, up to ReduceThreads.</summary>
    internal int LanesFor(int outputs, int dim)
    {
        long target = (long)MaxGroups * GroupSize;
        int lanes = 1;
        while (lanes < ReduceThreads && (long)outputs * lanes < target && lanes < dim) lanes *= 2;
        return lanes;
    }

    KernelConfig LanesLaunch(int outputs, int lanes)
    {
        int threads = ReduceThreads, perGroup = threads / lanes;
        int groups = (int)Math.Clamp((outputs + (long)perGroup - 1) / perGroup, 1, MaxGroups);
        return new KernelConfig(groups, threads);
    }

    /// <summary>The [outer, dim, inner] sum with the accumulate form of SumToShape: y[o, i] += scale·Σ_d x[o, d, i].</summary>
    internal void SumDimAccumulate(Storage x, Storage y, int outer, int dim, int inner, float scale) =>
        LaunchReduceDim(OpSum, x, y, null, outer, dim, inner, scale, flags: 1);

    void LaunchReduceDim(int op, Storage x, Storage y, Storage? aux, int outer, int dim, int inner, float scale, int flags)
    {
        int outputs = outer * inner;
        if (outputs == 0) return;
        int lanes = LanesFor(outputs, dim);
        var k = _reduceDim ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, float, int, int>(ReduceDimKernel);
        var index = op is OpMax or OpMin ? I(aux!) : DummyI;
        var mean = op == OpVar && aux is not null ? F(aux) : DummyF;
        k(LanesLaunch(outputs, lanes), F(x), F(y), index, mean, outer, dim, inner, op, scale, lanes, flags);
    }

    /// <inheritdoc />
    public void ReduceDim(DimReduction op, Storage x, Storage y, Storage? aux, int outer, int dim, int inner, float scale) =>
        LaunchReduceDim((int)op, x, y, aux, outer, dim, inner, scale, op == DimReduction.Var && aux is not null ? 2 : 0);

    /// <inheritdoc />
    public void ReduceDimBackward(DimReduction op, Storage x, Storage? aux, Storage dy, Storage dx, int outer, int dim, int inner, float scale)
    {
        int n = outer * dim * inner;
        if (n == 0) return;
        if (op is DimReduction.Max or DimReduction.Min)
        {
            (_reduceDimIndexGrad ??= Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(ReduceDimIndexGradKernel))(
                Grid1D(outer * inner), I(aux!), F(dy), F(dx), outer * inner, dim, inner);
            return;
        }
        (_reduceDimGrad ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, float>(ReduceDimGradKernel))(
            Grid1D(n), op == DimReduction.Var ? F(x) : F(dy), op == DimReduction.Var ? F(aux!) : F(dy), F(dy), F(dx), n, dim, inner, (int)op, scale);
    }

    /// <inheritdoc />
    public void SoftmaxDim(Storage x, Storage y, int outer, int dim, int inner, bool log)
    {
        int outputs = outer * inner;
        if (outputs == 0) return;
        int lanes = LanesFor(outputs, dim);
        (_softmaxDim ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int, int>(SoftmaxDimKernel))(
            LanesLaunch(outputs, lanes), F(x), F(y), outer, dim, inner, lanes, log ? 1 : 0);
    }

    /// <inheritdoc />
    public void SoftmaxDimBackward(Storage y, Storage dy, Storage dx, int outer, int dim, int inner, bool log)
    {
        int outputs = outer * inner;
        if (outputs == 0) return;
        int lanes = LanesFor(outputs, dim);
        (_softmaxDimGrad ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(SoftmaxDimGradKernel))(
            LanesLaunch(outputs, lanes), F(y), F(dy), F(dx), outer, dim, inner, lanes, log ? 1 : 0);
    }
}
