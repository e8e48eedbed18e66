using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// Sum, vectorised (CpuSimd.cs). As the reference: fixed chunks of 16K elements, each summed in double, then
// the chunk totals added in chunk order, so the result never depends on thread timing. Within a chunk the
// floats are widened to double and added on Count/2-lane accumulators (SumDouble), a different order than the
// reference's single running sum: the double totals differ by rounding (~1e−16 relative), the float result
// at most in its last bit. The chunk totals live on the stack (up to 2048 chunks, 32M elements) or in a
// pooled array: no allocation per call.
/// <summary>The whole-buffer sum on the cpu device's vector paths: fixed 16K-element chunks, each summed in double on vector
/// lanes, then the chunk totals added in chunk order; deterministic, and within the last bit of the reference.</summary>
public static class ReduceSimd
{
    const int Chunk = 16_384;

    unsafe struct Kernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] X;
        public int N;
        public double* Partial;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int k0, int k1)
        {
            ref float x = ref MemoryMarshal.GetArrayDataReference(X);
            for (int k = k0; k < k1; k++)
            {
                int s = k * Chunk, e = Math.Min(N, s + Chunk);
                Partial[k] = TV.SumDouble(ref Unsafe.Add(ref x, s), e - s);
            }
        }
    }

    /// <summary>Σ x[0 .. n) on the given path, as float.</summary>
    public static unsafe float Sum(KernelPath path, float[] x, int n)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (x.Length < n) throw new ArgumentException($"sum: buffer shorter than n = {n}");
        int chunks = (n + Chunk - 1) / Chunk;
        double[]? rented = chunks > 2048 ? System.Buffers.ArrayPool<double>.Shared.Rent(chunks) : null;
        Span<double> partial = rented ?? stackalloc double[Math.Max(chunks, 1)];
        // Serial below 4 chunks (64K floats); the chunks are the grain otherwise.
        int grain = CpuSimd.SerialElements / Chunk;
        fixed (double* pp = partial)
        {
            switch (path)
            {
                case KernelPath.Avx512: CpuSimd.For(chunks, grain, new Kernel<V512> { X = x, N = n, Partial = pp }, align: 1); break;
                case KernelPath.Avx2: CpuSimd.For(chunks, grain, new Kernel<V256> { X = x, N = n, Partial = pp }, align: 1); break;
                default: CpuSimd.For(chunks, grain, new Kernel<VecT> { X = x, N = n, Partial = pp }, align: 1); break;
            }
        }
        double total = 0;
        for (int k = 0; k < chunks; k++) total += partial[k];
        if (rented is not null) System.Buffers.ArrayPool<double>.Shared.Return(rented);
        return (float)total;
    }
}
