namespace ScratchNet.data;

/// <summary>
/// Pixel-level helpers shared by the loaders and the transforms, on CHW float images.
///
/// Coordinates: pixel (x, y) has its centre at the integer point (x, y), so the image covers
/// [-0.5, W-0.5] × [-0.5, H-0.5] and its centre is ((W-1)/2, (H-1)/2). This is the convention of
/// torch's grid_sample / interpolate with align_corners=False.
/// </summary>
public static class ImageOps
{
    /// <summary>
    /// Bilinear resize to <paramref name="height"/>×<paramref name="width"/> (torch.nn.functional.interpolate,
    /// mode="bilinear", align_corners=False, no antialiasing). Output pixel x samples the source at
    /// (x + 0.5)·W/W' − 0.5, clamped to the image, so the edges are repeated rather than faded to black.
    /// </summary>
    public static Image ResizeBilinear(Image src, int height, int width)
    {
        Check.Positive("ResizeBilinear", "height", height);
        Check.Positive("ResizeBilinear", "width", width);
        if (height == src.Height && width == src.Width) return src.Clone();
        var dst = new Image(new float[src.Channels * height * width], src.Channels, height, width);
        double sy = (double)src.Height / height, sx = (double)src.Width / width;

        // The source taps and weights depend only on the output row / column: compute them once.
        var (x0, x1, wx) = Taps(width, sx, src.Width);
        var (y0, y1, wy) = Taps(height, sy, src.Height);
        for (int c = 0; c < src.Channels; c++)
        {
            var plane = src.Data.AsSpan(c * src.Height * src.Width, src.Height * src.Width);
            var outPlane = dst.Data.AsSpan(c * height * width, height * width);
            for (int y = 0; y < height; y++)
            {
                var row0 = plane.Slice(y0[y] * src.Width, src.Width);
                var row1 = plane.Slice(y1[y] * src.Width, src.Width);
                float fy = wy[y];
                for (int x = 0; x < width; x++)
                {
                    float fx = wx[x];
                    float top = row0[x0[x]] + (row0[x1[x]] - row0[x0[x]]) * fx;
                    float bottom = row1[x0[x]] + (row1[x1[x]] - row1[x0[x]]) * fx;
                    outPlane[y * width + x] = top + (bottom - top) * fy;
                }
            }
        }
        return dst;
    }

    private static (int[] Lo, int[] Hi, float[] Frac) Taps(int outSize, double scale, int inSize)
    {
        var lo = new int[outSize];
        var hi = new int[outSize];
        var frac = new float[outSize];
        for (int i = 0; i < outSize; i++)
        {
            double s = Math.Max(0.0, (i + 0.5) * scale - 0.5); // torch clamps negative source coordinates to 0
            int i0 = Math.Min((int)s, inSize - 1);
            lo[i] = i0;
            hi[i] = Math.Min(i0 + 1, inSize - 1);
            frac[i] = (float)(s - i0);
        }
        return (lo, hi, frac);
    }

    /// <summary>Converts between 1 and 3 channels: 1→3 repeats the grey plane, 3→1 uses ITU-R 601 luma (as PIL's convert("L")).</summary>
    public static Image ConvertChannels(Image src, int channels)
    {
        if (src.Channels == channels) return src;
        int hw = src.Height * src.Width;
        var dst = new Image(new float[channels * hw], channels, src.Height, src.Width);
        if (src.Channels == 1 && channels == 3)
        {
            for (int c = 0; c < 3; c++) Array.Copy(src.Data, 0, dst.Data, c * hw, hw);
        }
        else if (src.Channels == 3 && channels == 1)
        {
            for (int i = 0; i < hw; i++)
                dst.Data[i] = 0.299f * src.Data[i] + 0.587f * src.Data[hw + i] + 0.114f * src.Data[2 * hw + i];
        }
        else throw new ArgumentException($"ConvertChannels: cannot convert {src.Channels} channels to {channels} (only 1 and 3 are supported)");
        return dst;
    }
}
