namespace ScratchNet.Kernels;

// Reductions on the cpu device. Reference.Sum adds fixed chunks of 16K elements in parallel, each in
// double, then adds the chunk totals in chunk order: the result does not depend on thread timing. The vector
// version is ReduceSimd.Sum (Reduce.Cpu.Simd.cs). Argmax stays scalar: its rows are the C = 10 logits of a batch.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.Sum"/>: Σ X[i] for i &lt; n, as (float) of the sum of 16K-element chunk
    /// totals, each chunk summed in double, the totals added in chunk order: the same bits on every run. 0 when n = 0.</summary>
    public static float Sum(float[] X, int n)
    {
        const int chunk = 16_384;
        int chunks = (n + chunk - 1) / chunk;
        var partial = new double[chunks];
        CpuBackend.For(chunks, k =>
        {
            double s = 0;
            for (int i = k * chunk, e = Math.Min(n, i + chunk); i < e; i++) s += X[i];
            partial[k] = s;
        }, chunk);
        double total = 0;
        foreach (double p in partial) total += p;
        return (float)total;
    }

    /// <summary>Index of the first maximum of x[o .. o+c); NaN beats every number, the first NaN wins (as torch.argmax).</summary>
    public static int ArgmaxRow(float[] x, int o, int c)
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

    /// <summary>idx[r] = ArgmaxRow of row r of x [n, c]; rows in parallel.</summary>
    public static void ArgmaxRows(float[] X, int[] idx, int n, int c) => CpuBackend.For(n, r => idx[r] = ArgmaxRow(X, r * c, c), c);

    /// <summary>How many rows r of logits [n, c] have ArgmaxRow == labels[r] (a label outside [0, c) never matches).</summary>
    public static int CountCorrect(float[] X, int[] labels, int n, int c)
    {
        int count = 0;
        for (int r = 0; r < n; r++)
            if (ArgmaxRow(X, r * c, c) == labels[r]) count++;
        return count;
    }
}
