namespace ScratchNet.Kernels;

// Conv2d per image on the cpu device: "per-image", --conv per-image (the layout and the math: Conv.cs).
//
// ConvIm2Col (used by every device) converts a whole chunk of images into one col matrix [CKK, count·OHW] and
// runs one large GEMM, then swaps the result [O, count, OHW] into [count, O, OHW]. That suits a GPU, and a CPU
// when each image's product is big. For a small convolution (the seed CNN: 8 or 16 output channels, K = 25 or
// 200) it streams megabytes through DRAM several times: im2col writes col, the GEMM packs it into a second
// copy, then the result is swapped into a third buffer, and every pass costs more than the arithmetic.
//
// Here each team thread (CpuTeam.cs) takes a contiguous range of images and works image by image in a col
// buffer of its own, [CKK, OHW], which stays in L1/L2 for small layers (seed CNN: 56 and 50 KB):
//   forward          col = im2col(x[n]);   y[n] [O, OHW] = W · col          (written in place: no swap)
//   backward data    dcol = Wᵀ · dy[n];    dx[n] += col2im(dcol)            (dy[n] is already [O, OHW])
//   backward weights col = im2col(x[n]);   dWpart += dy[n] · colᵀ           (K = OHW: one image's pixels; with
//                                                                            few channels as dot products, Sgemm.DotNT.cs)
// For the weight gradient each part sums its images, in order, into a partial dW of its own; the partials are
// then added to dw in part order. Parts are fixed ranges of images, whichever thread runs them, so the result
// does not depend on the timing of the threads: runs on one machine are bit-reproducible (the number of
// parts is the number of cores, so another machine may round differently in the last bits).
//
// The GEMMs are the same Sgemm (packed, AVX-512 micro-kernel) that ConvIm2Col calls, each on one thread;
// only the granularity differs. It pays for large convolutions too (AlexNet's: no swap, the col of one image
// is reused from L2 by the packing, and the col buffers take Parts·CKK·OHW floats, usually far less than a chunk).
// CpuBackend picks this path when there are at least as many images as threads (ConvPerImage.Prefers);
// pointwise convolutions and single images go through ConvIm2Col.
/// <summary>The per-image convolution of the cpu device (--conv per-image): each part of <see cref="CpuTeam"/> takes a fixed
/// range of images and runs im2col and the GEMM image by image in a [C·KH·KW, OH·OW] col buffer of its own, writing y in
/// place (no swap). The weight gradient sums per-part partials in part order, so results do not depend on thread timing.</summary>
public static unsafe class ConvPerImage
{
    /// <summary>Floats of the col buffers: one [CKK, OHW] matrix per part.</summary>
    public static long ColBufferElements(in ConvGeometry g) => (long)Parts(g) * g.ColRows * g.ColCols;

    /// <summary>True when per-image is expected to beat im2col (chunks of images, one big GEMM, a swap): whenever every
    /// team thread gets an image and the col buffers stay within <paramref name="maxColElements"/> (measured per layer in
    /// bench/results/cpu-2core: `scratchnet bench --op conv2d`). With fewer images than threads im2col threads the GEMM instead.</summary>
    public static bool Prefers(in ConvGeometry g, int maxColElements) =>
        !g.IsPointwise && g.N >= CpuTeam.Threads && ColBufferElements(g) <= maxColElements && BuffersFit(g);

    /// <summary>The col buffers and the dW partials (Parts·O·CKK floats) each fit one storage (at most int.MaxValue elements).</summary>
    public static bool BuffersFit(in ConvGeometry g) =>
        ColBufferElements(g) <= int.MaxValue && (long)Parts(g) * g.O * g.ColRows <= int.MaxValue;

    /// <summary>Parts: one contiguous range of images per team thread.</summary>
    public static int Parts(in ConvGeometry g) => Math.Min(g.N, CpuTeam.Threads);

    /// <summary>Images of part p: [First(p), First(p + 1)).</summary>
    static int First(in ConvGeometry g, int parts, int p) => (int)((long)g.N * p / parts);

    struct ForwardJob : ITeamJob
    {
        public ConvGeometry G;
        public float[] X, W, Y, Cols;
        public int Parts;
        public KernelPath Path;

        public readonly void RunPart(int p)
        {
            var g = G;
            int ckk = g.ColRows, ohw = g.ColCols;
            var path = Path;
            fixed (float* w = W, y = Y, cols = Cols)
            {
                float* col = cols + (long)p * ckk * ohw;
                for (int n = First(g, Parts, p); n < First(g, Parts, p + 1); n++)
                {
                    ConvSimd.Im2ColOne(path, g, X, n, Cols, p * ckk * ohw);
                    Sgemm.Gemm(path, false, false, g.O, ohw, ckk, 1f, w, ckk, col, ohw, 0f, y + (long)n * g.OutputImage, ohw);
                }
            }
        }
    }

    struct BackwardDataJob : ITeamJob
    {
        public ConvGeometry G;
        public float[] W, DY, DX, Cols;
        public int Parts;
        public KernelPath Path;

