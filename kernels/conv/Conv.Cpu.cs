namespace ScratchNet.Kernels;

// The conv kernels of the cpu device: the plain loops of Conv.Reference.cs when its options say Reference,
// else the vector code of Conv.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Im2Col(in ConvGeometry g, Storage x, int n0, int count, Storage col)
    {
        g.ValidateCols("im2col", x, n0, count, col);
        if (IsReference) Reference.Im2Col(g, F(x), n0, count, F(col)); else ConvSimd.Im2Col(Path, g, F(x), n0, count, F(col));
    }

    /// <inheritdoc />
    public void Col2Im(in ConvGeometry g, Storage col, int n0, int count, Storage dx)
    {
        g.ValidateCols("col2im", dx, n0, count, col);
        if (IsReference) Reference.Col2Im(g, F(col), n0, count, F(dx)); else ConvSimd.Col2Im(Path, g, F(col), n0, count, F(dx));
    }

    /// <inheritdoc />
    public void SwapAxes01(Storage src, int srcOffset, Storage dst, int dstOffset, int a, int b, int p)
    {
        if (IsReference) Reference.SwapAxes01(F(src), srcOffset, F(dst), dstOffset, a, b, p);
        else ConvSimd.SwapAxes01(Path, F(src), srcOffset, F(dst), dstOffset, a, b, p);
    }

    /// <summary>
    /// The algorithm this device runs for a convolution of shape <paramref name="g"/>: the one its options name, except that
    /// Auto is Direct with the reference kernels, else per-image when every core gets an image and its buffers fit
    /// (<see cref="ConvPerImage.Prefers"/>), else im2col; and per-image falls back to im2col where it cannot run (one image,
    /// a pointwise conv, buffers above int.MaxValue).
    /// </summary>
    public ConvAlgorithm ConvAlgorithmFor(in ConvGeometry g) => Options.Conv switch
    {
        ConvAlgorithm.Auto when IsReference => ConvAlgorithm.Direct,
        ConvAlgorithm.Auto => !ReferenceGemm && ConvPerImage.Prefers(g, Options.MaxColElements) ? ConvAlgorithm.PerImage : ConvAlgorithm.Im2Col,
        ConvAlgorithm.PerImage => !g.IsPointwise && g.N >= 2 && ConvPerImage.BuffersFit(g) ? ConvAlgorithm.PerImage : ConvAlgorithm.Im2Col,
        var a => a,
    };

    /// <inheritdoc />
    public void Conv2dForward(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        switch (ConvAlgorithmFor(g))
        {
            case ConvAlgorithm.Direct:
                g.ValidateBuffers("conv2d", "storage", x.Length, w.Length, y.Length);
                Reference.Conv2dForward(g, F(x), F(w), bias is null ? null : F(bias), F(y));
                return;
            case ConvAlgorithm.PerImage:
                g.ValidateBuffers("conv2d", "storage", x.Length, w.Length, y.Length);
                using (var cols = Allocate((int)ConvPerImage.ColBufferElements(g), DType.Float32))
                    ConvPerImage.Forward(g, Path, F(x), F(w), F(y), F(cols));
                if (bias is not null) BiasAdd(y, bias, g.N, g.O, g.ColCols);
                return;
            default:
                ConvIm2Col.Forward(this, g, x, w, bias, y, Options.MaxColElements);
                return;
        }
    }

    /// <inheritdoc />
    public void Conv2dBackwardData(in ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        switch (ConvAlgorithmFor(g))
        {
            case ConvAlgorithm.Direct:
                g.ValidateBuffers("conv2d backward (input)", "storage", dx.Length, w.Length, dy.Length);
                Reference.Conv2dBackwardData(g, F(w), F(dy), F(dx));
                return;
            case ConvAlgorithm.PerImage:
                g.ValidateBuffers("conv2d backward (input)", "storage", dx.Length, w.Length, dy.Length);
                using (var cols = Allocate((int)ConvPerImage.ColBufferElements(g), DType.Float32))
                    ConvPerImage.BackwardData(g, Path, F(w), F(dy), F(dx), F(cols));
                return;
            default:
                ConvIm2Col.BackwardData(this, g, w, dy, dx, Options.MaxColElements);
                return;
        }
    }

    /// <inheritdoc />
    public void Conv2dBackwardWeights(in ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        switch (ConvAlgorithmFor(g))
        {
            case ConvAlgorithm.Direct:
                g.ValidateBuffers("conv2d backward (weight)", "storage", x.Length, dw.Length, dy.Length);
                Reference.Conv2dBackwardWeights(g, F(x), F(dy), F(dw));
                return;
            case ConvAlgorithm.PerImage:
                g.ValidateBuffers("conv2d backward (weight)", "storage", x.Length, dw.Length, dy.Length);
                int parts = ConvPerImage.Parts(g);
                using (var cols = Allocate((int)ConvPerImage.ColBufferElements(g), DType.Float32))
                using (var partials = Allocate(parts * g.O * g.ColRows, DType.Float32)) // BuffersFit: no overflow
                    ConvPerImage.BackwardWeights(g, Path, F(x), F(dy), F(dw), F(cols), F(partials));
                return;
            default:
                ConvIm2Col.BackwardWeights(this, g, x, dy, dw, Options.MaxColElements);
                return;
        }
    }
}
