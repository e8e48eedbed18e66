namespace ScratchNet.Kernels;

// Dropout, plain C#: chunks of 16K elements in parallel. Each element's decision depends only on
// (key, i) (see Dropout.cs), so the chunking cannot change the mask.
public sealed partial class CpuBackend
{
    public void DropoutForward(Storage x, Storage y, Storage mask, int n, float p, ulong seed, long step)
    {
        float[] X = F(x), Y = F(y), M = F(mask);
        ulong key = DropoutRng.Key(seed, step);
        float scale = DropoutRng.Scale(p);
        ForChunks(n, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                M[i] = DropoutRng.MaskValue(key, i, p, scale);
                Y[i] = X[i] * M[i];
            }
        });
    }
}
