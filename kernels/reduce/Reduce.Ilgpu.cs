using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Reductions as ILGPU kernels, and the group-wide tree reduction that the row kernels of kernels/loss/ use.
//
// GroupReduce: each of the T threads of a group (T a power of two) writes its value to shared[t]; then
// T/2 threads add shared[t + T/2] into shared[t], then T/4 threads, ... until shared[0] holds the total,
// with a barrier after every level. log2(T) levels, and always the same pairing, so it is deterministic
// (no atomics on floats anywhere here).
//
// Sum, two stages (a grid reduction): stage 1 launches G groups; group g sums the grid-stride slice
// x[g·T + t + k·G·T] per thread, reduces over the group and writes partial[g]. Stage 2 runs the same
// kernel with ONE group over the G partials and writes y[0]. G depends only on n and the device, so the
// order of additions (and the result) is the same every run.
//
// ArgmaxRows / CountCorrect: one thread per row (grid-stride over rows) scanning its C columns; C is a
// class count (≤ ~1000) so a row is short. CountCorrect adds each thread's count to one int with an
// integer atomic (exact, order does not matter) and reads that int back.
public sealed partial class IlgpuBackend
{
    /// <summary>Shared-memory size of every group reduction; a reducing group has at most this many threads.</summary>
    const int MaxReduceThreads = 256;
    const int ReduceSum = 0, ReduceMax = 1;

    static float Max(float a, float b) => a > b ? a : b;

    /// <summary>
    /// Combines one value per thread over the whole group (op ReduceSum or ReduceMax); every thread gets the
    /// result. Group.DimX must be a power of two ≤ MaxReduceThreads and every thread of the group must call it.
    /// </summary>
    static float GroupReduce(ArrayView<float> shared, float value, int op)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] = op == ReduceSum ? shared[t] + shared[t + s] : Max(shared[t], shared[t + s]);
            Group.Barrier();
        }
        float result = shared[0];
        Group.Barrier();   // everyone has read shared[0] before the caller reuses the buffer
        return result;
    }

    /// <summary>Threads per reducing group: the largest power of two ≤ min(GroupSize, MaxReduceThreads).</summary>
    int ReduceThreads
    {
        get
        {
            int t = 1;
            while (t * 2 <= Math.Min(GroupSize, MaxReduceThreads)) t *= 2;
            return t;
        }
    }

    /// <summary>
    /// Launch shape of a one-group-per-row kernel over n rows of c columns: the smallest power of two
    /// ≥ c threads, clamped to [32, ReduceThreads] (10 classes use one warp, 1000 classes 256 threads), and
    /// enough groups to fill the device (the kernels loop over rows).
    /// </summary>
    internal KernelConfig RowLaunch(int n, int c)
    {
        int max = ReduceThreads, threads = Math.Min(32, max);
        while (threads < c && threads < max) threads *= 2;
        int groups = Math.Clamp(n, 1, MaxGroups * (MaxReduceThreads / threads));
        return new KernelConfig(groups, threads);
    }

    static void SumKernel(ArrayView<float> x, ArrayView<float> partial, int n)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceThreads);
        float s = 0f;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) s += x[i];
        s = GroupReduce(shared, s, ReduceSum);
        if (Group.IdxX == 0) partial[Grid.IdxX] = s;
    }

    /// <summary>First maximum of x[o .. o+c); NaN beats every number, the first NaN wins (as torch.argmax).</summary>
    static int ArgmaxRow(ArrayView<float> x, int o, int c)
    {
        int best = 0;
        float bestValue = x[o];
        for (int j = 1; j < c; j++)
        {
            float v = x[o + j];
            if (v > bestValue || (float.IsNaN(v) && !float.IsNaN(bestValue))) { best = j; bestValue = v; }
        }
        return best;
    }

    static void ArgmaxRowsKernel(ArrayView<float> x, ArrayView<int> idx, int n, int c)
    {
        for (int r = Grid.GlobalIndex.X; r < n; r += Grid.DimX * Group.DimX) idx[r] = ArgmaxRow(x, r * c, c);
    }

    static void CountCorrectKernel(ArrayView<float> x, ArrayView<int> labels, ArrayView<int> count, int n, int c)
    {
        int mine = 0;
        for (int r = Grid.GlobalIndex.X; r < n; r += Grid.DimX * Group.DimX)
            if (ArgmaxRow(x, r * c, c) == labels[r]) mine++;
        if (mine > 0) Atomic.Add(ref count[0], mine);
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int>? _sum;
    Action<KernelConfig, ArrayView<float>, ArrayView<int>, int, int>? _argmaxRows;
    Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>? _countCorrect;

    /// <inheritdoc />
    public void Sum(Storage x, Storage y, int n)
    {
        if (n == 0) { Fill(y, 0f, 1); return; }
        var sum = _sum ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(SumKernel);
        int threads = ReduceThreads;
        int groups = (int)Math.Clamp((n + (long)threads - 1) / threads, 1, MaxGroups);
        if (groups == 1) { sum(new KernelConfig(1, threads), F(x), F(y), n); return; }
        // The partials buffer goes back to the pool right away: later users of the block are queued on the
        // same stream, after stage 2 has read it.
        using var partial = Allocate(groups, DType.Float32);
        sum(new KernelConfig(groups, threads), F(x), F(partial), n);
        sum(new KernelConfig(1, threads), F(partial), F(y), groups);
    }

    /// <inheritdoc />
    public void ArgmaxRows(Storage x, Storage idx, int n, int c)
    {
        if (n == 0 || c == 0) return;
        (_argmaxRows ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int, int>(ArgmaxRowsKernel))(
            Grid1D(n), F(x), I(idx), n, c);
    }

    /// <inheritdoc />
    public int CountCorrect(Storage logits, Storage labels, int n, int c)
    {
        if (n == 0 || c == 0) return 0;
        using var count = Allocate(1, DType.Int32);
        Upload(new int[] { 0 }, count);
        (_countCorrect ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>(CountCorrectKernel))(
            Grid1D(n), F(logits), I(labels), I(count), n, c);
        Span<int> result = stackalloc int[1];
        Download(count, result);
        return result[0];
    }
}
