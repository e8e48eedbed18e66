namespace ScratchNet.Kernels;

// Dropout on the cpu device. CpuReference holds the plain loop: chunks of 16K elements in parallel. Each
// element's decision depends only on (key, i) (see Dropout.cs), so the chunking cannot change the mask.
// CpuBackend runs DropoutSimd (Dropout.Cpu.Simd.cs) unless CpuSimd.ForcedPath is Reference.
public static partial class CpuReference
{
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

public sealed partial class CpuBackend
{
    public void DropoutForward(Storage x, Storage y, Storage mask, int n, float p, ulong seed, long step) =>
        DropoutSimd.Forward(CpuSimd.Resolve(), F(x), F(y), F(mask), n, p, seed, step);
}
