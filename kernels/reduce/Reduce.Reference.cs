namespace ScratchNet.Kernels;

// Reductions on the cpu device. Reference.Sum adds fixed chunks of 16K elements in parallel, each in
// double, then adds the chunk totals in chunk order: the result does not depend on thread timing. The vector
// version is ReduceSimd.Sum (Reduce.Cpu.Simd.cs). Argmax stays scalar: its rows are the C = 10 logits of a batch.
public static partial class Reference
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
