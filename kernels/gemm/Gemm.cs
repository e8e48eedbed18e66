namespace ScratchNet.Kernels;

// ── gemm ── C = alpha·op(A)·op(B) + beta·C, batched, row-major: Linear, and the heart of im2col conv
//   definition  Gemm.Reference.cs   (the oracle of the tests and `scratchnet check`)
//   cpu         Gemm.Cpu.cs: --gemm-version 1 the reference loops; 2 (default) the packed SGEMM: Sgemm.cs (blocking,
//               threads), Sgemm.Pack.cs (panels), Sgemm.Kernels.cs (avx512 8×32 | avx2 6×16 | vector micro-kernels),
//               Sgemm.DotNT.cs (few rows, long K)
//   gpu         --gemm-version 1–2: Gemm.Ilgpu.cs (shared-memory tiles, register blocking); 3–5 (default 5):
//               Gemm.Ilgpu.Fast.cs (128-bit loads, transposed A tile, double buffering, split K)
//   tests       tests/GemmTests.cs, tests/SgemmTests.cs
//   check/bench bench/ops/GemmOp.cs: scratchnet check --op gemm, scratchnet bench --op gemm (GFLOP/s; OpenBLAS and cuBLAS beside it)
//
// GEMM: general matrix multiply, the workhorse of Linear, MatMul and (through im2col) Conv2d.
//
//   C[b] = Alpha · op(A[b]) · op(B[b]) + Beta · C[b]        for b = 0 .. Batch-1
//
// Every matrix is a dense row-major block inside a flat storage:
//   op(A) is M×K.  A is stored [M, K] (row i at OffsetA + b·StrideA + i·K), or [K, M] when TransA.
//   op(B) is K×N.  B is stored [K, N], or [N, K] when TransB.
//   C     is M×N,  stored [M, N] at OffsetC + b·StrideC.
// A stride of 0 reuses the same matrix for every batch item (conv shares its weights that way).
// Beta = 0 means C is only written, never read (it may hold garbage from the pool, even NaN).


/// <summary>
/// The shape of one (batched) GEMM call: C[b] = Alpha·op(A[b])·op(B[b]) + Beta·C[b], row-major,
/// op(X) = Xᵀ when its Trans flag is set (A is then stored [K, M], B stored [N, K]).
/// Offsets and strides are in elements; a stride is the distance between consecutive batch items.
/// </summary>
/// <param name="TransA">A is stored [K, M] and op(A) = Aᵀ; otherwise stored [M, K].</param>
/// <param name="TransB">B is stored [N, K] and op(B) = Bᵀ; otherwise stored [K, N].</param>
/// <param name="M">Rows of op(A) and C.</param>
/// <param name="N">Columns of op(B) and C.</param>
/// <param name="K">Columns of op(A) and rows of op(B): the summed dimension.</param>
/// <param name="Alpha">Scale of the product.</param>
/// <param name="Beta">Scale of the old C: 1 accumulates, 0 overwrites without reading C (which may hold NaN).</param>
/// <param name="Batch">Number of independent products.</param>
/// <param name="OffsetA">Element offset of A's first batch item in its storage.</param>
/// <param name="OffsetB">Element offset of B's first batch item.</param>
/// <param name="OffsetC">Element offset of C's first batch item.</param>
/// <param name="StrideA">Elements between A's batch items; 0 reuses one A for every item.</param>
/// <param name="StrideB">Elements between B's batch items; 0 reuses one B for every item.</param>
/// <param name="StrideC">Elements between C's batch items: at least M·N when Batch &gt; 1 (the items must not overlap).</param>
public readonly record struct GemmArgs(
    bool TransA, bool TransB, int M, int N, int K, float Alpha = 1f, float Beta = 0f,
    int Batch = 1, int OffsetA = 0, int OffsetB = 0, int OffsetC = 0, int StrideA = 0, int StrideB = 0, int StrideC = 0)
{
    /// <summary>
    /// Throws an ArgumentException when the sizes are not positive, a batch item would reach past the
    /// end of its storage, or batch items of C overlap (they are written in parallel). Every backend
    /// calls this before launching, so no kernel can index out of range.
    /// </summary>
    public void Validate(int lengthA, int lengthB, int lengthC)
    {
        if (M <= 0 || N <= 0 || K <= 0 || Batch <= 0)
            throw new ArgumentException($"gemm: M, N, K and Batch must be positive, got M={M}, N={N}, K={K}, Batch={Batch}");
        if (OffsetA < 0 || OffsetB < 0 || OffsetC < 0 || StrideA < 0 || StrideB < 0 || StrideC < 0)
            throw new ArgumentException($"gemm: offsets and strides must be >= 0, got offsets ({OffsetA}, {OffsetB}, {OffsetC}), strides ({StrideA}, {StrideB}, {StrideC})");
        if (Batch > 1 && StrideC < (long)M * N)
            throw new ArgumentException($"gemm: with Batch={Batch} the C matrices ({M}x{N}) must not overlap, got StrideC={StrideC}");
        Fits("A", OffsetA, StrideA, (long)M * K, lengthA);
        Fits("B", OffsetB, StrideB, (long)K * N, lengthB);
        Fits("C", OffsetC, StrideC, (long)M * N, lengthC);
    }

    private void Fits(string name, int offset, int stride, long size, int length)
    {
        long end = offset + (long)(Batch - 1) * stride + size;
        if (end > length)
            throw new ArgumentException($"gemm: {name} needs {end} elements (offset {offset}, stride {stride}, batch {Batch}, {size} per matrix; M={M}, N={N}, K={K}, TransA={TransA}, TransB={TransB}) but its storage holds {length}");
    }

    /// <summary>Multiply-adds performed (for GFLOP/s: 2 × this / seconds).</summary>
    public long MultiplyAdds => (long)Batch * M * N * K;
}

public partial interface IBackend
{
    /// <summary>
    /// C[b] = Alpha·op(A[b])·op(B[b]) + Beta·C[b] for every batch item (see <see cref="GemmArgs"/>).
    /// Beta = 1 accumulates (gradients); Beta = 0 overwrites without reading C.
    /// </summary>
    void Gemm(in GemmArgs g, Storage a, Storage b, Storage c);
}
