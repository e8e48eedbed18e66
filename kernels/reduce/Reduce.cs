namespace ScratchNet.Kernels;

// ── reduce ── Σ x over a buffer (deterministic: fixed chunks, fixed order) and argmax per row
//   definition  Reduce.Reference.cs   (the oracle of the tests and `scratchnet check`)
//   cpu         Reduce.Cpu.cs: the reference loops with --kernels reference, else Reduce.Cpu.Simd.cs (avx512 | avx2 | vector)
//   gpu         Reduce.Ilgpu.cs
//   tests       tests/ReduceTests.cs, tests/CpuSimdTests.cs
//   check/bench bench/ops/ReduceOp.cs: scratchnet check --op reduce, scratchnet bench --op reduce (GB/s)
//   along a dim ReduceDim.cs (its own card: the family `reducedim`, sum/max/min/var/softmax over an [outer, dim, inner] view)
//
// Reductions: the sum of a whole buffer, and per-row argmax of a row-major [N, C] matrix (row r at r·C).
public partial interface IBackend
{
    /// <summary>y[0] = Σ_i x[i] over n elements. Deterministic: the same input gives the same bits every run.</summary>
    void Sum(Storage x, Storage y, int n);

    /// <summary>idx[r] = argmax_j x[r, j] (Int32) for each row of x [n, c]. The first maximum wins; a NaN
    /// counts as larger than any number (as torch.argmax), so the first NaN of a row wins.</summary>
    void ArgmaxRows(Storage x, Storage idx, int n, int c);

    /// <summary>How many rows r of logits [n, c] have argmax_j logits[r, j] == labels[r] (labels Int32).
    /// Returns to the host, so it waits for the device (one int is read back).</summary>
    int CountCorrect(Storage logits, Storage labels, int n, int c);
}
