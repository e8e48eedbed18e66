using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ScratchNet.Kernels;

// The micro-kernels: the innermost piece of the GEMM, where all the floating-point work happens.
//
// A micro-kernel computes one MR×NR tile of C from a packed A sliver (MR rows × kc) and a packed B
// sliver (kc × NR columns), as kc rank-1 updates held entirely in registers:
//
//     for p in 0..kc:   acc[r, :] += a[p][r] * b[p][:]      (r = 0..MR-1; b[p][:] is NR floats)
//
// Packed layouts (written by Sgemm.Pack.cs): the A sliver stores, for each p, the MR values of
// column p contiguously (a[p*MR + r]); the B sliver stores, for each p, the NR values of row p
// contiguously (b[p*NR + j]). Both are read strictly sequentially, 64-byte aligned.
//
// Each row of the tile is NR/W vectors of W lanes. Per p the kernel loads those NR/W vectors of B
// once, broadcasts each of the MR A values once, and issues MR·NR/W fused multiply-adds. The shape
// must keep the accumulators, the B vectors and one broadcast in registers without spilling, and give
// enough independent FMA chains (MR·NR/W) to cover the FMA latency (4 cycles) times the number of FMA
// pipes (2): at least 8.
//
//   AVX-512: 8×32 → 16 zmm accumulators + 2 B vectors + 1 broadcast = 19 of 32 zmm registers.
//            Per p: 2 vector loads + 8 broadcasts for 16 FMAs, well within two loads per cycle.
//            A 12×32 tile (24 accumulators) runs the k loop equally fast here, but 8 divides the row
//            counts that occur in practice (channels: 64, 192, 384, ...), so no edge sliver wastes
//            work (8×32 is also the faster of the two on the benchmark shapes: `scratchnet bench --op gemm`).
//   AVX2:    6×16 → 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm registers.
//   Vector:  4×(2·Vector<float>.Count) → 8 accumulators: portable, for CPUs without AVX2.
//
// The C tile is prefetched before the k loop (x86), so its cache misses overlap the arithmetic
// instead of stalling the write-back.
//
// Write-back: C[r, :] = alpha·acc[r, :] + beta·C[r, :], and when beta == 0 C is never read (so NaN or
// garbage in an uninitialised output does not leak through). The driver passes beta = 1 for every
// K-block after the first, which turns the write-back into accumulation.

/// <summary>One micro-kernel shape and its cache-block sizes. Sgemm's loops are generic over it, so the
/// JIT specialises them per kernel and MR/NR/KC/MC/NC become constants.</summary>
internal interface ISgemmKernel
{
    /// <summary>Rows of the C tile (broadcast A values per k).</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the C tile (B vector lanes per k).</summary>
    static abstract int NR { get; }
    /// <summary>Depth of one K block: sizes the B sliver (KC·NR floats) to sit in L1.</summary>
    static abstract int KC { get; }
    /// <summary>Rows of one packed A block: MC·KC floats sized to sit in L2.</summary>
    static abstract int MC { get; }
    /// <summary>Columns of one packed B block: KC·NC floats sized for (a share of) L3.</summary>
    static abstract int NC { get; }
    /// <summary>C[0..MR, 0..NR] (row stride ldc) = alpha·(A sliver · B sliver) + beta·C; beta == 0 never reads C.</summary>
    static abstract unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta);
}

/// <summary>AVX-512: 8×32 tile in 16 zmm registers.</summary>
internal struct Avx512Kernel : ISgemmKernel
{
    public static int MR => 8;
    public static int NR => 32;
    // Sized for Zen 5 (48 KiB L1d, 1 MiB L2 per core, 32 MiB L3): B sliver 256·32·4 B = 32 KiB in L1;
    // A block 240·256·4 B = 240 KiB in L2; B block 256·4096·4 B = 4 MiB per thread in L3.
    public static int KC => 256;
    public static int MC => 240;
    public static int NC => 4096;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        // acc row r = (cRl, cRh): columns 0..15 and 16..31 of C row r.
        Vector512<float> c0l = default, c0h = default, c1l = default, c1h = default, c2l = default, c2h = default;
        Vector512<float> c3l = default, c3h = default, c4l = default, c4h = default, c5l = default, c5h = default;
        Vector512<float> c6l = default, c6h = default, c7l = default, c7h = default;
        

        // Start fetching the C tile (8 rows of 128 bytes) now: it is needed only after the k loop.
        for (int r = 0; r < 8; r++) { Sse.Prefetch0(c + r * ldc); Sse.Prefetch0(c + r * ldc + 31); }

