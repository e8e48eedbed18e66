namespace ScratchNet.Kernels;

// Bias add and its gradient in plain C#. Forward: parallel over the outer index (images, rows), each
// adds bias[c] to its contiguous run of `inner` elements per channel. Backward: parallel over channels,
// each sums its outer·inner elements in a fixed order, in double, then adds the total to dbias[c].
public sealed partial class CpuBackend
{
    public void BiasAdd(Storage y, Storage bias, int outer, int channels, int inner)
    {
        BiasChecks.Validate("bias_add", y, bias, outer, channels, inner);
        float[] Y = F(y), B = F(bias);
        For(outer, o =>
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                float v = B[c];
                for (int i = 0; i < inner; i++) Y[start + i] += v;
            }
        }, costPerItem: (long)channels * inner);
    }

    public void BiasBackward(Storage dy, Storage dbias, int outer, int channels, int inner)
    {
        BiasChecks.Validate("bias_backward", dy, dbias, outer, channels, inner);
        float[] DY = F(dy), DB = F(dbias);
        For(channels, c =>
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
