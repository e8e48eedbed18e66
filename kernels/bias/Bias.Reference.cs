namespace ScratchNet.Kernels;

// Bias add and its gradient on the cpu device. Reference holds the plain loops. Forward: parallel over the
// outer index (images, rows), each adds bias[c] to its contiguous run of `inner` elements per channel.
// Backward: parallel over channels, each sums its outer·inner elements in a fixed order, in double, then adds
// the total to dbias[c]. The cpu device runs them with --kernels reference; the tests, `scratchnet check` and the gradient checks compare every other version with them.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.BiasAdd"/>: Y[(o·channels + c)·inner + i] += B[c], in parallel over o.</summary>
    public static void BiasAdd(float[] Y, float[] B, int outer, int channels, int inner)
    {
        CpuBackend.For(outer, o =>
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                float v = B[c];
                for (int i = 0; i < inner; i++) Y[start + i] += v;
            }
        }, costPerItem: (long)channels * inner);
    }

    /// <summary>The definition of <see cref="IBackend.BiasBackward"/>: DB[c] += Σ_{o, i} DY[(o·channels + c)·inner + i], each
    /// channel summed in double in the order o, then i, in parallel over c.</summary>
    public static void BiasBackward(float[] DY, float[] DB, int outer, int channels, int inner)
    {
        CpuBackend.For(channels, c =>
        {
            double s = 0;
            for (int o = 0; o < outer; o++)
            {
                int start = (o * channels + c) * inner;
                for (int i = 0; i < inner; i++) s += DY[start + i];
            }
            DB[c] += (float)s;
        }, costPerItem: (long)outer * inner);
    }
}
