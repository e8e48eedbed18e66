namespace ScratchNet.Kernels;

// ── norm ── batch normalisation over the channels of [N, C, inner]: per-channel statistics, running statistics, normalise, backward
//   definition  Norm.Reference.cs   (the oracle of the tests and `scratchnet check`)
//   cpu         Norm.Cpu.cs: the reference loops with --kernels reference, else Norm.Cpu.Simd.cs (avx512 | avx2 | vector)
//   gpu         Norm.Ilgpu.cs: one group per channel for the reductions, one thread per element for the rest
//   tests       tests/NormTests.cs (kernels, ops, modules, finite differences), tests/LayersTorchTests.cs (against PyTorch)
//   check/bench bench/ops/NormOp.cs: scratchnet check --op norm, scratchnet bench --op norm (GB/s, and the same op composed of
//               the tensor-math kernels, for comparison)
//   engine      engine/autograd/Ops.Norm.cs (F.BatchNorm), engine/nn/BatchNorm.cs (BatchNorm1d, BatchNorm2d)
//
// LAYOUT. x is [N, C, inner], contiguous: element (n, c, i) at (n·C + c)·inner + i. BatchNorm2d's [N, C, H, W] has inner = H·W,
// BatchNorm1d's [N, C] inner = 1 and [N, C, L] inner = L. Channel c owns the N blocks of `inner` consecutive floats
// x[(n·C + c)·inner ..]: M = N·inner values, which the statistics reduce over.
//
// STATISTICS (training):   mean[c] = (1/M)·Σ x,   var[c] = (1/M)·Σ (x − mean[c])²   (two passes; the biased variance is
//   what normalises, as torch). Sums in double on the cpu, in float over a group's threads on a GPU; mean and var stored as float.
// RUNNING STATISTICS (training with track_running_stats), per channel, with the counter num_batches_tracked (Int32 [1]) when
//   given: count ← count + 1, and the factor f = momentum, or 1/count when momentum is NaN (torch's momentum=None: a cumulative
//   average). Then, as torch (the unbiased variance, M/(M − 1), for the running one):
//     running_mean ← f·mean + (1 − f)·running_mean,     running_var ← f·var·M/(M − 1) + (1 − f)·running_var
// NORMALISE:  y = (x − mean[c])·a[c] + b[c],   a[c] = w[c]·invstd[c],   invstd[c] = 1/√(var[c] + eps)
//   (mean and var: the batch's in training, the running ones in evaluation; w = 1, b = 0 without affine).
// BACKWARD, with xhat = (x − mean)·invstd:
//   reduce:   sum_dy[c] = Σ dy,   sum_dy_xhat[c] = invstd[c]·Σ dy·(x − mean[c])        (dbias += sum_dy, dweight += sum_dy_xhat)
//   batch statistics (mean and var depend on x):
//             dx += a[c]·((dy − sum_dy[c]/M) − (x − mean[c])·k[c]),   k[c] = invstd[c]·(sum_dy_xhat[c]/M)
//   running statistics (constants):  dx += a[c]·dy
// The per-channel constants (invstd, a, b, sum_dy/M, k) are computed by the functions of BatchNormMath, in float, on every
// device, and every element sees the same operations in the same order, so the element-wise passes give the reference's bits
// wherever their inputs (the statistics) are the reference's.
public partial interface IBackend
{
    /// <summary>mean[c] = (1/M)·Σ x, var[c] = (1/M)·Σ (x − mean)² over the M = n·inner values of channel c of x [n, c, inner].</summary>
    void BatchNormStats(Storage x, Storage mean, Storage var, int n, int c, int inner);

    /// <summary>The running statistics' update from a batch's mean and biased var over m values per channel (Norm.cs); count (Int32
    /// [1], may be null) is incremented; momentum NaN: the factor is 1/count (count required).</summary>
    void BatchNormUpdateRunning(Storage mean, Storage var, Storage runningMean, Storage runningVar, Storage? count, int c, int m, float momentum);

    /// <summary>y = (x − mean[c])·(w[c]·invstd[c]) + b[c], invstd = 1/√(var + eps); weight and bias may be null (1 and 0).</summary>
    void BatchNormForward(Storage x, Storage mean, Storage var, Storage? weight, Storage? bias, Storage y, int n, int c, int inner, float eps);

    /// <summary>sumDy[c] = Σ dy, sumDyXhat[c] = invstd[c]·Σ dy·(x − mean[c]) over channel c.</summary>
    void BatchNormBackwardReduce(Storage dy, Storage x, Storage mean, Storage var, Storage sumDy, Storage sumDyXhat, int n, int c, int inner, float eps);

    /// <summary>dx += the input gradient (ACCUMULATES; Norm.cs): with the batch's statistics when sumDy and sumDyXhat are given
    /// (from <see cref="BatchNormBackwardReduce"/>), else for constant (running) statistics, a[c]·dy.</summary>
    void BatchNormBackward(Storage dy, Storage x, Storage mean, Storage var, Storage? weight, Storage? sumDy, Storage? sumDyXhat, Storage dx,
                           int n, int c, int inner, float eps);
}

/// <summary>The per-channel constants of batch normalisation (Norm.cs), in float, shared by every device's kernels.</summary>
public static class BatchNormMath
{
    /// <summary>1/√(var + eps).</summary>
    public static float InvStd(float var, float eps) => 1f / MathF.Sqrt(var + eps);

    /// <summary>The factor of the running statistics: momentum, or 1/count for a cumulative average (momentum NaN).</summary>
    public static float Factor(float momentum, int count) => float.IsNaN(momentum) ? 1f / count : momentum;

    /// <summary>f·value + (1 − f)·running (torch's order of the terms).</summary>
    public static float Blend(float f, float value, float running) => f * value + (1f - f) * running;

    /// <summary>The unbiased variance from the biased one over m values: var·m/(m − 1).</summary>
    public static float Unbiased(float var, int m) => var * ((float)m / (m - 1));

    /// <summary>The backward's k[c] = invstd·(sum_dy_xhat / M).</summary>
    public static float K(float invstd, float sumDyXhat, int m) => invstd * (sumDyXhat / m);

    /// <summary>y = (x − mean)·a + b: the normalised, scaled and shifted value.</summary>
    public static float Normalise(float x, float mean, float a, float b) => (x - mean) * a + b;

    /// <summary>The batch-statistics input gradient a·((dy − mdy) − (x − mean)·k), mdy = sum_dy/M.</summary>
    public static float Grad(float dy, float x, float mean, float a, float mdy, float k) => a * ((dy - mdy) - (x - mean) * k);
}
