namespace ScratchNet.Kernels;

// ── bias ── y[o, c, i] += bias[c] and dbias[c] += Σ dy over everything but the channel
//   definition  Bias.Reference.cs   (the oracle of the tests, `scratchnet check` and gradcheck)
//   cpu         Bias.Cpu.cs: the reference loops with --kernels reference, else Bias.Cpu.Simd.cs (avx512 | avx2 | vector)
//   gpu         Bias.Ilgpu.cs
//   tests       tests/ConvTests.cs (BiasKernels), tests/LinearTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/BiasOp.cs: scratchnet check --op bias, scratchnet bench --op bias (GB/s)
//
// Per-channel bias of a tensor viewed as [outer, channels, inner]:
//   Linear: y [N, out]        → outer = N, channels = out, inner = 1
//   Conv2d: y [N, O, OH, OW]  → outer = N, channels = O,   inner = OH·OW
// Element (o, c, i) sits at (o·channels + c)·inner + i.
//   forward:  y[o, c, i] += bias[c]
//   backward: dbias[c]   += Σ_{o, i} dy[o, c, i]    (a reduction over everything but the channel)
public partial interface IBackend
{
    /// <summary>y[o, c, i] += bias[c] for y viewed as [outer, channels, inner].</summary>
    void BiasAdd(Storage y, Storage bias, int outer, int channels, int inner);
    /// <summary>dbias[c] += Σ_{o,i} dy[o, c, i] (accumulates; deterministic summation order).</summary>
    void BiasBackward(Storage dy, Storage dbias, int outer, int channels, int inner);
}

internal static class BiasChecks
{
    /// <summary>Sizes positive and both buffers large enough, else ArgumentException (before any kernel runs).</summary>
    public static void Validate(string op, Storage y, Storage bias, int outer, int channels, int inner)
    {
        if (outer <= 0 || channels <= 0 || inner <= 0)
            throw new ArgumentException($"{op}: outer, channels and inner must be positive, got [{outer}, {channels}, {inner}]");
        long n = (long)outer * channels * inner;
        if (n > y.Length)
            throw new ArgumentException($"{op}: [{outer}, {channels}, {inner}] needs {n} elements but the tensor storage holds {y.Length}");
        if (channels > bias.Length)
            throw new ArgumentException($"{op}: {channels} channels but the bias storage holds {bias.Length}");
    }
}
