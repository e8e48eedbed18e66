using System.Buffers.Binary;
using ScratchNet.data;
using ScratchNet.io;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace ScratchNet.Tests;

/// <summary>
/// Mutation fuzzing of every file loader (see <see cref="FuzzCase"/>): IDX (raw and gzip, images and
/// labels), CIFAR-10 batches, PNG, JPEG and BMP, safetensors, ONNX; and the inputs that broke the old code.
/// 250 to 500 cases per seed file by default (a few seconds in all); SCRATCHNET_FUZZ_CASES=10000 runs the
/// long campaign (10,000 per seed file, about a minute on two cores).
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int BaseSeed = 12;
    private static int Seed => FuzzCase.Seed(BaseSeed);
    private static int Cases(int fallback = 500) => FuzzCase.Cases(fallback);

    private void Report(FuzzSummary s) => output.WriteLine(s.ToString());

    // ------------------------------------------------------------------ IDX and CIFAR-10

    private static byte[] IdxBytes(byte[] data, params int[] sizes)
    {
        var b = new byte[4 + 4 * sizes.Length + data.Length];
        b[2] = 0x08;
        b[3] = (byte)sizes.Length;
        for (int d = 0; d < sizes.Length; d++) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4 + 4 * d), sizes[d]);
        data.CopyTo(b, 4 + 4 * sizes.Length);
        return b;
    }

    private static byte[] Counting(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 37)).ToArray();

    [Fact]
    public void IdxImages()
    {
        byte[] raw = IdxBytes(Counting(5 * 6 * 4), 5, 6, 4);
        Report(FuzzCase.Run("idx-images", raw, "", p => Idx.ReadImages(p), Cases(), Seed));
        Report(FuzzCase.Run("idx-images-gz", FuzzCase.Gzip(raw), ".gz", p => Idx.ReadImages(p), Cases(), Seed, FuzzCase.AllInsideGzip()));
    }

    [Fact]
    public void IdxLabels()
    {
        byte[] raw = IdxBytes([0, 9, 3, 1, 4, 1, 5, 9, 2, 6], 10);
        Report(FuzzCase.Run("idx-labels", raw, "", p => Idx.ReadLabels(p, 10), Cases(), Seed));
        Report(FuzzCase.Run("idx-labels-gz", FuzzCase.Gzip(raw), ".gz", p => Idx.ReadLabels(p, 10), Cases(), Seed, FuzzCase.AllInsideGzip()));
    }

    [Fact]
    public void Cifar10Batches()
    {
        var file = new byte[3 * Cifar10.RecordBytes];
        for (int r = 0; r < 3; r++)
        {
            file[r * Cifar10.RecordBytes] = (byte)(r * 4);
            Counting(Cifar10.ImageBytes).CopyTo(file, r * Cifar10.RecordBytes + 1);
        }
        Report(FuzzCase.Run("cifar10", file, ".bin", p => Cifar10.ReadBatch(p), Cases(), Seed));
        Report(FuzzCase.Run("cifar10-gz", FuzzCase.Gzip(file), ".bin", p => Cifar10.ReadBatch(p), Cases(250), Seed, FuzzCase.AllInsideGzip()));
    }

    // ------------------------------------------------------------------ images

    /// <summary>
    /// Limits for fuzzed images: a mutated header can claim up to MaxPixels, which the decoder then fills
    /// (grey) from too little data; 4 M pixels keeps such a case to tens of milliseconds. The loader's own
    /// time limit is below the harness's, so a slow case is an orderly refusal, not a hang.
    /// </summary>
    private static readonly ImageReadOptions FuzzOptions = new() { MaxPixels = 1 << 22, Timeout = TimeSpan.FromSeconds(2) };

    private static void LoadImage(string path)
    {
        ImageFile.Read(path, 3, 16, 16, FuzzOptions);
        ImageFolder.LoadImage(path, 1, 12, 20, FuzzOptions);
    }

    private static byte[] Encode<TPixel>(SixLabors.ImageSharp.Image<TPixel> image, Action<SixLabors.ImageSharp.Image<TPixel>, Stream> save) where TPixel : unmanaged, IPixel<TPixel>
    {
        using (image)
        {
            using var ms = new MemoryStream();
            save(image, ms);
            return ms.ToArray();
        }
    }

    private static SixLabors.ImageSharp.Image<Rgba32> PatternImage(int w, int h)
    {
        var img = new SixLabors.ImageSharp.Image<Rgba32>(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img[x, y] = new Rgba32((byte)(x * 10), (byte)(y * 15), (byte)(x * y), (byte)(255 - x * 5));
        return img;
    }

    [Fact]
    public void Png()
    {
        Mutation[] png = ImageMutations.Png;
        var rgb = TestImages.Encode(".png", TestImages.Pattern(24, 16), 24, 16);
        Report(FuzzCase.Run("png-rgb8", rgb, ".png", LoadImage, Cases(), Seed, png));
        var palette = Encode(PatternImage(20, 12), (i, s) => i.SaveAsPng(s, new PngEncoder { ColorType = PngColorType.Palette }));
        Report(FuzzCase.Run("png-palette", palette, ".png", LoadImage, Cases(250), Seed, png));
        var rgba16 = Encode(PatternImage(12, 10), (i, s) => i.SaveAsPng(s, new PngEncoder { ColorType = PngColorType.RgbWithAlpha, BitDepth = PngBitDepth.Bit16 }));
        Report(FuzzCase.Run("png-rgba16", rgba16, ".png", LoadImage, Cases(250), Seed, png));
    }

    [Fact]
    public void Jpeg()
    {
        Mutation[] jpeg = ImageMutations.Jpeg;
        var colour = TestImages.Encode(".jpg", TestImages.Pattern(24, 16), 24, 16, jpegQuality: 75);
        Report(FuzzCase.Run("jpeg-ycbcr", colour, ".jpg", LoadImage, Cases(), Seed, jpeg));
        var grey = Encode(PatternImage(16, 16), (i, s) => i.SaveAsJpeg(s, new JpegEncoder { ColorType = JpegColorType.Luminance, Quality = 60 }));
        Report(FuzzCase.Run("jpeg-grey", grey, ".jpg", LoadImage, Cases(250), Seed, jpeg));
    }

    [Fact]
    public void Bmp()
    {
        var bmp24 = TestImages.Encode(".bmp", TestImages.Pattern(10, 6), 10, 6);
        Report(FuzzCase.Run("bmp-24", bmp24, ".bmp", LoadImage, Cases(), Seed));
        var bmp8 = Encode(PatternImage(9, 7), (i, s) => i.SaveAsBmp(s, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel8 }));
        Report(FuzzCase.Run("bmp-8", bmp8, ".bmp", LoadImage, Cases(250), Seed));
        var bmp32 = Encode(PatternImage(5, 4), (i, s) => i.SaveAsBmp(s, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel32 }));
        Report(FuzzCase.Run("bmp-32", bmp32, ".bmp", LoadImage, Cases(250), Seed));
    }

    // ------------------------------------------------------------------ safetensors

    private static byte[] SafetensorsSeed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"scratchnet-fuzz-seed-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, new Dictionary<string, SafeTensor>
            {
                ["w"] = SafeTensor.FromFloats([1, 2, 3, 4, 5, 6], 2, 3),
                ["b"] = SafeTensor.FromFloats([0.5f, -0.5f], 2),
                ["step"] = SafeTensor.FromLongs([42], 1),
                ["idx"] = SafeTensor.FromInts([7, 8, 9], 3),
            }, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "é ✓" });
            return File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void SafetensorsFiles()
    {
        Report(FuzzCase.Run("safetensors", SafetensorsSeed(), ".safetensors", p => Safetensors.Load(p), Cases(), Seed,
            SafetensorsMutations.All));
    }

    // ------------------------------------------------------------------ ONNX

    [Fact]
    public void OnnxFiles()
    {
        var (model, shape) = OnnxTests.Build("every-layer");
        var bytes = ScratchNet.onnx.Onnx.ToOnnx(model, shape).ToBytes();
        Report(FuzzCase.Run("onnx", bytes, ".onnx", p => ScratchNet.onnx.Onnx.Import(p), Cases(), Seed, OnnxMutations.All));
        var (seed, seedShape) = OnnxTests.Build("seedcnn");
        Report(FuzzCase.Run("onnx-seedcnn", ScratchNet.onnx.Onnx.ToOnnx(seed, seedShape).ToBytes(), ".onnx", p => ScratchNet.onnx.Onnx.Import(p), Cases(250), Seed, OnnxMutations.All));
    }

    // ------------------------------------------------------------------ inputs that broke the old code

    /// <summary>
    /// tests/regressions: each file made the StbImageSharp-based loader or the old IDX reader misbehave. Each
    /// must now be refused, quickly, with a message that names it and says why.
    /// </summary>
    [Theory]
    [InlineData("jpeg-truncated-14-bytes-stb-hangs.jpg", "truncated JPEG")]                       // stb spun forever
    [InlineData("jpeg-claims-20000x30000.jpg", "20000×30000")]                                     // stb: 10 s, 1.8 GB
    [InlineData("png-20000x20000-1bit-bomb.png", "20000×20000")]                                   // stb: 1.2 GB
    [InlineData("jpeg-truncated-half-stb-decodes.jpg", "no end-of-image marker (FF D9)")]          // stb: "decoded"
    [InlineData("bmp-truncated-half-stb-decodes.bmp", "truncated BMP")]                            // stb: "decoded"
    [InlineData("idx-sizes-overflow-16x2p30x2p30-idx3-ubyte", "more than one array can hold")]     // count wrapped to 0
    public void RegressionFilesAreRefused(string file, string why)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "regressions", file);
        Assert.True(File.Exists(path), $"{path} is missing from the build output");
        Action load = file.StartsWith("idx") ? () => Idx.ReadImages(path) : () => ImageFile.Read(path, 3, 32, 32);
        var (finished, error, elapsed) = FuzzCase.RunWithLimit(load, FuzzCase.CaseLimit);
        Assert.True(finished, $"{file}: no answer after {elapsed.TotalSeconds:F1} s");
        var e = Assert.IsType<DataFormatException>(error);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain(e.Message, c => char.IsControl(c));
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"{file}: refused after {elapsed.TotalMilliseconds:F0} ms");
    }
}
