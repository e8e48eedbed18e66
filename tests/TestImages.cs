using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace ScratchNet.Tests;

/// <summary>Image fixtures written with ImageSharp's encoders.</summary>
public static class TestImages
{
    /// <summary>A width×height RGB image whose pixel (x, y) is (10x, 20y, 5x + 7y) mod 256.</summary>
    public static byte[] Pattern(int width, int height)
    {
        var b = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                b[i] = (byte)(10 * x); b[i + 1] = (byte)(20 * y); b[i + 2] = (byte)(5 * x + 7 * y);
            }
        return b;
    }

    /// <summary>Encodes interleaved RGB bytes by the file extension: 8-bit RGB PNG, 24-bit BMP, or JPEG at quality 100.</summary>
    public static void Write(string path, byte[] rgb, int width, int height)
        => File.WriteAllBytes(path, Encode(Path.GetExtension(path), rgb, width, height));

    /// <summary>The bytes <see cref="Write"/> would write for a file with extension <paramref name="ext"/>.</summary>
    public static byte[] Encode(string ext, byte[] rgb, int width, int height, int jpegQuality = 100)
    {
        using var image = SixLabors.ImageSharp.Image.LoadPixelData<Rgb24>(rgb, width, height);
        using var ms = new MemoryStream();
        switch (ext)
        {
            case ".png": image.SaveAsPng(ms, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 }); break;
            case ".bmp": image.SaveAsBmp(ms, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 }); break;
            case ".jpg" or ".jpeg": image.SaveAsJpeg(ms, new JpegEncoder { Quality = jpegQuality }); break;
            default: throw new ArgumentException($"TestImages: no encoder for {ext}");
        }
        return ms.ToArray();
    }
}
