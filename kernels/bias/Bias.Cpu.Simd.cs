using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// Bias add and bias gradient, vectorised (CpuSimd.cs). y is viewed as [outer, channels, inner] (Bias.cs).
//
// Forward, y[o, c, i] += bias[c]:
//   inner = 1 (Linear, y [N, out]): each row y[o, :] is the bias vector's length: row += bias, Count channels
//                                   per vector;
//   inner > 1 (Conv2d):             each run y[o, c, 0 .. inner) is contiguous: run += broadcast(bias[c]).
//   One addition per element either way: the reference's bits.
// Backward, dbias[c] += Σ_{o, i} dy[o, c, i], summed in double:
//   inner = 1: Count channels at once: a vector of double accumulators walks down the rows o (stride
//              channels), so each channel is summed in the reference's order: the reference's bits;
//   inner > 1: per channel, each run is summed by SumDouble (Count/2 double lanes, then the lanes are
//              added): a different order than the reference's single running sum, so the float result can
//              differ in the last bit (the double sums differ by ~1e−16 relative).
// Parallel over rows o (forward) or channels (backward), inline when the whole tensor is below CpuSimd.SerialElements.
/// <summary>Bias add and bias gradient on the cpu device's vector paths, for y viewed as [outer, channels, inner]. Forward gives
/// the reference's bits; backward sums in double, in the reference's order when inner = 1 and by vector lanes otherwise
/// (the float result can then differ in the last bit).</summary>
public static class BiasSimd
{
    struct AddKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] Y, B;
        public int Channels, Inner;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int o0, int o1)
        {
            ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
            ref float b = ref MemoryMarshal.GetArrayDataReference(B);
            int w = TV.Count;
            for (int o = o0; o < o1; o++)
            {
                if (Inner == 1)
                {
                    int row = o * Channels, c = 0;
                    for (; c <= Channels - w; c += w) TV.Store(TV.Load(ref y, row + c) + TV.Load(ref b, c), ref y, row + c);
                    for (; c < Channels; c++) Y[row + c] += B[c];
                    continue;
                }
                for (int c = 0; c < Channels; c++)
                {
                    int start = (o * Channels + c) * Inner, end = start + Inner, i = start;
                    float v = B[c];
                    var vb = TV.Splat(v);
                    for (; i <= end - w; i += w) TV.Store(TV.Load(ref y, i) + vb, ref y, i);
                    for (; i < end; i++) Y[i] += v;
                }
            }
        }
    }

    /// <summary>Channels [c0, c1) (inner &gt; 1): one channel at a time.</summary>
    struct GradKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] DY, DB;
        public int Outer, Channels, Inner;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int c0, int c1)
        {
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            for (int c = c0; c < c1; c++)
            {
                double s = 0;
                for (int o = 0; o < Outer; o++) s += TV.SumDouble(ref Unsafe.Add(ref dy, (o * Channels + c) * Inner), Inner);
                DB[c] += (float)s;
            }
        }
    }

    /// <summary>inner = 1: blocks [k0, k1) of Count channels; the last block's leftover channels are summed by the scalar loop.</summary>
    struct ColumnGradKernel<TV> : ICpuKernel where TV : struct, ISimd<TV>
    {
        public float[] DY, DB;
        public int Outer, Channels;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int k0, int k1)
        {
            ref float dy = ref MemoryMarshal.GetArrayDataReference(DY);
            ref float db = ref MemoryMarshal.GetArrayDataReference(DB);
            int w = TV.Count;
            for (int k = k0; k < k1; k++)
            {
                int c = k * w;
                if (c + w <= Channels) { TV.AddColumnSums(ref Unsafe.Add(ref dy, c), Channels, Outer, ref Unsafe.Add(ref db, c)); continue; }
                for (; c < Channels; c++)
                {
                    double s = 0;
                    for (int o = 0; o < Outer; o++) s += DY[o * Channels + c];
                    DB[c] += (float)s;
                }
            }
        }
    }

    static int Grain(long perItem) => (int)Math.Max(1, CpuSimd.SerialElements / Math.Max(1, perItem));

    /// <summary>y[o, c, i] += bias[c] on the given path.</summary>
    public static void Add(KernelPath path, float[] y, float[] bias, int outer, int channels, int inner)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if ((long)outer * channels * inner > y.Length || channels > bias.Length) throw new ArgumentException("bias_add: buffers too short");
        int grain = Grain((long)channels * inner);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(outer, grain, new AddKernel<V512> { Y = y, B = bias, Channels = channels, Inner = inner }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(outer, grain, new AddKernel<V256> { Y = y, B = bias, Channels = channels, Inner = inner }, align: 1); break;
            default: CpuSimd.For(outer, grain, new AddKernel<VecT> { Y = y, B = bias, Channels = channels, Inner = inner }, align: 1); break;
        }
    }

    /// <summary>dbias[c] += Σ_{o,i} dy[o, c, i] on the given path.</summary>
    public static void Backward(KernelPath path, float[] dy, float[] dbias, int outer, int channels, int inner)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if ((long)outer * channels * inner > dy.Length || channels > dbias.Length) throw new ArgumentException("bias_backward: buffers too short");
        if (inner == 1)
        {
            int w = path switch { KernelPath.Avx512 => V512.Count, KernelPath.Avx2 => V256.Count, _ => VecT.Count };
            int blocks = (channels + w - 1) / w, grain = Grain((long)outer * w);
            switch (path)
            {
                case KernelPath.Avx512: CpuSimd.For(blocks, grain, new ColumnGradKernel<V512> { DY = dy, DB = dbias, Outer = outer, Channels = channels }, align: 1); break;
                case KernelPath.Avx2: CpuSimd.For(blocks, grain, new ColumnGradKernel<V256> { DY = dy, DB = dbias, Outer = outer, Channels = channels }, align: 1); break;
                default: CpuSimd.For(blocks, grain, new ColumnGradKernel<VecT> { DY = dy, DB = dbias, Outer = outer, Channels = channels }, align: 1); break;
            }
            return;
        }
        int g = Grain((long)outer * inner);
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(channels, g, new GradKernel<V512> { DY = dy, DB = dbias, Outer = outer, Channels = channels, Inner = inner }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(channels, g, new GradKernel<V256> { DY = dy, DB = dbias, Outer = outer, Channels = channels, Inner = inner }, align: 1); break;
            default: CpuSimd.For(channels, g, new GradKernel<VecT> { DY = dy, DB = dbias, Outer = outer, Channels = channels, Inner = inner }, align: 1); break;
        }
    }
}
