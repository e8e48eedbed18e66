namespace ScratchNet.Kernels;

// Dropout on the cpu device. Reference holds the plain loop: chunks of 16K elements in parallel. Each
// element's decision depends only on (key, i) (see Dropout.cs), so the chunking cannot change the mask.
// The cpu device runs them with --kernels reference; the tests, `scratchnet check` and the gradient checks compare every other version with them.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.DropoutForward"/>: M[i] = <see cref="DropoutRng.MaskValue"/>(key, i, p, 1/(1−p))
    /// with key = <see cref="DropoutRng.Key"/>(seed, step), and Y[i] = X[i] · M[i], in parallel chunks of 16K elements (each
    /// decision depends only on (key, i), so the chunking cannot change the mask).</summary>
    public static void DropoutForward(float[] X, float[] Y, float[] M, int n, float p, ulong seed, long step)
    {
        ulong key = DropoutRng.Key(seed, step);
        float scale = DropoutRng.Scale(p);
        CpuBackend.ForChunks(n, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                M[i] = DropoutRng.MaskValue(key, i, p, scale);
                Y[i] = X[i] * M[i];
            }
        });
    }
}
