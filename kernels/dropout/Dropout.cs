namespace ScratchNet.Kernels;

// ── dropout ── inverted dropout: y = x·mask, mask = keep ? 1/(1 − p) : 0, from a counter-based generator
//   definition  Dropout.Reference.cs   (the oracle: every device draws the same mask, bit for bit)
//   cpu         Dropout.Cpu.cs: the reference loop with --kernels reference, else Dropout.Cpu.Simd.cs (avx512 | avx2 | vector)
//   gpu         Dropout.Ilgpu.cs
//   tests       tests/DropoutTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/DropoutOp.cs: scratchnet check --op dropout, scratchnet bench --op dropout (GB/s)
//
// Inverted dropout over n contiguous floats.
//
// In training every element is kept with probability 1 − p and zeroed otherwise, and the kept ones are
// scaled by 1 / (1 − p) so that E[y] = x and evaluation needs no rescaling:
//     mask[i] = keep(i) ? 1 / (1 − p) : 0,     y[i] = x[i] · mask[i],     backward: dx[i] += dy[i] · mask[i].
//
// The random numbers come from a COUNTER-BASED generator: there is no generator state to carry between
// threads or devices. The decision for element i is a pure function of (seed, step, i):
//     key  = Mix64(Mix64(seed) ^ step)                     (one key per training step; computed on the host)
//     bits = Mix64(key + (i + 1) · 0x9E3779B97F4A7C15)     (the (i+1)-th output of a SplitMix64 stream from key)
//     u    = (bits >> 40) / 2^24                           (24 random bits → uniform in [0, 1), exact in float)
//     keep(i) = u ≥ p
// Mix64 is SplitMix64's finalizer (Steele, Lea & Flood 2014): xor-shift-multiply rounds that spread every
// input bit over the whole word. Only integer operations and an exact float comparison are involved, so the
// CPU loop and every GPU produce the identical mask for a given seed and step, in any thread order.
public partial interface IBackend
{
    /// <summary>Inverted dropout: mask[i] = (keep ? 1/(1−p) : 0) from the counter-based hash of (seed, step, i),
    /// and y[i] = x[i] · mask[i]. Requires 0 ≤ p &lt; 1. Backward is <see cref="MulAcc"/>(dy, mask, dx).</summary>
    void DropoutForward(Storage x, Storage y, Storage mask, int n, float p, ulong seed, long step);
}

/// <summary>The counter-based random numbers of dropout, shared by the CPU loop and the GPU kernel.</summary>
public static class DropoutRng
{
    /// <summary>SplitMix64's output function: a bijective 64-bit mix.</summary>
    public static ulong Mix64(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The stream key of one (seed, step): a different, unrelated mask for every step.</summary>
    public static ulong Key(ulong seed, long step) => Mix64(Mix64(seed) ^ (ulong)step);

    /// <summary>Uniform in [0, 1) for element i of the stream <paramref name="key"/> (24 random bits).</summary>
    public static float Uniform(ulong key, int i) =>
        (int)(Mix64(key + ((ulong)i + 1UL) * 0x9E3779B97F4A7C15UL) >> 40) * (1f / 16777216f);

    /// <summary>The mask value of element i: 1/(1−p) when kept (u ≥ p), else 0.</summary>
    public static float MaskValue(ulong key, int i, float p, float scale) => Uniform(key, i) >= p ? scale : 0f;

    /// <summary>The scale of kept elements, 1/(1−p), computed once on the host so every device uses the same float.</summary>
    public static float Scale(float p) => 1f / (1f - p);
}
