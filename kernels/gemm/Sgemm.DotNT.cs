using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// C = A·Bᵀ + beta·C for a small output and a long K, as dot products (AVX-512).
//
// A is M×K and B is N×K, both row-major: every C[i, j] = Σ_p A[i, p]·B[j, p] is the dot product of two
// contiguous rows. The packed GEMM (Sgemm.cs) wants K-major panels, so for this "NT" layout it transposes
// both operands while packing; when the output is tiny (the seed CNN's conv1 weight gradient: 8×25 per
// image, K = 576 output pixels) the two transposes cost several times the arithmetic. Here nothing is
// packed: a 4×4 block of C keeps 16 accumulators of 16 lanes (16 of the 32 zmm registers); per step of 16
// along K it loads 4 vectors of A and 4 of B and issues 16 FMAs. At the end each accumulator is summed
// across its lanes, and the K mod 16 leftover products are added in scalar. Edge blocks (M or N not a
// multiple of 4) run one dot product at a time.
//
// Used by the per-image convolution (Conv.Cpu.PerImage.cs) for weight gradients with few output
// channels and many pixels (DotNTApplies); everything else goes through the packed GEMM.
public static unsafe partial class Sgemm
{
    /// <summary>True when DotNT is expected to beat the packed GEMM for C [M, N] += A [M, K] · B [N, K]ᵀ on
    /// the given path: AVX-512, at most 16 rows of C and K ≥ 256 (measured per layer: `scratchnet bench --op conv2d`, bench/results/cpu-2core).</summary>
    public static bool DotNTApplies(KernelPath path, int M, int N, int K)
    {
        if (path == KernelPath.Simd) path = BestPath;
        return path == KernelPath.Avx512 && Avx512F.IsSupported && M <= 16 && K >= 256 && N > 0;
    }

    /// <summary>C [M, N] (row stride ldc) = A [M, K] · B [N, K]ᵀ + beta·C, on the calling thread; beta == 0 never
    /// reads C. Requires AVX-512F (see DotNTApplies).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotNT(int M, int N, int K, float* A, nint lda, float* B, nint ldb, float beta, float* C, nint ldc)
    {
        if (!Avx512F.IsSupported) throw new PlatformNotSupportedException("Sgemm.DotNT needs AVX-512F");
        if (M < 0 || N < 0 || K < 0 || lda < K || ldb < K || ldc < N)
            throw new ArgumentException($"Sgemm.DotNT: bad sizes M={M}, N={N}, K={K}, lda={lda}, ldb={ldb}, ldc={ldc}");
        for (int i0 = 0; i0 < M; i0 += 4)
            for (int j0 = 0; j0 < N; j0 += 4)
            {
                if (i0 + 4 <= M && j0 + 4 <= N) { Block4x4(K, A + i0 * lda, lda, B + j0 * ldb, ldb, beta, C + i0 * ldc + j0, ldc); continue; }
                for (int i = i0; i < Math.Min(M, i0 + 4); i++)
                    for (int j = j0; j < Math.Min(N, j0 + 4); j++)
                    {
                        float dot = Dot(K, A + i * lda, B + j * ldb);
                        float* c = C + i * ldc + j;
                        *c = beta == 0f ? dot : dot + beta * *c;
                    }
            }
    }

    static float Dot(int K, float* a, float* b)
    {
        var acc = Vector512<float>.Zero;
        int p = 0;
        for (; p + 16 <= K; p += 16) acc = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(a + p), Avx512F.LoadVector512(b + p), acc);
        float sum = Vector512.Sum(acc);
        for (; p < K; p++) sum += a[p] * b[p];
        return sum;
    }

    /// <summary>C[0..4, 0..4] = A[0..4, :] · B[0..4, :]ᵀ + beta·C: 16 accumulators, unrolled by hand (cRow, cColumn).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block4x4(int K, float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default,
                         c10 = default, c11 = default, c12 = default, c13 = default,
                         c20 = default, c21 = default, c22 = default, c23 = default,
                         c30 = default, c31 = default, c32 = default, c33 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        float* b0 = b, b1 = b + ldb, b2 = b + 2 * ldb, b3 = b + 3 * ldb;
        int p = 0;
        for (; p + 16 <= K; p += 16)
        {
            var x0 = Avx512F.LoadVector512(a0 + p); var x1 = Avx512F.LoadVector512(a1 + p);
            var x2 = Avx512F.LoadVector512(a2 + p); var x3 = Avx512F.LoadVector512(a3 + p);
            var y = Avx512F.LoadVector512(b0 + p);
            c00 = Avx512F.FusedMultiplyAdd(x0, y, c00); c10 = Avx512F.FusedMultiplyAdd(x1, y, c10);
            c20 = Avx512F.FusedMultiplyAdd(x2, y, c20); c30 = Avx512F.FusedMultiplyAdd(x3, y, c30);
            y = Avx512F.LoadVector512(b1 + p);
            c01 = Avx512F.FusedMultiplyAdd(x0, y, c01); c11 = Avx512F.FusedMultiplyAdd(x1, y, c11);
            c21 = Avx512F.FusedMultiplyAdd(x2, y, c21); c31 = Avx512F.FusedMultiplyAdd(x3, y, c31);
            y = Avx512F.LoadVector512(b2 + p);
            c02 = Avx512F.FusedMultiplyAdd(x0, y, c02); c12 = Avx512F.FusedMultiplyAdd(x1, y, c12);
            c22 = Avx512F.FusedMultiplyAdd(x2, y, c22); c32 = Avx512F.FusedMultiplyAdd(x3, y, c32);
            y = Avx512F.LoadVector512(b3 + p);
            c03 = Avx512F.FusedMultiplyAdd(x0, y, c03); c13 = Avx512F.FusedMultiplyAdd(x1, y, c13);
            c23 = Avx512F.FusedMultiplyAdd(x2, y, c23); c33 = Avx512F.FusedMultiplyAdd(x3, y, c33);
        }
        Store(c, beta, Vector512.Sum(c00), Vector512.Sum(c01), Vector512.Sum(c02), Vector512.Sum(c03), a0, b0, b1, b2, b3, p, K);
        Store(c + ldc, beta, Vector512.Sum(c10), Vector512.Sum(c11), Vector512.Sum(c12), Vector512.Sum(c13), a1, b0, b1, b2, b3, p, K);
        Store(c + 2 * ldc, beta, Vector512.Sum(c20), Vector512.Sum(c21), Vector512.Sum(c22), Vector512.Sum(c23), a2, b0, b1, b2, b3, p, K);
        Store(c + 3 * ldc, beta, Vector512.Sum(c30), Vector512.Sum(c31), Vector512.Sum(c32), Vector512.Sum(c33), a3, b0, b1, b2, b3, p, K);
    }

    /// <summary>One row of a 4×4 block: adds the scalar products of the K mod 16 leftover columns, then writes with beta.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, float beta, float s0, float s1, float s2, float s3, float* a, float* b0, float* b1, float* b2, float* b3, int p, int K)
    {
        for (; p < K; p++) { float x = a[p]; s0 += x * b0[p]; s1 += x * b1[p]; s2 += x * b2[p]; s3 += x * b3[p]; }
        if (beta == 0f) { c[0] = s0; c[1] = s1; c[2] = s2; c[3] = s3; }
        else { c[0] = s0 + beta * c[0]; c[1] = s1 + beta * c[1]; c[2] = s2 + beta * c[2]; c[3] = s3 + beta * c[3]; }
    }
}
