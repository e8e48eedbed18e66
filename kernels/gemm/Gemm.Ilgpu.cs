using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// GEMM as ILGPU kernels: C[b] = Alpha·op(A[b])·op(B[b]) + Beta·C[b], row-major (see Gemm.cs).
//
// Both versions give each thread group one tile of C and walk the K dimension in slices: the group
// copies a slice of op(A) (tile rows × slice) and of op(B) (slice × tile columns) into shared memory,
// waits at a barrier, multiplies the slices out of shared memory, waits again, and moves on. Every
// element of A and B is then read from global memory once per tile instead of once per output element.
// The grid is (N tiles, M tiles, Batch): Grid.IdxX picks the tile column, Grid.IdxY the tile row,
// Grid.IdxZ the batch item.
//
// Versions (--gemm-version N, DeviceOptions.GemmVersion, selects one; each adds one idea to the previous):
//   v1  shared-memory tiling. 16×16 tile of C per group of 16×16 threads, one output per thread,
//       K slices of 16. Per multiply-add a thread does two shared-memory reads.
//   v2  2-D register blocking. 64×64 tile of C per group of 16×16 threads, each thread computes a 4×4
//       micro-tile held in 16 scalar accumulators (ILGPU keeps scalars in registers; it does not unroll
//       loops, so the 4×4 product is written out by hand). Per K step a thread reads 4 values of A and 4 of B
//       from shared memory and does 16 multiply-adds: 4× fewer shared reads per flop than v1, and each
//       value loaded from global memory feeds 64 outputs instead of 16.
//
//   v3 … v5 (Gemm.Ilgpu.Fast.cs): 128-bit loads with an 8×8 block per thread, a transposed A tile,
//       double buffering, and split K for small M·N. v5 is the default. Figures per version and size:
//       bench/results/h100/gemm-versions.md.
//
// Shared-memory layout (v1, v2): the slices are stored k-major, As[k][i] and Bs[k][j], so the
// inner product loop reads one row of each. Rows are padded by one float (stride TILE+1) so that
// the transposing stores of a load (adjacent threads writing adjacent k) hit different banks.
// Loads are coalesced for every transpose: the thread→element mapping follows the stored layout,
// e.g. for A stored [M, K] adjacent threads read adjacent k, for A stored [K, M] adjacent i.
// Out-of-range elements (M, N, K not multiples of the tile) are loaded as 0 and never stored.
// In v2 thread (ty, tx) owns rows ty + 16r and columns tx + 16c (r, c = 0..3) of the tile: strided
// rather than contiguous so that the 16 threads of a row read 16 adjacent Bs entries (no bank conflict)
// and write 16 adjacent C entries (coalesced).
public sealed partial class IlgpuBackend
{
    /// <summary>The kernel parameters of one GEMM launch: GemmArgs with ints for the flags (public: ILGPU must see kernel parameter types).</summary>
    public struct GemmParams
    {
        /// <summary>1 when A is stored [K, M] (op(A) = Aᵀ), else 0.</summary>
        public int TransA;
        /// <summary>1 when B is stored [N, K] (op(B) = Bᵀ), else 0.</summary>
        public int TransB;
        /// <summary>Rows of op(A) and C.</summary>
        public int M;
        /// <summary>Columns of op(B) and C.</summary>
        public int N;
        /// <summary>The summed dimension.</summary>
        public int K;
        /// <summary>Element offset of A's first batch item.</summary>
        public int OffsetA;
        /// <summary>Element offset of B's first batch item.</summary>
        public int OffsetB;
        /// <summary>Element offset of C's first batch item.</summary>
        public int OffsetC;
        /// <summary>Elements between A's batch items (0: shared).</summary>
        public int StrideA;
        /// <summary>Elements between B's batch items (0: shared).</summary>
        public int StrideB;
        /// <summary>Elements between C's batch items.</summary>
        public int StrideC;
        /// <summary>Scale of the product.</summary>
        public float Alpha;
        /// <summary>Scale of the old C; 0 means C is written without being read.</summary>
        public float Beta;
    }

    /// <summary>The GEMM kernel versions, oldest first; see the header comments of Gemm.Ilgpu.cs and Gemm.Ilgpu.Fast.cs.</summary>
    public static readonly string[] GemmVersionNames =
    [
        "v1 shared-memory tiles 16×16",
        "v2 + 4×4 register blocking (64×64 tiles)",
        "v3 + 128-bit loads, 8×8 per thread (128×128 tiles)",
        "v4 + transposed A tile",
        "v5 + double buffering, split K",
    ];

