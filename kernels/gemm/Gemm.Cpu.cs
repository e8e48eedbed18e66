namespace ScratchNet.Kernels;

// The GEMM of the cpu device: version 1, the plain loops of Gemm.Reference.cs; version 2, the packed SGEMM (Sgemm*.cs).
public sealed partial class CpuBackend
{
    /// <summary>C = Alpha·op(A)·op(B) + Beta·C: Reference.Gemm's loops (Gemm.Reference.cs) with --kernels reference or --gemm-version 1
    /// (<see cref="ReferenceGemm"/>), else the packed SGEMM (kernels/gemm/Sgemm*.cs) on this device's vector path.</summary>
    public void Gemm(in GemmArgs g, Storage a, Storage b, Storage c)
    {
        g.Validate(a.Length, b.Length, c.Length);
        if (ReferenceGemm) { Reference.Gemm(g, F(a), F(b), F(c)); return; }
        FastGemm(g, Path, F(a), F(b), F(c));
    }

    /// <summary>
    /// The batch runs as Batch calls of the packed, register-blocked Sgemm. Each call threads itself once it is
    /// big enough (Sgemm.ParallelThresholdFlops); a batch of small products (the per-image GEMMs of a small
    /// conv) instead runs its items in parallel, one single-threaded Sgemm per item.
    /// </summary>
    private static unsafe void FastGemm(GemmArgs g, KernelPath path, float[] a, float[] b, float[] c)
    {
        int lda = g.TransA ? g.M : g.K, ldb = g.TransB ? g.K : g.N, ldc = g.N;
        double flops = 2.0 * g.M * g.N * g.K;
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (g.Batch == 1 || flops >= Sgemm.ParallelThresholdFlops)
            {
                for (int i = 0; i < g.Batch; i++)
                    Sgemm.Gemm(path, g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, pa + g.OffsetA + (long)i * g.StrideA, lda,
                        pb + g.OffsetB + (long)i * g.StrideB, ldb, g.Beta, pc + g.OffsetC + (long)i * g.StrideC, ldc);
                return;
            }
            nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
            Parallel.For(0, g.Batch, i =>
                Sgemm.Gemm(path, g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, (float*)ia + g.OffsetA + (long)i * g.StrideA, lda,
                    (float*)ib + g.OffsetB + (long)i * g.StrideB, ldb, g.Beta, (float*)ic + g.OffsetC + (long)i * g.StrideC, ldc));
        }
    }
}
