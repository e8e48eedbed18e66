namespace ScratchNet.Kernels;

// GEMM in plain C#: the readable definition and the correctness oracle for the GPU kernels.
//
// Work is split by rows of C: row i of C[b] depends only on row i of op(A[b]) and on all of op(B[b]),
// so the Batch·M rows run in parallel with no synchronisation. Inside a row:
//   - B not transposed (stored [K, N]): C[i, :] = Beta·C[i, :], then for each p, C[i, :] += (Alpha·A(i,p))·B[p, :]
//     ("i-p-j" order: the inner loop walks a row of B and a row of C, both contiguous);
//   - B transposed (stored [N, K]): C[i, j] = Alpha·⟨A(i, :), B[j, :]⟩ + Beta·C[i, j], a dot product of
//     two contiguous rows when A is not transposed.
// A(i, p) is A[i·K + p], or A[p·M + i] when TransA (A stored [K, M]).
// CpuBackend.Gemm dispatches to the fast SGEMM (kernels/gemm/Sgemm*.cs: packed panels, AVX-512 micro-kernel);
// These loops stay as the oracle it is tested against (--kernels reference or --gemm-version 1 run them).
public static partial class Reference
{
    /// <summary>C[b] = Alpha·op(A[b])·op(B[b]) + Beta·C[b] on managed arrays (sizes are not re-checked: call g.Validate first).</summary>
    public static void Gemm(in GemmArgs g, float[] a, float[] b, float[] c)
    {
        var args = g; // lambdas cannot capture an `in` parameter
        CpuBackend.For(args.Batch * args.M, row => GemmRow(args, a, b, c, row / args.M, row % args.M),
            costPerItem: (long)args.N * args.K);
    }

    /// <summary>Computes row i of C[batch].</summary>
    public static void GemmRow(in GemmArgs g, float[] a, float[] b, float[] c, int batch, int i)
    {
        int M = g.M, N = g.N, K = g.K;
        int aBase = g.OffsetA + batch * g.StrideA;
        int bBase = g.OffsetB + batch * g.StrideB;
        int cRow = g.OffsetC + batch * g.StrideC + i * N;

        // A(i, p): row i of op(A) is contiguous when A is not transposed, strided by M when it is.
        int aStart = g.TransA ? aBase + i : aBase + i * K;
        int aStep = g.TransA ? M : 1;

        if (!g.TransB)
        {
            for (int j = 0; j < N; j++) c[cRow + j] = g.Beta == 0f ? 0f : g.Beta * c[cRow + j];
            for (int p = 0; p < K; p++)
            {
                float s = g.Alpha * a[aStart + p * aStep];
                int bRow = bBase + p * N;
                for (int j = 0; j < N; j++) c[cRow + j] += s * b[bRow + j];
            }
        }
        else
        {
            for (int j = 0; j < N; j++)
            {
                int bRow = bBase + j * K;
                float dot = 0f;
                for (int p = 0; p < K; p++) dot += a[aStart + p * aStep] * b[bRow + p];
                c[cRow + j] = g.Beta == 0f ? g.Alpha * dot : g.Alpha * dot + g.Beta * c[cRow + j];
            }
        }
    }
}
