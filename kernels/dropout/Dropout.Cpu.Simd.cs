using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// Dropout, vectorised (CpuSimd.cs): the counter-based hash of Dropout.cs evaluated on 64-bit integer lanes
// (DropoutMask in CpuSimd.Vectors.cs), so Count elements get their decisions at once. The mask is the
// reference's, bit for bit: integer arithmetic is exact, and the float comparison u ≥ p is replaced by an
// exact integer one. With k = bits >> 40 (an integer in [0, 2^24)) the reference computes u = k · 2^−24
// exactly, and
//     u ≥ p  ⇔  k ≥ p · 2^24  ⇔  k ≥ T = ⌈p · 2^24⌉
// (scaling by a power of two is exact; k is an integer). T is clamped to [0, 2^24]: p ≤ 0 keeps everything,
// p ≥ 1 (and NaN, where u ≥ p is always false) keeps nothing. Then mask = keep ? 1/(1−p) : 0 and
// y = x · mask, as in the reference.
/// <summary>Dropout on the cpu device's vector paths: the counter-based hash on 64-bit integer lanes and an exact integer
/// threshold in place of u ≥ p, so the mask is the reference's, bit for bit.</summary>
public static class DropoutSimd
{
    /// <summary>The integer threshold T above: element i is kept when (hash >> 40) ≥ T.</summary>
    public static ulong KeepThreshold(float p) =>
        float.IsNaN(p) || p >= 1f ? 1UL << 24 : p <= 0f ? 0UL : (ulong)Math.Ceiling(p * 16777216.0);

    struct Kernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X, Y, M;
        public ulong Key, Threshold;
        public float P, Scale;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
            ref float m = ref MemoryMarshal.GetArrayDataReference(M);
            int i = start;
            for (; i <= end - TV.Count; i += TV.Count)
            {
                var mask = TV.DropoutMask(Key, i, Threshold, Scale);
                TV.Store(mask, ref m, i);
                TV.Store(TV.Load(ref x, i) * mask, ref y, i);
            }
            for (; i < end; i++)
            {
                M[i] = DropoutRng.MaskValue(Key, i, P, Scale);
                Y[i] = X[i] * M[i];
            }
        }
    }

    // The hash costs ~10 integer operations per element: compute-bound, a smaller grain than a plain copy.
    const int Grain = CpuSimd.SerialElements / 4;

    /// <summary>Inverted dropout (Dropout.cs) on the given path: the same mask as Reference, bit for bit.</summary>
    public static void Forward(KernelPath path, float[] x, float[] y, float[] mask, int n, float p, ulong seed, long step)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (x.Length < n || y.Length < n || mask.Length < n) throw new ArgumentException($"dropout: buffers shorter than n = {n}");
        ulong key = DropoutRng.Key(seed, step), t = KeepThreshold(p);
        float scale = DropoutRng.Scale(p);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(n, Grain, new Kernel<V512> { X = x, Y = y, M = mask, Key = key, Threshold = t, P = p, Scale = scale }); break;
            case KernelPath.Avx2: CpuSimd.For(n, Grain, new Kernel<V256> { X = x, Y = y, M = mask, Key = key, Threshold = t, P = p, Scale = scale }); break;
            default: CpuSimd.For(n, Grain, new Kernel<VecT> { X = x, Y = y, M = mask, Key = key, Threshold = t, P = p, Scale = scale }); break;
        }
    }
}
