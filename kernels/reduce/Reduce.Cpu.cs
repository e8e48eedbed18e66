namespace ScratchNet.Kernels;

// Reductions on the cpu device. CpuReference.Sum adds fixed chunks of 16K elements in parallel, each in
// double, then adds the chunk totals in chunk order: the result does not depend on thread timing. CpuBackend
// runs ReduceSimd.Sum (Reduce.Cpu.Simd.cs) unless CpuSimd.ForcedPath is Reference. Argmax stays scalar: its
// rows are the C = 10 logits of a batch.
public static partial class CpuReference
{
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
}

public sealed partial class CpuBackend
{
    public void Sum(Storage x, Storage y, int n) => F(y)[0] = ReduceSimd.Sum(CpuSimd.Resolve(), F(x), n);

    /// <summary>Index of the first maximum of x[o .. o+c); NaN beats every number, the first NaN wins.</summary>
    static int ArgmaxRow(float[] x, int o, int c)
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

    public void ArgmaxRows(Storage x, Storage idx, int n, int c)
    {
        float[] X = F(x);
        int[] Y = I(idx);
        For(n, r => Y[r] = ArgmaxRow(X, r * c, c), c);
    }

    public int CountCorrect(Storage logits, Storage labels, int n, int c)
    {
        float[] X = F(logits);
        int[] Y = I(labels);
        int count = 0;
        for (int r = 0; r < n; r++)
            if (ArgmaxRow(X, r * c, c) == Y[r]) count++;
        return count;
    }
}