        public readonly void RunPart(int p)
        {
            var g = G;
            int ckk = g.ColRows, ohw = g.ColCols;
            var path = Path;
            fixed (float* w = W, dy = DY, cols = Cols)
            {
                float* dcol = cols + (long)p * ckk * ohw;
                for (int n = First(g, Parts, p); n < First(g, Parts, p + 1); n++)
                {
                    // dcol [CKK, OHW] = Wᵀ · dy[n]: W is stored [O, CKK], so op(A) = Wᵀ is A transposed.
                    Sgemm.Gemm(path, true, false, ckk, ohw, g.O, 1f, w, ckk, dy + (long)n * g.OutputImage, ohw, 0f, dcol, ohw);
                    ConvSimd.Col2ImOne(path, g, Cols, p * ckk * ohw, n, DX);
                }
            }
        }
    }

    struct BackwardWeightsJob : ITeamJob
    {
        public ConvGeometry G;
        public float[] X, DY, Cols, Partials;
        public int Parts;
        public KernelPath Path;

        public readonly void RunPart(int p)
        {
            var g = G;
            int ckk = g.ColRows, ohw = g.ColCols;
            var path = Path;
            fixed (float* dy = DY, cols = Cols, partials = Partials)
            {
                float* col = cols + (long)p * ckk * ohw, dw = partials + (long)p * g.O * ckk;
                int first = First(g, Parts, p);
                bool dotNT = Sgemm.DotNTApplies(path, g.O, ckk, ohw);
                for (int n = first; n < First(g, Parts, p + 1); n++)
                {
                    ConvSimd.Im2ColOne(path, g, X, n, Cols, p * ckk * ohw);
                    // dWpart [O, CKK] (+)= dy[n] [O, OHW] · colᵀ: col is stored [CKK, OHW], op(B) = colᵀ. Few output
                    // channels and many pixels: dot products of the rows (Sgemm.DotNT.cs), no transposing packs.
                    if (dotNT) Sgemm.DotNT(g.O, ckk, ohw, dy + (long)n * g.OutputImage, ohw, col, ohw, n == first ? 0f : 1f, dw, ckk);
                    else Sgemm.Gemm(path, false, true, g.O, ckk, ohw, 1f, dy + (long)n * g.OutputImage, ohw, col, ohw,
                        n == first ? 0f : 1f, dw, ckk);
                }
            }
        }
    }

    /// <summary>y = conv2d(x, w) (no bias), y [N, O, OH, OW] overwritten. colBuffer holds Parts(g)·CKK·OHW floats.</summary>
    public static void Forward(in ConvGeometry g, KernelPath path, float[] x, float[] w, float[] y, float[] colBuffer)
    {
        Check(g, x, w, y, colBuffer, "conv2d");
        int parts = Parts(g);
        CpuTeam.Run(parts, new ForwardJob { G = g, X = x, W = w, Y = y, Cols = colBuffer, Parts = parts, Path = CpuSimd.Resolve(path) });
    }

    /// <summary>dx += ∂L/∂x for dy [N, O, OH, OW] and w [O, C, KH, KW]. colBuffer holds Parts(g)·CKK·OHW floats.</summary>
    public static void BackwardData(in ConvGeometry g, KernelPath path, float[] w, float[] dy, float[] dx, float[] colBuffer)
    {
        Check(g, dx, w, dy, colBuffer, "conv2d backward (input)");
        int parts = Parts(g);
        CpuTeam.Run(parts, new BackwardDataJob { G = g, W = w, DY = dy, DX = dx, Cols = colBuffer, Parts = parts, Path = CpuSimd.Resolve(path) });
    }

    /// <summary>dw += ∂L/∂w for x [N, C, H, W] and dy [N, O, OH, OW]. colBuffer holds Parts(g)·CKK·OHW floats,
    /// partials Parts(g)·O·CKK.</summary>
    public static void BackwardWeights(in ConvGeometry g, KernelPath path, float[] x, float[] dy, float[] dw, float[] colBuffer, float[] partials)
    {
        Check(g, x, dw, dy, colBuffer, "conv2d backward (weight)");
        int parts = Parts(g), size = g.O * g.ColRows;
        if (partials.Length < (long)parts * size)
            throw new ArgumentException($"conv2d backward (weight): partial buffer holds {partials.Length} floats, {parts} parts of [{g.O}, {g.ColRows}] need {(long)parts * size} ({g})");
        CpuTeam.Run(parts, new BackwardWeightsJob { G = g, X = x, DY = dy, Cols = colBuffer, Partials = partials, Parts = parts, Path = CpuSimd.Resolve(path) });
        // dw += partial 0 + partial 1 + ..., in part order (deterministic).
        var sum = dw.AsSpan(0, size);
        for (int p = 0; p < parts; p++)
        {
            var part = partials.AsSpan(p * size, size);
            int i = 0, lanes = System.Numerics.Vector<float>.Count;
            for (; i <= size - lanes; i += lanes)
                (new System.Numerics.Vector<float>(sum[i..]) + new System.Numerics.Vector<float>(part[i..])).CopyTo(sum[i..]);
            for (; i < size; i++) sum[i] += part[i];
        }
    }

    static void Check(in ConvGeometry g, float[] images, float[] w, float[] outputs, float[] colBuffer, string op)
    {
        g.ValidateBuffers(op, "buffer", images.Length, w.Length, outputs.Length);
        long need = (long)Parts(g) * g.ColRows * g.ColCols;
        if (colBuffer.Length < need)
            throw new ArgumentException($"{op}: col buffer holds {colBuffer.Length} floats, {Parts(g)} parts of [{g.ColRows}, {g.ColCols}] need {need} ({g})");
    }
}