        for (int p = 0; p < kc; p++)
        {
            var bl = Vector512.LoadAligned(b);
            var bh = Vector512.LoadAligned(b + 16);
            Vector512<float> ar;
            ar = Vector512.Create(a[0]); c0l = Avx512F.FusedMultiplyAdd(ar, bl, c0l); c0h = Avx512F.FusedMultiplyAdd(ar, bh, c0h);
            ar = Vector512.Create(a[1]); c1l = Avx512F.FusedMultiplyAdd(ar, bl, c1l); c1h = Avx512F.FusedMultiplyAdd(ar, bh, c1h);
            ar = Vector512.Create(a[2]); c2l = Avx512F.FusedMultiplyAdd(ar, bl, c2l); c2h = Avx512F.FusedMultiplyAdd(ar, bh, c2h);
            ar = Vector512.Create(a[3]); c3l = Avx512F.FusedMultiplyAdd(ar, bl, c3l); c3h = Avx512F.FusedMultiplyAdd(ar, bh, c3h);
            ar = Vector512.Create(a[4]); c4l = Avx512F.FusedMultiplyAdd(ar, bl, c4l); c4h = Avx512F.FusedMultiplyAdd(ar, bh, c4h);
            ar = Vector512.Create(a[5]); c5l = Avx512F.FusedMultiplyAdd(ar, bl, c5l); c5h = Avx512F.FusedMultiplyAdd(ar, bh, c5h);
            ar = Vector512.Create(a[6]); c6l = Avx512F.FusedMultiplyAdd(ar, bl, c6l); c6h = Avx512F.FusedMultiplyAdd(ar, bh, c6h);
            ar = Vector512.Create(a[7]); c7l = Avx512F.FusedMultiplyAdd(ar, bl, c7l); c7h = Avx512F.FusedMultiplyAdd(ar, bh, c7h);
            a += 8;
            b += 32;
        }

        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Store(c + 0 * ldc, c0l * va, c0h * va); Store(c + 1 * ldc, c1l * va, c1h * va);
            Store(c + 2 * ldc, c2l * va, c2h * va); Store(c + 3 * ldc, c3l * va, c3h * va);
            Store(c + 4 * ldc, c4l * va, c4h * va); Store(c + 5 * ldc, c5l * va, c5h * va);
            Store(c + 6 * ldc, c6l * va, c6h * va); Store(c + 7 * ldc, c7l * va, c7h * va);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Update(c + 0 * ldc, c0l, c0h, va, vb); Update(c + 1 * ldc, c1l, c1h, va, vb);
            Update(c + 2 * ldc, c2l, c2h, va, vb); Update(c + 3 * ldc, c3l, c3h, va, vb);
            Update(c + 4 * ldc, c4l, c4h, va, vb); Update(c + 5 * ldc, c5l, c5h, va, vb);
            Update(c + 6 * ldc, c6l, c6h, va, vb); Update(c + 7 * ldc, c7l, c7h, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store(float* row, Vector512<float> lo, Vector512<float> hi)
    {
        Vector512.Store(lo, row);
        Vector512.Store(hi, row + 16);
    }

    // row = alpha·acc + beta·row
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Update(float* row, Vector512<float> lo, Vector512<float> hi, Vector512<float> va, Vector512<float> vb)
    {
        Vector512.Store(Avx512F.FusedMultiplyAdd(lo, va, Vector512.Load(row) * vb), row);
        Vector512.Store(Avx512F.FusedMultiplyAdd(hi, va, Vector512.Load(row + 16) * vb), row + 16);
    }
}

/// <summary>AVX2 + FMA: 6×16 tile in 12 ymm registers (the classic Haswell shape).</summary>
internal struct Avx2Kernel : ISgemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    // B sliver 256·16·4 B = 16 KiB (fits a 32 KiB L1d too); A block 192·256·4 B = 192 KiB of L2;
    // B block 256·4096·4 B = 4 MiB in L3.
    public static int KC => 256;
    public static int MC => 192;
    public static int NC => 4096;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c0l = default, c0h = default, c1l = default, c1h = default, c2l = default, c2h = default;
        Vector256<float> c3l = default, c3h = default, c4l = default, c4h = default, c5l = default, c5h = default;
        for (int r = 0; r < 6; r++) { Sse.Prefetch0(c + r * ldc); Sse.Prefetch0(c + r * ldc + 15); }

