namespace ScratchNet.Kernels;

// ── reducedim ── reductions along one dimension (sum, mean, max/min with their index, var) and softmax / log_softmax along it
//   definition  ReduceDim.Reference.cs   (the oracle of the tests and `scratchnet check`)
//   cpu         ReduceDim.Cpu.cs: the reference loops with --kernels reference, else (avx512 | avx2 | vector) ReduceDim.Cpu.Simd.cs
//               for sum and max/min (along a contiguous row, and across rows in blocks of columns: the reference's bits but for
//               the row sums' order) and ReduceDim.Cpu.Simd.Softmax.cs for var and softmax (the same layouts; softmax uses .NET's
//               vector exp, within 2 ulp of MathF.Exp)
//   gpu         ReduceDim.Ilgpu.cs: L threads per output (L = 1 … 256, a power of two chosen by the number of outputs)
//   tests       tests/TensorMathKernelTests.cs (every version against the Reference), tests/TensorMathTests.cs and TensorMathTorchTests.cs (the ops)
//   check/bench bench/ops/ReduceDimOp.cs: scratchnet check --op reducedim, scratchnet bench --op reducedim (GB/s, a copy as the ceiling)
//   engine      engine/autograd/Ops.ReduceDim.cs (F.Sum/Mean/Max/Min/Argmax/Argmin/Var along dims, F.Softmax/LogSoftmax(x, dim))
//
// THE [outer, dim, inner] VIEW. A contiguous tensor of shape [s0, ..., s_{r−1}] reduced along dimension k is the 3-D block
// [outer, dim, inner] with outer = Π_{j<k} s_j, dim = s_k, inner = Π_{j>k} s_j: element (o, d, i) sits at (o·dim + d)·inner + i.
// The output is [outer, inner] (keepdim only changes the shape the engine reports: [.., 1, ..] or the dimension dropped),
// element (o, i) at o·inner + i. inner = 1 is a reduction along contiguous rows; inner > 1 reduces across rows, and
// consecutive outputs read consecutive addresses (vector lanes on the cpu, coalesced loads on a GPU).
//
//   op    forward y[o, i]                                    aux                        backward (ACCUMULATES into dx[o, d, i])
//   Sum   scale·Σ_d x[o, d, i]   (scale 1: sum, 1/dim: mean)   —                         += scale·dy[o, i]
//   Max   max_d x[o, d, i]: the first maximum; a NaN wins     Int32 index d* of it       dx[o, d*, i] += dy[o, i]   (torch.max(dim))
//   Min   min_d, the same rules                               Int32 index                dx[o, d*, i] += dy[o, i]
//   Var   scale·Σ_d (x − m)², m = (1/dim)·Σ_d x                 Float32 mean m (optional)  += dy·2·scale·(x − m)
//         scale = 1 / max(0, dim − correction): correction 1 is torch's unbiased var, 0 the population variance; dim ≤
//         correction divides by 0 (NaN, as torch)
// Sums are accumulated in double on the cpu (in order of d in the reference) and in float on the GPU (a tree over L lanes).
//
// SOFTMAX along dim, per (o, i), numerically stable: m = max_d x; e_d = exp(x_d − m) (every exponent ≤ 0: no overflow);
//   softmax      y_d = e_d / Σ e             backward  dx_d += y_d·(dy_d − Σ_k dy_k·y_k)
//   log_softmax  y_d = (x_d − m) − ln Σ e    backward  dx_d += dy_d − exp(y_d)·Σ_k dy_k
/// <summary>The reductions of <see cref="IBackend.ReduceDim"/> along one dimension (table above). The numeric values are the
/// op argument of the GPU kernels.</summary>
public enum DimReduction
{
    /// <summary>scale·Σ_d x: scale 1 is sum, 1/dim mean. No aux.</summary>
    Sum = 0,
    /// <summary>max_d x, the first maximum, a NaN beating every number; aux receives its Int32 index d.</summary>
    Max = 1,
    /// <summary>min_d x, the same rules as Max; aux receives its Int32 index d.</summary>
    Min = 2,
    /// <summary>scale·Σ_d (x − m)² with m the mean, scale = 1 / (dim − correction); aux, if given, receives m.</summary>
    Var = 3,
}

public partial interface IBackend
{
    /// <summary>y[o, i] = the reduction of x[o, :, i] over an [outer, dim, inner] view (table in ReduceDim.cs). aux: Max/Min, the
    /// Int32 index of the winner (required); Var, the Float32 mean (may be null); Sum, null.</summary>
    void ReduceDim(DimReduction op, Storage x, Storage y, Storage? aux, int outer, int dim, int inner, float scale);

    /// <summary>dx[o, d, i] += the reduction's gradient (ACCUMULATES; table in ReduceDim.cs). x: Var's input (else unused);
    /// aux: Max/Min's Int32 index, Var's mean (required); dy [outer, inner].</summary>
    void ReduceDimBackward(DimReduction op, Storage x, Storage? aux, Storage dy, Storage dx, int outer, int dim, int inner, float scale);

    /// <summary>y = softmax (or log_softmax when <paramref name="log"/>) of x along dim of an [outer, dim, inner] view.</summary>
    void SoftmaxDim(Storage x, Storage y, int outer, int dim, int inner, bool log);

    /// <summary>dx += the softmax's (log_softmax's) backward, given its output y and dy (ACCUMULATES).</summary>
    void SoftmaxDimBackward(Storage y, Storage dy, Storage dx, int outer, int dim, int inner, bool log);
}
