using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Softmax and cross-entropy as ILGPU kernels.
//
// Row kernels (softmax, its backward, the loss forward): one GROUP PER ROW. Group g handles rows
// g, g + G, g + 2G, ... (G = number of groups). Inside a row, thread t reads columns t, t + T, t + 2T, ...
// (T = threads per group, a power of two between 32 and 256 chosen from C, see RowLaunch), so neighbouring
// threads read neighbouring addresses. The row max and the row sum Σ exp(x − max) are combined across the
// group with the shared-memory tree reduction GroupReduce (kernels/reduce/Reduce.Ilgpu.cs): the same fixed
// pairing every run, so results are deterministic. The row index is uniform across a group, so every
// thread reaches the same barriers.
//
// The loss backward needs no reduction: it is element-wise over N·C with a grid-stride loop.
// NLL, forward and backward: one thread per row (each row reads or writes one element, or a bad label's whole row).
public sealed partial class IlgpuBackend
{
    /// <summary>Max and Σ exp(x − max) of one row.</summary>
    struct RowStats
    {
        public float Max;
        public float SumExp;
    }

    /// <summary>Group-cooperative softmax of row x[o .. o+c) into y; every thread returns the row's stats.</summary>
    static RowStats SoftmaxRow(ArrayView<float> x, ArrayView<float> y, int o, int c, ArrayView<float> shared)
    {
        float m = float.NegativeInfinity;
        for (int j = Group.IdxX; j < c; j += Group.DimX) m = Max(m, x[o + j]);
        m = GroupReduce(shared, m, ReduceMax);

        float s = 0f;
        for (int j = Group.IdxX; j < c; j += Group.DimX)
        {
            float e = MathF.Exp(x[o + j] - m);
            y[o + j] = e;          // each thread rescales exactly the entries it wrote: no barrier needed
            s += e;
        }
        s = GroupReduce(shared, s, ReduceSum);

        float inv = 1f / s;
        for (int j = Group.IdxX; j < c; j += Group.DimX) y[o + j] *= inv;
        return new RowStats { Max = m, SumExp = s };
    }

    static void SoftmaxKernel(ArrayView<float> x, ArrayView<float> y, int n, int c)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceThreads);
        for (int row = Grid.IdxX; row < n; row += Grid.DimX)
            SoftmaxRow(x, y, row * c, c, shared);
    }

    static void SoftmaxCrossEntropyForwardKernel(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> probs,
        ArrayView<float> losses, int n, int c)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceThreads);
        for (int row = Grid.IdxX; row < n; row += Grid.DimX)
        {
            int o = row * c;
            var stats = SoftmaxRow(logits, probs, o, c, shared);
            if (Group.IdxX == 0)
            {
                int label = labels[row];
                // −log p_label = log Σ exp(x − m) − (x_label − m); a bad label is never used as an index.
                losses[row] = label >= 0 && label < c ? MathF.Log(stats.SumExp) - (logits[o + label] - stats.Max) : float.NaN;
            }
        }
    }

    static void SoftmaxCrossEntropyBackwardKernel(ArrayView<float> probs, ArrayView<int> labels, ArrayView<float> dy,
        ArrayView<float> dlogits, int n, int c)
    {
        float scale = dy[0] / n;
        int total = n * c;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int row = i / c, j = i - row * c;
            int label = labels[row];
            float oneHot = j == label ? 1f : 0f;
            dlogits[i] += label >= 0 && label < c ? (probs[i] - oneHot) * scale : float.NaN;
        }
    }

    static void SoftmaxBackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, int c)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceThreads);
        for (int row = Grid.IdxX; row < n; row += Grid.DimX)
        {
            int o = row * c;
            float dot = 0f;
            for (int j = Group.IdxX; j < c; j += Group.DimX) dot += dy[o + j] * y[o + j];
            dot = GroupReduce(shared, dot, ReduceSum);
            for (int j = Group.IdxX; j < c; j += Group.DimX) dx[o + j] += y[o + j] * (dy[o + j] - dot);
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _softmax;
    Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>? _sceForward;
    Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>? _sceBackward;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _softmaxBackward;

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Storage logits, Storage labels, Storage probs, Storage losses, int n, int c)
    {
        if (n == 0 || c == 0) return;
        (_sceForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(
            SoftmaxCrossEntropyForwardKernel))(RowLaunch(n, c), F(logits), I(labels), F(probs), F(losses), n, c);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Storage probs, Storage labels, Storage dy, Storage dlogits, int n, int c)
    {
        if (n == 0 || c == 0) return;
        (_sceBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(
            SoftmaxCrossEntropyBackwardKernel))(Grid1D((long)n * c), F(probs), I(labels), F(dy), F(dlogits), n, c);
    }

    /// <inheritdoc/>
    public void Softmax(Storage x, Storage y, int n, int c)
    {
        if (n == 0 || c == 0) return;
        (_softmax ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(SoftmaxKernel))(
            RowLaunch(n, c), F(x), F(y), n, c);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Storage y, Storage dy, Storage dx, int n, int c)
    {
        if (n == 0 || c == 0) return;
        (_softmaxBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SoftmaxBackwardKernel))(
            RowLaunch(n, c), F(y), F(dy), F(dx), n, c);
    }

    static void NllLossForwardKernel(ArrayView<float> x, ArrayView<int> labels, ArrayView<float> losses, ArrayView<float> weights, int n, int c, int ignoreIndex)
    {
        for (int r = Grid.GlobalIndex.X; r < n; r += Grid.DimX * Group.DimX)
        {
            int label = labels[r];
            if (label == ignoreIndex) { losses[r] = 0f; weights[r] = 0f; }
            else { losses[r] = label >= 0 && label < c ? -x[r * c + label] : float.NaN; weights[r] = 1f; }
        }
    }

    static void NllLossBackwardKernel(ArrayView<int> labels, ArrayView<float> dy, ArrayView<float> dx, int n, int c, int ignoreIndex)
    {
        for (int r = Grid.GlobalIndex.X; r < n; r += Grid.DimX * Group.DimX)
        {
            int label = labels[r];
            if (label == ignoreIndex) continue;
            if (label >= 0 && label < c) dx[r * c + label] -= dy[r];
            else for (int j = 0; j < c; j++) dx[r * c + j] = float.NaN;
        }
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>? _nllForward;
    Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>? _nllBackward;

    /// <inheritdoc/>
    public void NllLossForward(Storage logp, Storage labels, Storage losses, Storage weights, int n, int c, int ignoreIndex)
    {
        if (n == 0) return;
        (_nllForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(NllLossForwardKernel))(
            Grid1D(n), F(logp), I(labels), F(losses), F(weights), n, c, ignoreIndex);
    }

    /// <inheritdoc/>
    public void NllLossBackward(Storage labels, Storage dy, Storage dlogp, int n, int c, int ignoreIndex)
    {
        if (n == 0) return;
        (_nllBackward ??= Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(NllLossBackwardKernel))(
            Grid1D(n), I(labels), F(dy), F(dlogp), n, c, ignoreIndex);
    }
}