    /// <summary>Which GEMM kernel Gemm launches (1 … 5): the options' --gemm-version, or 5, the fastest.</summary>
    public int GemmVersion => Options.GemmVersion == 0 ? DeviceOptions.IlgpuGemmVersions : Options.GemmVersion;

    // ------------------------------------------------------------------ v1: 16×16 shared-memory tiles

    const int T1 = 16;          // tile edge (C tile, K slice, group edge)
    const int T1Pad = T1 + 1;   // padded row stride of the shared slices

    static void GemmTiledKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        var As = SharedMemory.Allocate<float>(T1 * T1Pad);   // As[k * T1Pad + i] = op(A)(row0 + i, k0 + k)
        var Bs = SharedMemory.Allocate<float>(T1 * T1Pad);   // Bs[k * T1Pad + j] = op(B)(k0 + k, col0 + j)
        int tx = Group.IdxX, ty = Group.IdxY;
        int row0 = Grid.IdxY * T1, col0 = Grid.IdxX * T1, batch = Grid.IdxZ;
        int aBase = p.OffsetA + batch * p.StrideA, bBase = p.OffsetB + batch * p.StrideB;

        float acc = 0f;
        for (int k0 = 0; k0 < p.K; k0 += T1)
        {
            // One element of each slice per thread; (i, k) and (k, j) chosen so adjacent threads read adjacent addresses.
            int i = p.TransA == 0 ? ty : tx, ka = p.TransA == 0 ? tx : ty;
            As[ka * T1Pad + i] = LoadA(a, p, aBase, row0 + i, k0 + ka);
            int j = p.TransB == 0 ? tx : ty, kb = p.TransB == 0 ? ty : tx;
            Bs[kb * T1Pad + j] = LoadB(b, p, bBase, k0 + kb, col0 + j);
            Group.Barrier();

            for (int k = 0; k < T1; k++) acc += As[k * T1Pad + ty] * Bs[k * T1Pad + tx];
            Group.Barrier();
        }
        Store(c, p, p.OffsetC + batch * p.StrideC, row0 + ty, col0 + tx, acc);
    }

    /// <summary>op(A)(i, k), or 0 outside the M×K matrix.</summary>
    static float LoadA(ArrayView<float> a, GemmParams p, int aBase, int i, int k)
    {
        if (i >= p.M || k >= p.K) return 0f;
        return p.TransA == 0 ? a[aBase + i * p.K + k] : a[aBase + k * p.M + i];
    }

    /// <summary>op(B)(k, j), or 0 outside the K×N matrix.</summary>
    static float LoadB(ArrayView<float> b, GemmParams p, int bBase, int k, int j)
    {
        if (k >= p.K || j >= p.N) return 0f;
        return p.TransB == 0 ? b[bBase + k * p.N + j] : b[bBase + j * p.K + k];
    }

    /// <summary>C(i, j) = Alpha·acc + Beta·C(i, j) inside the M×N matrix (C is not read when Beta = 0).</summary>
    static void Store(ArrayView<float> c, GemmParams p, int cBase, int i, int j, float acc)
    {
        if (i >= p.M || j >= p.N) return;
        int idx = cBase + i * p.N + j;
        c[idx] = p.Beta == 0f ? p.Alpha * acc : p.Alpha * acc + p.Beta * c[idx];
    }

    // ------------------------------------------------------------------ v2: 64×64 tiles, 4×4 per thread

    const int T2 = 64;          // C tile edge
    const int BK = 16;          // K slice
    const int T2Pad = T2 + 1;   // padded row stride of the shared slices
    const int G2 = 16;          // group edge: 16×16 = 256 threads, each 4×4 outputs

    static void GemmRegisterKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmParams p)
    {
        var As = SharedMemory.Allocate<float>(BK * T2Pad);   // As[k * T2Pad + i] = op(A)(row0 + i, k0 + k)
        var Bs = SharedMemory.Allocate<float>(BK * T2Pad);   // Bs[k * T2Pad + j] = op(B)(k0 + k, col0 + j)
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * G2 + tx;
        int row0 = Grid.IdxY * T2, col0 = Grid.IdxX * T2, batch = Grid.IdxZ;
        int aBase = p.OffsetA + batch * p.StrideA, bBase = p.OffsetB + batch * p.StrideB;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;

        for (int k0 = 0; k0 < p.K; k0 += BK)
        {
            // Each slice has 64×16 = 1024 elements: 4 per thread. Element e = tid + 256·l is split into
            // (i, k) or (k, j) along the stored layout so that adjacent threads read adjacent addresses.
            for (int l = 0; l < 4; l++)
            {
                int e = tid + G2 * G2 * l;
                int i = p.TransA == 0 ? e / BK : e % T2, ka = p.TransA == 0 ? e % BK : e / T2;
                As[ka * T2Pad + i] = LoadA(a, p, aBase, row0 + i, k0 + ka);
                int j = p.TransB == 0 ? e % T2 : e / BK, kb = p.TransB == 0 ? e / T2 : e % BK;
                Bs[kb * T2Pad + j] = LoadB(b, p, bBase, k0 + kb, col0 + j);
            }
            Group.Barrier();

            for (int k = 0; k < BK; k++)
            {
                int o = k * T2Pad;
                float a0 = As[o + ty], a1 = As[o + ty + 16], a2 = As[o + ty + 32], a3 = As[o + ty + 48];
                float b0 = Bs[o + tx], b1 = Bs[o + tx + 16], b2 = Bs[o + tx + 32], b3 = Bs[o + tx + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        int cBase = p.OffsetC + batch * p.StrideC;
        int r0 = row0 + ty, q0 = col0 + tx;
        Store(c, p, cBase, r0, q0, c00); Store(c, p, cBase, r0, q0 + 16, c01); Store(c, p, cBase, r0, q0 + 32, c02); Store(c, p, cBase, r0, q0 + 48, c03);
        Store(c, p, cBase, r0 + 16, q0, c10); Store(c, p, cBase, r0 + 16, q0 + 16, c11); Store(c, p, cBase, r0 + 16, q0 + 32, c12); Store(c, p, cBase, r0 + 16, q0 + 48, c13);
        Store(c, p, cBase, r0 + 32, q0, c20); Store(c, p, cBase, r0 + 32, q0 + 16, c21); Store(c, p, cBase, r0 + 32, q0 + 32, c22); Store(c, p, cBase, r0 + 32, q0 + 48, c23);
        Store(c, p, cBase, r0 + 48, q0, c30); Store(c, p, cBase, r0 + 48, q0 + 16, c31); Store(c, p, cBase, r0 + 48, q0 + 32, c32); Store(c, p, cBase, r0 + 48, q0 + 48, c33);
    }

    // ------------------------------------------------------------------ launch

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>? _gemm1, _gemm2;

    /// <inheritdoc />
    public void Gemm(in GemmArgs g, Storage a, Storage b, Storage c) => Gemm(g, a, b, c, GemmVersion);

    /// <summary>Gemm with an explicit kernel version (1 … 5), for tests and benchmarks that compare them.</summary>
    public void Gemm(in GemmArgs g, Storage a, Storage b, Storage c, int kernelVersion)
    {
        if (kernelVersion is < 1 or > 5) throw new ArgumentException($"gemm: known kernel versions are 1 to 5, got {kernelVersion}");
        g.Validate(a.Length, b.Length, c.Length);
        if (g.M == 0 || g.N == 0 || g.Batch == 0) return;
        if (kernelVersion >= 3) { GemmFast(g, a, b, c, kernelVersion); return; }
        var p = new GemmParams
        {
            TransA = g.TransA ? 1 : 0, TransB = g.TransB ? 1 : 0, M = g.M, N = g.N, K = g.K,
            OffsetA = g.OffsetA, OffsetB = g.OffsetB, OffsetC = g.OffsetC,
            StrideA = g.StrideA, StrideB = g.StrideB, StrideC = g.StrideC, Alpha = g.Alpha, Beta = g.Beta,
        };
        int tile = kernelVersion == 1 ? T1 : T2;
        int tilesX = (g.N + tile - 1) / tile, tilesY = (g.M + tile - 1) / tile;
        // CUDA caps grid Y and Z at 65535; rows use Y, so M is capped at 65535 tiles (batches are split below).
        if (tilesY > 65535)
            throw new ArgumentException($"gemm: M={g.M} needs {tilesY} row tiles, more than the 65535 a grid allows; transpose the problem so the larger side is N");
        var kernel = kernelVersion == 1
            ? _gemm1 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>(GemmTiledKernel)
            : _gemm2 ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmParams>(GemmRegisterKernel);
        var group = kernelVersion == 1 ? new Index3D(T1, T1, 1) : new Index3D(G2, G2, 1);
        for (int b0 = 0; b0 < g.Batch; b0 += 65535)
        {
            int nb = Math.Min(65535, g.Batch - b0);
            var q = p;
            q.OffsetA += b0 * g.StrideA; q.OffsetB += b0 * g.StrideB; q.OffsetC += b0 * g.StrideC;
            kernel(new KernelConfig(new Index3D(tilesX, tilesY, nb), group), F(a), F(b), F(c), q);
        }
    }
}