        for (int p = 0; p < kc; p++)
        {
            var bl = Vector256.LoadAligned(b);
            var bh = Vector256.LoadAligned(b + 8);
            Vector256<float> ar;
            ar = Vector256.Create(a[0]); c0l = Fma.MultiplyAdd(ar, bl, c0l); c0h = Fma.MultiplyAdd(ar, bh, c0h);
            ar = Vector256.Create(a[1]); c1l = Fma.MultiplyAdd(ar, bl, c1l); c1h = Fma.MultiplyAdd(ar, bh, c1h);
            ar = Vector256.Create(a[2]); c2l = Fma.MultiplyAdd(ar, bl, c2l); c2h = Fma.MultiplyAdd(ar, bh, c2h);
            ar = Vector256.Create(a[3]); c3l = Fma.MultiplyAdd(ar, bl, c3l); c3h = Fma.MultiplyAdd(ar, bh, c3h);
            ar = Vector256.Create(a[4]); c4l = Fma.MultiplyAdd(ar, bl, c4l); c4h = Fma.MultiplyAdd(ar, bh, c4h);
            ar = Vector256.Create(a[5]); c5l = Fma.MultiplyAdd(ar, bl, c5l); c5h = Fma.MultiplyAdd(ar, bh, c5h);
            a += 6;
            b += 16;
        }

        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Store(c + 0 * ldc, c0l * va, c0h * va); Store(c + 1 * ldc, c1l * va, c1h * va);
            Store(c + 2 * ldc, c2l * va, c2h * va); Store(c + 3 * ldc, c3l * va, c3h * va);
            Store(c + 4 * ldc, c4l * va, c4h * va); Store(c + 5 * ldc, c5l * va, c5h * va);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Update(c + 0 * ldc, c0l, c0h, va, vb); Update(c + 1 * ldc, c1l, c1h, va, vb);
            Update(c + 2 * ldc, c2l, c2h, va, vb); Update(c + 3 * ldc, c3l, c3h, va, vb);
            Update(c + 4 * ldc, c4l, c4h, va, vb); Update(c + 5 * ldc, c5l, c5h, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store(float* row, Vector256<float> lo, Vector256<float> hi)
    {
        Vector256.Store(lo, row);
        Vector256.Store(hi, row + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Update(float* row, Vector256<float> lo, Vector256<float> hi, Vector256<float> va, Vector256<float> vb)
    {
        Vector256.Store(Fma.MultiplyAdd(lo, va, Vector256.Load(row) * vb), row);
        Vector256.Store(Fma.MultiplyAdd(hi, va, Vector256.Load(row + 8) * vb), row + 8);
    }
}

/// <summary>Portable: 4 × (2·W) tile with System.Numerics.Vector&lt;float&gt; (W lanes: 8 on x64, 4 on Arm64).</summary>
internal struct VectorKernel : ISgemmKernel
{
    public static int MR => 4;
    public static int NR => 2 * Vector<float>.Count;
    public static int KC => 256;
    public static int MC => 128;
    public static int NC => 4096;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        int w = Vector<float>.Count;
        Vector<float> c0l = default, c0h = default, c1l = default, c1h = default;
        Vector<float> c2l = default, c2h = default, c3l = default, c3h = default;

        for (int p = 0; p < kc; p++)
        {
            var bl = Vector.Load(b);
            var bh = Vector.Load(b + w);
            Vector<float> ar;
            // MultiplyAddEstimate: fused where the hardware has FMA, multiply then add otherwise.
            ar = new Vector<float>(a[0]); c0l = Vector.MultiplyAddEstimate(ar, bl, c0l); c0h = Vector.MultiplyAddEstimate(ar, bh, c0h);
            ar = new Vector<float>(a[1]); c1l = Vector.MultiplyAddEstimate(ar, bl, c1l); c1h = Vector.MultiplyAddEstimate(ar, bh, c1h);
            ar = new Vector<float>(a[2]); c2l = Vector.MultiplyAddEstimate(ar, bl, c2l); c2h = Vector.MultiplyAddEstimate(ar, bh, c2h);
            ar = new Vector<float>(a[3]); c3l = Vector.MultiplyAddEstimate(ar, bl, c3l); c3h = Vector.MultiplyAddEstimate(ar, bh, c3h);
            a += 4;
            b += 2 * w;
        }

        var va = new Vector<float>(alpha);
        if (beta == 0f)
        {
            Store(c + 0 * ldc, c0l * va, c0h * va); Store(c + 1 * ldc, c1l * va, c1h * va);
            Store(c + 2 * ldc, c2l * va, c2h * va); Store(c + 3 * ldc, c3l * va, c3h * va);
        }
        else
        {
            var vb = new Vector<float>(beta);
            Update(c + 0 * ldc, c0l, c0h, va, vb); Update(c + 1 * ldc, c1l, c1h, va, vb);
            Update(c + 2 * ldc, c2l, c2h, va, vb); Update(c + 3 * ldc, c3l, c3h, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store(float* row, Vector<float> lo, Vector<float> hi)
    {
        Vector.Store(lo, row);
        Vector.Store(hi, row + Vector<float>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Update(float* row, Vector<float> lo, Vector<float> hi, Vector<float> va, Vector<float> vb)
    {
        float* rowHi = row + Vector<float>.Count;
        Vector.Store(Vector.MultiplyAddEstimate(lo, va, Vector.Load(row) * vb), row);
        Vector.Store(Vector.MultiplyAddEstimate(hi, va, Vector.Load(rowHi) * vb), rowHi);
    }
}
