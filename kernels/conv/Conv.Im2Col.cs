namespace ScratchNet.Kernels;

// Conv2d forward and backward composed from backend kernels (Im2Col, Col2Im, Gemm, BiasAdd, BiasBackward),
// so the same code drives every device. The math and the col layout are described in Conv.cs.
//
// Memory: a col matrix takes C·KH·KW·OH·OW floats per image (AlexNet's first layer: 363 × 55 × 55 ≈ 1.1M),
// so images are converted in chunks of at most maxColElements floats (default 16M = 64 MiB), at least
// one image per chunk. One temporary buffer of that size is taken from the backend's caching allocator
// and given back when the call ends; a training loop gets the same block from the pool every step.
//
// Per chunk of images n0 .. n0+count−1, with col [CKK, count·OHW] and t [O, count·OHW] (layouts: Conv.cs):
//   forward          col = im2col(x[n0 ..]);  t = W · col;             y[n0 ..] = swap01(t)
//   backward data    t = swap01(dy[n0 ..]);   dcol = Wᵀ · t (TransA);  dx[n0 ..] += col2im(dcol)
//   backward weights col = im2col(x[n0 ..]);  t = swap01(dy[n0 ..]);   dW += t · colᵀ (TransB, Beta = 1)
// Each is ONE GEMM per chunk whose N (or K, for dW) is count·OHW: large, so the GEMM runs near its peak.
// A pointwise conv (1×1 kernel, stride 1, no padding) has col[n] = x[n] [C, H·W]: the GEMMs read x directly
// and backward data accumulates straight into dx (Beta = 1), no temporary at all.
/// <summary>The im2col convolution composed from backend kernels (Im2Col, Col2Im, SwapAxes01, Gemm, BiasAdd, BiasBackward),
/// so one code path drives every device: images are converted in chunks whose col buffer [C·KH·KW, count·OH·OW] stays
/// within maxColElements floats, and each pass is one GEMM per chunk. A pointwise convolution reads x directly, with no col
/// buffer.</summary>
public static class ConvIm2Col
{
    /// <summary>Default bound on the col buffer, in floats (16M = 64 MiB).</summary>
    public const int DefaultMaxColElements = 1 << 24;

    /// <summary>
    /// Images per chunk: as few chunks as a col buffer of at most maxColElements floats allows (at least one image
    /// each), and then the images spread evenly over them, so the last chunk is not a small remainder (AlexNet-CIFAR
    /// conv2 at batch 256: 40 images fit, 7 chunks of 37 instead of six of 40 and one of 16).
    /// </summary>
    public static int ImagesPerChunk(in ConvGeometry g, int maxColElements = DefaultMaxColElements)
    {
        long perImage = (long)g.ColRows * g.ColCols;
        int fit = (int)Math.Clamp(maxColElements / perImage, 1, g.N);
        int chunks = (g.N + fit - 1) / fit;
        return (g.N + chunks - 1) / chunks;
    }

    /// <summary>y = conv2d(x, w) + bias. x [N, C, H, W], w [O, C, KH, KW], bias [O] or null, y [N, O, OH, OW] (overwritten).</summary>
    public static void Forward(IBackend be, in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y,
        int maxColElements = DefaultMaxColElements)
    {
        int ckk = g.ColRows, ohw = g.ColCols;
        if (g.IsPointwise)
        {
            // y[n] [O, HW] = W [O, C] · x[n] [C, HW] for every n in one launch.
            be.Gemm(new GemmArgs(false, false, g.O, ohw, ckk, 1f, 0f, g.N,
                StrideA: 0, StrideB: g.InputImage, StrideC: g.OutputImage), w, x, y);
        }
        else
        {
            int chunk = ImagesPerChunk(g, maxColElements);
            using var col = be.Allocate(chunk * ckk * ohw, DType.Float32);
            using var t = be.Allocate(chunk * g.O * ohw, DType.Float32);
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int count = Math.Min(chunk, g.N - n0);
                be.Im2Col(g, x, n0, count, col);
                be.Gemm(new GemmArgs(false, false, g.O, count * ohw, ckk, 1f, 0f), w, col, t);
                be.SwapAxes01(t, 0, y, n0 * g.OutputImage, g.O, count, ohw);
            }
        }
        if (bias is not null) be.BiasAdd(y, bias, g.N, g.O, ohw);
    }

    /// <summary>dx += ∂L/∂x given dy = ∂L/∂y [N, O, OH, OW] and the weights w [O, C, KH, KW].</summary>
    public static void BackwardData(IBackend be, in ConvGeometry g, Storage w, Storage dy, Storage dx,
        int maxColElements = DefaultMaxColElements)
    {
        int ckk = g.ColRows, ohw = g.ColCols;
        if (g.IsPointwise)
        {
            // dx[n] [C, HW] += Wᵀ [C, O] · dy[n] [O, HW]
            be.Gemm(new GemmArgs(true, false, ckk, ohw, g.O, 1f, 1f, g.N,
                StrideA: 0, StrideB: g.OutputImage, StrideC: g.InputImage), w, dy, dx);
            return;
        }
        int chunk = ImagesPerChunk(g, maxColElements);
        using var dcol = be.Allocate(chunk * ckk * ohw, DType.Float32);
        using var t = be.Allocate(chunk * g.O * ohw, DType.Float32);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            be.SwapAxes01(dy, n0 * g.OutputImage, t, 0, count, g.O, ohw);
            be.Gemm(new GemmArgs(true, false, ckk, count * ohw, g.O, 1f, 0f), w, t, dcol);
            be.Col2Im(g, dcol, n0, count, dx);
        }
    }

    /// <summary>dw += ∂L/∂w given the input x [N, C, H, W] and dy = ∂L/∂y [N, O, OH, OW].</summary>
    public static void BackwardWeights(IBackend be, in ConvGeometry g, Storage x, Storage dy, Storage dw,
        int maxColElements = DefaultMaxColElements)
    {
        int ckk = g.ColRows, ohw = g.ColCols;
        if (g.IsPointwise)
        {
            for (int n = 0; n < g.N; n++)
                be.Gemm(new GemmArgs(false, true, g.O, ckk, ohw, 1f, 1f,
                    OffsetA: n * g.OutputImage, OffsetB: n * g.InputImage), dy, x, dw);
            return;
        }
        int chunk = ImagesPerChunk(g, maxColElements);
        using var col = be.Allocate(chunk * ckk * ohw, DType.Float32);
        using var t = be.Allocate(chunk * g.O * ohw, DType.Float32);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int count = Math.Min(chunk, g.N - n0);
            be.Im2Col(g, x, n0, count, col);
            be.SwapAxes01(dy, n0 * g.OutputImage, t, 0, count, g.O, ohw);
            be.Gemm(new GemmArgs(false, true, g.O, ckk, count * ohw, 1f, 1f), t, col, dw);
        }
    }
}
