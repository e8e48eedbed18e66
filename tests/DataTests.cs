using System.IO.Compression;
using System.Buffers.Binary;
using System.Diagnostics;
using ScratchNet.data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using Image = ScratchNet.data.Image;

namespace ScratchNet.Tests;

/// <summary>A temporary folder deleted at the end of the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "scratchnet-test-" + Guid.NewGuid().ToString("N")));
    public string Path { get; }
    public string this[string name] => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

/// <summary>The loaders (IDX, CIFAR-10, image folders) on generated files, good and broken, and the embedded subset.</summary>
public class DataTests
{
    private static byte[] RandomBytes(Generator g, int n, int max = 256)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)g.NextInt(max);
        return b;
    }

    private static T Throws<T>(Action a, params string[] mustContain) where T : Exception
    {
        var e = Assert.Throws<T>(a);
        foreach (var s in mustContain) Assert.True(e.Message.Contains(s), $"\"{s}\" is not in the message: {e.Message}");
        return e;
    }

    // ------------------------------------------------------------------ IDX

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxRoundTrip(bool gzip)
    {
        using var dir = new TempDir();
        var g = new Generator(1);
        int n = 7, rows = 5, cols = 3;
        var pixels = RandomBytes(g, n * rows * cols);
        var labels = RandomBytes(g, n, 10);
        string ext = gzip ? ".gz" : "";
        Idx.WriteImages(dir["train-images-idx3-ubyte" + ext], pixels, n, rows, cols);
        Idx.WriteLabels(dir["train-labels-idx1-ubyte" + ext], labels);
        if (gzip) Assert.Equal(0x1F, File.ReadAllBytes(dir["train-images-idx3-ubyte.gz"])[0]);

        var ds = Idx.LoadFolder(dir.Path, train: true);
        Assert.Equal((n, 1, rows, cols), (ds.Count, ds.Channels, ds.Height, ds.Width));
        Assert.Equal(labels.Select(b => (int)b), ds.Labels);
        for (int i = 0; i < pixels.Length; i++) Assert.Equal(pixels[i] / 255f, ds.Images[i]);
        Assert.Equal(10, ds.NumClasses);
    }

    [Fact]
    public void IdxHeaderIsBigEndianWithTheStandardMagic()
    {
        using var dir = new TempDir();
        Idx.WriteImages(dir["i"], new byte[2 * 28 * 28], 2, 28, 28);
        var b = File.ReadAllBytes(dir["i"]);
        Assert.Equal(new byte[] { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28 }, b[..16]);
        Assert.Equal(16 + 2 * 28 * 28, b.Length);
    }

    [Fact]
    public void IdxWrongMagicNamesTheFileAndOffset()
    {
        using var dir = new TempDir();
        Idx.WriteLabels(dir["labels"], new byte[] { 1, 2, 3 });
        Idx.WriteImages(dir["images"], new byte[3 * 4], 3, 2, 2);
        // A label file where an image file is expected and vice versa.
        var e = Throws<DataFormatException>(() => Idx.ReadImages(dir["labels"]), dir["labels"], "magic", "0x00000801", "0x00000803");
        Assert.Equal(3, e.Offset);
        Throws<DataFormatException>(() => Idx.ReadLabels(dir["images"], 10), dir["images"], "magic");
        // Not an IDX file at all.
        File.WriteAllBytes(dir["png"], [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0]);
        e = Throws<DataFormatException>(() => Idx.ReadImages(dir["png"]), dir["png"], "wrong magic number 0x89504E47");
        Assert.Equal(0, e.Offset);
        // Element type other than unsigned byte.
        File.WriteAllBytes(dir["float"], [0, 0, 0x0D, 1, 0, 0, 0, 0]);
        e = Throws<DataFormatException>(() => Idx.ReadLabels(dir["float"], 10), dir["float"], "element type 0x0D");
        Assert.Equal(2, e.Offset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxTruncatedNamesTheFileAndTheIncompleteRecord(bool gzip)
    {
        using var dir = new TempDir();
        string ext = gzip ? ".gz" : "";
        // 5 images of 4×4 = 16 bytes, cut in the middle of image 3 (header 16 + 3·16 + 5 bytes).
        Idx.WriteImages(dir["full"], new byte[5 * 16], 5, 4, 4);
        var cut = File.ReadAllBytes(dir["full"])[..(16 + 3 * 16 + 5)];
        string path = dir["cut" + ext];
        WriteMaybeGzip(path, cut, gzip);
        var e = Throws<DataFormatException>(() => Idx.ReadImages(path), path, "truncated", "record 3");
        Assert.Equal(3, e.Record);
        Assert.Equal(cut.Length, e.Offset);

        // Header itself cut.
        string hp = dir["header" + ext];
        WriteMaybeGzip(hp, cut[..9], gzip);
        Throws<DataFormatException>(() => Idx.ReadImages(hp), hp, "truncated IDX header");
        string tiny = dir["tiny" + ext];
        WriteMaybeGzip(tiny, cut[..2], gzip);
        Throws<DataFormatException>(() => Idx.ReadImages(tiny), tiny, "truncated");
    }

    [Fact]
    public void IdxTruncatedGzipStreamNamesTheFile()
    {
        using var dir = new TempDir();
        var g = new Generator(3);
        Idx.WriteImages(dir["a.gz"], RandomBytes(g, 50 * 64), 50, 8, 8);
        var bytes = File.ReadAllBytes(dir["a.gz"]);
        File.WriteAllBytes(dir["b.gz"], bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(dir["b.gz"]));
        Assert.Contains(dir["b.gz"], e.Message);
        Assert.True(e.Message.Contains("truncated") || e.Message.Contains("gzip"), e.Message);
    }

    [Fact]
    public void IdxSizesWhoseProductOverflowsAreRefused()
    {
        // [16, 2^30, 2^30] is 2^64 elements, which wraps to 0 in a 64-bit product and used to pass as an
        // empty, complete file.
        using var dir = new TempDir();
        var header = new byte[16];
        header[2] = 0x08;
        header[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 16);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 1 << 30);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), 1 << 30);
        foreach (bool gzip in new[] { false, true })
        {
            string path = dir[gzip ? "i.gz" : "i"];
            WriteMaybeGzip(path, header, gzip);
            var e = Throws<DataFormatException>(() => Idx.ReadImages(path), path, "sizes [16, 1073741824, 1073741824]", "18,446,744,073,709,551,616", "more than one array can hold");
            Assert.Equal(4, e.Offset);
        }
        // A claim that fits an array but not the file is truncation, reported without allocating the claim.
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 1000);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 1000);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), 2000);
        foreach (bool gzip in new[] { false, true })
        {
            string path = dir[gzip ? "j.gz" : "j"];
            WriteMaybeGzip(path, [.. header, 1, 2, 3], gzip);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Throws<DataFormatException>(() => Idx.ReadImages(path), path, "truncated", "need 2000000016 bytes", "record 0");
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 10_000_000, $"the 2 GB claim should not be allocated ({allocated} bytes allocated)");
        }
    }

    [Fact]
    public void IdxGzipBombStopsShortlyAfterTheDeclaredSize()
    {
        // A valid [2] label file followed by 64 MiB of zeros: ~64 KB compressed. Reading stops 1 MiB past
        // the last label instead of inflating it all.
        using var dir = new TempDir();
        string path = dir["bomb.gz"];
        using (var f = File.Create(path))
        using (var gz = new GZipStream(f, CompressionLevel.SmallestSize))
        {
            gz.Write([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]);
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) gz.Write(zeros);
        }
        Assert.True(new FileInfo(path).Length < 200_000, $"{new FileInfo(path).Length} bytes");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Throws<DataFormatException>(() => Idx.ReadLabels(path, 10), path, "more than 1 MiB of unexpected bytes after the last of 2 records");
        Assert.Equal(10, e.Offset);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000_000, $"the bomb should not be inflated into memory ({allocated} bytes allocated)");
    }

    [Fact]
    public void IdxExtraBytesAreAnError()
    {
        using var dir = new TempDir();
        Idx.WriteLabels(dir["l"], new byte[] { 1, 2 });
        File.AppendAllText(dir["l"], "xyz");
        var e = Throws<DataFormatException>(() => Idx.ReadLabels(dir["l"], 10), dir["l"], "3 unexpected bytes");
        Assert.Equal(10, e.Offset);
    }

    [Fact]
    public void IdxLabelOutOfRangeNamesTheFileRecordAndOffset()
    {
        using var dir = new TempDir();
        Idx.WriteLabels(dir["labels.gz"], new byte[] { 0, 9, 3, 12, 1 });
        var e = Throws<DataFormatException>(() => Idx.ReadLabels(dir["labels.gz"], 10), dir["labels.gz"], "label 12 out of range [0, 10)");
        Assert.Equal(3, e.Record);
        Assert.Equal(8 + 3, e.Offset);
    }

    [Fact]
    public void IdxImageLabelCountMismatchNamesBothFiles()
    {
        using var dir = new TempDir();
        Idx.WriteImages(dir["img"], new byte[4 * 4], 4, 2, 2);
        Idx.WriteLabels(dir["lab"], new byte[] { 0, 1, 2 });
        Throws<DataFormatException>(() => Idx.Load(dir["img"], dir["lab"]), dir["img"], dir["lab"], "4 images", "3 labels");
    }

    [Fact]
    public void IdxMissingFileIsNamed()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => Idx.LoadFolder(dir.Path, train: false));
        Assert.Contains("t10k-images-idx3-ubyte", e.Message);
    }

    private static void WriteMaybeGzip(string path, byte[] bytes, bool gzip)
    {
        if (!gzip) { File.WriteAllBytes(path, bytes); return; }
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    // ------------------------------------------------------------------ CIFAR-10

    /// <summary>Writes a fake cifar-10-batches-bin with <paramref name="perBatch"/> records per file; returns all (pixels, labels) train then test.</summary>
    internal static (byte[] TrainPixels, byte[] TrainLabels, byte[] TestPixels, byte[] TestLabels) WriteFakeCifar(string folder, int perBatch, bool meta, ulong seed = 5)
    {
        Directory.CreateDirectory(folder);
        var g = new Generator(seed);
        var trainPixels = new List<byte>();
        var trainLabels = new List<byte>();
        foreach (var f in Cifar10.TrainFiles)
        {
            var px = RandomBytes(g, perBatch * Cifar10.ImageBytes);
            var lb = RandomBytes(g, perBatch, 10);
            Cifar10.WriteBatch(Path.Combine(folder, f), px, lb);
            trainPixels.AddRange(px);
            trainLabels.AddRange(lb);
        }
        var tpx = RandomBytes(g, perBatch * Cifar10.ImageBytes);
        var tlb = RandomBytes(g, perBatch, 10);
        Cifar10.WriteBatch(Path.Combine(folder, Cifar10.TestFile), tpx, tlb);
        if (meta) File.WriteAllText(Path.Combine(folder, "batches.meta.txt"), "c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n\n");
        return (trainPixels.ToArray(), trainLabels.ToArray(), tpx, tlb);
    }

    [Fact]
    public void CifarLoadsRecordsAsChwPlanes()
    {
        using var dir = new TempDir();
        string folder = dir[Cifar10.BatchFolder];
        var (trainPx, trainLb, testPx, testLb) = WriteFakeCifar(folder, 3, meta: true);

        // The parent folder works as well as cifar-10-batches-bin itself.
        var train = Cifar10.Load(dir.Path, train: true);
        Assert.Equal((15, 3, 32, 32), (train.Count, train.Channels, train.Height, train.Width));
        Assert.Equal(trainLb.Select(b => (int)b), train.Labels);
        Assert.Equal(["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"], train.Classes);
        // Record i, byte 1 + c·1024 + y·32 + x is pixel (c, y, x) of image i.
        var img = train.GetImage(7);
        Assert.Equal(trainPx[7 * 3072 + 0 * 1024 + 0] / 255f, img[0, 0, 0]);
        Assert.Equal(trainPx[7 * 3072 + 1 * 1024 + 5 * 32 + 9] / 255f, img[1, 5, 9]);
        Assert.Equal(trainPx[7 * 3072 + 2 * 1024 + 31 * 32 + 31] / 255f, img[2, 31, 31]);
        for (int i = 0; i < trainPx.Length; i++) Assert.Equal(trainPx[i] / 255f, train.Images[i]);

        var test = Datasets.Cifar10(folder, train: false);
        Assert.Equal(3, test.Count);
        Assert.Equal(testLb.Select(b => (int)b), test.Labels);
        for (int i = 0; i < testPx.Length; i++) Assert.Equal(testPx[i] / 255f, test.Images[i]);
    }

    [Fact]
    public void CifarWithoutMetaUsesTheDefaultClassNames()
    {
        using var dir = new TempDir();
        WriteFakeCifar(dir.Path, 1, meta: false);
        var test = Cifar10.Load(dir.Path, train: false);
        Assert.Equal("airplane", test.Classes[0]);
        Assert.Equal("truck", test.Classes[9]);
    }

    [Fact]
    public void CifarTruncatedNamesTheFileAndRecord()
    {
        using var dir = new TempDir();
        WriteFakeCifar(dir.Path, 4, meta: false);
        string path = dir[Cifar10.TestFile];
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(2 * 3073 + 100)]);
        var e = Throws<DataFormatException>(() => Cifar10.Load(dir.Path, train: false), path, "truncated", "record 2");
        Assert.Equal(2, e.Record);
        Assert.Equal(2 * 3073, e.Offset);
    }

    [Fact]
    public void CifarLabelOutOfRangeNamesTheFileRecordAndOffset()
    {
        using var dir = new TempDir();
        WriteFakeCifar(dir.Path, 4, meta: false);
        string path = dir["data_batch_3.bin"];
        var bytes = File.ReadAllBytes(path);
        bytes[2 * 3073] = 10;
        File.WriteAllBytes(path, bytes);
        var e = Throws<DataFormatException>(() => Cifar10.Load(dir.Path, train: true), path, "label 10 out of range [0, 10)");
        Assert.Equal(2, e.Record);
        Assert.Equal(2 * 3073, e.Offset);
    }

    [Fact]
    public void CifarMissingBatchIsNamed()
    {
        using var dir = new TempDir();
        WriteFakeCifar(dir.Path, 1, meta: false);
        File.Delete(dir["data_batch_4.bin"]);
        var e = Assert.Throws<FileNotFoundException>(() => Cifar10.Load(dir.Path, train: true));
        Assert.Contains("data_batch_4.bin", e.Message);
    }

    // ------------------------------------------------------------------ image folders

    private static byte[] Pattern(int width, int height) => TestImages.Pattern(width, height);

    private static void WriteImage(string path, byte[] rgb, int width, int height) => TestImages.Write(path, rgb, width, height);

    [Fact]
    public void ImageFolderDecodesPngBmpJpegIntoChw()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["dog"]);
        Directory.CreateDirectory(dir["cat"]);
        var px = Pattern(6, 4);
        WriteImage(Path.Combine(dir["dog"], "b.bmp"), px, 6, 4);
        WriteImage(Path.Combine(dir["dog"], "a.png"), px, 6, 4);
        WriteImage(Path.Combine(dir["cat"], "z.jpg"), px, 6, 4);
        File.WriteAllText(Path.Combine(dir["cat"], "notes.txt"), "not an image"); // ignored

        var ds = ImageFolder.Load(dir.Path, 3, 4, 6);
        Assert.Equal(["cat", "dog"], ds.Classes);          // ordinal order of the folder names
        Assert.Equal([0, 1, 1], ds.Labels);                 // cat/z.jpg, dog/a.png, dog/b.bmp
        Assert.Equal((3, 3, 4, 6), (ds.Count, ds.Channels, ds.Height, ds.Width));
        for (int k = 0; k < 3; k++)
        {
            var img = ds.GetImage(k);
            float tol = k == 0 ? 6 / 255f : 0f; // JPEG is lossy even at quality 100; PNG and BMP are exact
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 6; x++)
                    for (int c = 0; c < 3; c++)
                        Assert.True(Math.Abs(px[(y * 6 + x) * 3 + c] / 255f - img[c, y, x]) <= tol,
                            $"image {k} pixel ({c}, {y}, {x}) = {img[c, y, x]}, expected {px[(y * 6 + x) * 3 + c] / 255f}");
        }
    }

    [Fact]
    public void ImageFolderConvertsToGreyAndResizes()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["only"]);
        // A 2×1 image: black then white, identical in R, G, B.
        WriteImage(Path.Combine(dir["only"], "x.png"), [0, 0, 0, 255, 255, 255], 2, 1);
        var ds = ImageFolder.Load(dir.Path, 1, 1, 4);
        // Bilinear 2→4 with half-pixel centres (PIL, torch interpolate with align_corners=False) samples at
        // -0.25, 0.25, 0.75, 1.25: 0, 0.25, 0.75, 1 before the result is rounded to 8 bits, as PIL does.
        TestUtil.AssertClose(new[] { 0f, 0.25f, 0.75f, 1f }, ds.Images, 0.5f / 255, 0, "resized grey row");
        // What ImageSharp's triangle filter gives exactly: 63.75 and 191.25 rounded.
        Assert.Equal(new[] { 0f, 64 / 255f, 191 / 255f, 1f }, ds.Images);
        Assert.Equal(1, ds.Channels);
    }

    [Fact]
    public void ImageFolderCorruptImageNamesTheFile()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["a"]);
        WriteImage(Path.Combine(dir["a"], "good.png"), Pattern(2, 2), 2, 2);
        string bad = Path.Combine(dir["a"], "bad.png");
        File.WriteAllBytes(bad, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var e = Assert.Throws<DataFormatException>(() => ImageFolder.Load(dir.Path, 3, 2, 2));
        Assert.Contains(bad, e.Message);
    }

    [Fact]
    public void ImageFolderRejectsEmptyLayouts()
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentException>(() => ImageFolder.Load(dir.Path, 3, 8, 8));
        Directory.CreateDirectory(dir["empty"]);
        var e = Assert.Throws<ArgumentException>(() => ImageFolder.Load(dir.Path, 3, 8, 8));
        Assert.Contains("empty", e.Message);
        Assert.Throws<ArgumentException>(() => ImageFolder.Load(dir.Path, 2, 8, 8));
        Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Load(dir["nope"], 3, 8, 8));
    }

    // ------------------------------------------------------------------ ImageFile: limits and broken files

    private static readonly string[] ImageExtensions = [".png", ".jpg", ".bmp"];

    [Fact]
    public void TruncatedImagesAreErrorsNamingTheFileAtEveryCutPoint()
    {
        // ImageSharp decodes most truncated JPEGs and BMPs "successfully"; the structural check must catch
        // every proper prefix. 24×16 is 1.3 KB of BMP, ~1 KB of JPEG, ~1 KB of PNG: all cut points.
        using var dir = new TempDir();
        var px = Pattern(24, 16);
        foreach (var ext in ImageExtensions)
        {
            byte[] full = TestImages.Encode(ext, px, 24, 16);
            string good = dir["good" + ext];
            File.WriteAllBytes(good, full);
            Assert.Equal((3, 16, 24), Dims(ImageFile.Read(good, 3, 16, 24)));
            string path = dir["cut" + ext];
            int refused = 0;
            for (int len = 0; len < full.Length; len++)
            {
                File.WriteAllBytes(path, full[..len]);
                var e = Assert.Throws<DataFormatException>(() => ImageFile.Read(path, 3, 16, 24));
                Assert.StartsWith(path + ": ", e.Message);
                Assert.DoesNotContain('\0', e.Message);
                Assert.DoesNotContain('\n', e.Message);
                refused++;
            }
            Assert.Equal(full.Length, refused);
        }
    }

    [Fact]
    public void TruncationMessagesSayWhatIsMissing()
    {
        using var dir = new TempDir();
        var px = Pattern(24, 16);
        byte[] jpg = TestImages.Encode(".jpg", px, 24, 16);
        string path = dir["x.jpg"];
        File.WriteAllBytes(path, jpg[..(jpg.Length - 10)]);
        var e = Throws<DataFormatException>(() => ImageFile.Read(path, 3, 16, 24), path, "truncated JPEG: no end-of-image marker (FF D9) after the scan data");
        Assert.Equal(jpg.Length - 10, e.Offset);

        byte[] png = TestImages.Encode(".png", px, 24, 16);
        path = dir["x.png"];
        File.WriteAllBytes(path, png[..(png.Length - 5)]);
        Throws<DataFormatException>(() => ImageFile.Read(path, 3, 16, 24), path, "truncated PNG", "IEND");

        byte[] bmp = TestImages.Encode(".bmp", px, 24, 16);
        path = dir["x.bmp"];
        File.WriteAllBytes(path, bmp[..(bmp.Length - 1)]);
        Throws<DataFormatException>(() => ImageFile.Read(path, 3, 16, 24), path, "truncated BMP: 24×16 pixels at 24 bits need 72·16 bytes");

        // Bytes after the end-of-image marker are allowed (cameras append data there).
        path = dir["tail.jpg"];
        File.WriteAllBytes(path, [.. jpg, .. "trailing"u8]);
        Assert.Equal((3, 16, 24), Dims(ImageFile.Read(path, 3, 16, 24)));
    }

    private static (int, int, int) Dims(Image i) => (i.Channels, i.Height, i.Width);

    /// <summary>A complete baseline JPEG whose SOF0 header claims <paramref name="width"/>×<paramref name="height"/>.</summary>
    private static byte[] JpegClaiming(int width, int height)
    {
        byte[] jpg = TestImages.Encode(".jpg", Pattern(8, 8), 8, 8, jpegQuality: 50);
        int sof = jpg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        Assert.True(sof > 0, "no SOF0 marker");
        // SOF0: FF C0, length (2), sample precision (1), height (2), width (2), all big-endian.
        BinaryPrimitives.WriteUInt16BigEndian(jpg.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(jpg.AsSpan(sof + 7), (ushort)width);
        return jpg;
    }

    [Fact]
    public void PixelLimitIsCheckedFromTheHeaderBeforeDecoding()
    {
        using var dir = new TempDir();
        string path = dir["huge.jpg"];
        File.WriteAllBytes(path, JpegClaiming(20000, 30000));
        Assert.True(new FileInfo(path).Length < 1000);
        var sw = Stopwatch.StartNew();
        var e = Throws<DataFormatException>(() => ImageFile.Read(path, 3, 32, 32), path, "20000×30000", "600,000,000", "89,478,485", "ImageReadOptions.MaxPixels");
        // Decoding 600 M pixels would take seconds and gigabytes; the refusal reads a header.
        Assert.True(sw.ElapsedMilliseconds < 2000, $"refusal took {sw.ElapsedMilliseconds} ms");
        Assert.DoesNotContain('\n', e.Message);

        // A custom limit works both ways: 24×16 = 384 pixels.
        path = dir["small.png"];
        WriteImage(path, Pattern(24, 16), 24, 16);
        Throws<DataFormatException>(() => ImageFile.Read(path, 3, 16, 24, new ImageReadOptions { MaxPixels = 383 }), path, "24×16", "383");
        Assert.Equal((3, 16, 24), Dims(ImageFile.Read(path, 3, 16, 24, new ImageReadOptions { MaxPixels = 384 })));
        // A file above MaxFileBytes is refused before it is read.
        Throws<DataFormatException>(() => ImageFile.Read(path, 3, 16, 24, new ImageReadOptions { MaxFileBytes = 100 }), path, "100-byte limit", "MaxFileBytes");
    }

    [Fact]
    public void TimeoutIsEnforcedEvenWhenTheDecoderIgnoresCancellation()
    {
        // ImageSharp's PNG decoder does not look at its CancellationToken: the decode is abandoned and the
        // caller gets its answer at the limit, not when decoding ends.
        using var dir = new TempDir();
        string path = dir["big.png"];
        using (var img = new SixLabors.ImageSharp.Image<Rgb24>(3000, 3000, new Rgb24(10, 200, 30)))
            img.SaveAsPng(path);
        var sw = Stopwatch.StartNew();
        var e = Throws<DataFormatException>(() => ImageFile.Read(path, 3, 64, 64, new ImageReadOptions { Timeout = TimeSpan.FromMilliseconds(1) }),
            path, "1 ms limit", "ImageReadOptions.Timeout");
        Assert.True(sw.ElapsedMilliseconds < 1000, $"the timeout fired after {sw.ElapsedMilliseconds} ms");
        // The same through ImageFolder.Load (where the big file comes first, so it is the one reported even if
        // the small one, cold, also overran 1 ms); and the decode threads that replaced the abandoned ones work.
        Directory.CreateDirectory(dir["c"]);
        File.Move(path, Path.Combine(dir["c"], "big.png"));
        WriteImage(Path.Combine(dir["c"], "c.png"), Pattern(4, 4), 4, 4);
        e = Throws<DataFormatException>(() => ImageFolder.Load(dir.Path, 3, 8, 8, new ImageReadOptions { Timeout = TimeSpan.FromMilliseconds(1) }),
            Path.Combine(dir["c"], "big.png"), "ImageReadOptions.Timeout");
        var ds = ImageFolder.Load(dir.Path, 3, 8, 8);
        Assert.Equal(2, ds.Count);
        Assert.Equal(10 / 255f, ds.GetImage(0)[0, 3, 3]); // big.png, solid (10, 200, 30)
    }

    [Fact]
    public void NonImageContentIsRefusedWhateverTheExtension()
    {
        using var dir = new TempDir();
        string text = dir["notes.png"];
        File.WriteAllText(text, "not an image");
        Throws<DataFormatException>(() => ImageFile.Read(text, 3, 8, 8), text, "not a PNG, JPEG or BMP image", "6E 6F 74");
        string empty = dir["empty.jpg"];
        File.WriteAllBytes(empty, []);
        Throws<DataFormatException>(() => ImageFile.Read(empty, 3, 8, 8), empty, "not a PNG, JPEG or BMP image", "empty");
        // GIF is a format ImageSharp knows, but not one we read.
        string gif = dir["x.png"];
        using (var img = new SixLabors.ImageSharp.Image<Rgb24>(4, 4)) img.SaveAsGif(gif);
        Throws<DataFormatException>(() => ImageFile.Read(gif, 3, 8, 8), gif, "not a PNG, JPEG or BMP image", "47 49 46 38");
        // The content decides, not the name: a PNG called .jpg reads.
        string png = dir["really-a-png.jpg"];
        WriteImage(dir["p.png"], Pattern(4, 4), 4, 4);
        File.Move(dir["p.png"], png);
        Assert.Equal((3, 4, 4), Dims(ImageFile.Read(png, 3, 4, 4)));
        string missing = dir["missing.png"];
        Throws<FileNotFoundException>(() => ImageFile.Read(missing, 3, 8, 8), missing);
        Throws<FileNotFoundException>(() => ImageFolder.LoadImage(missing, 3, 8, 8), missing);
    }

    [Fact]
    public void GreyIsItuR601LumaAsPil()
    {
        // PIL's convert('L'): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. Red → 76, green → 150,
        // blue → 29, and a grey pixel keeps its value.
        using var dir = new TempDir();
        string path = dir["c.png"];
        WriteImage(path, [255, 0, 0, 0, 255, 0, 0, 0, 255, 77, 77, 77, 10, 200, 30], 5, 1);
        var img = ImageFile.Read(path, 1, 1, 5);
        int expected4 = (19595 * 10 + 38470 * 200 + 7471 * 30 + 32768) >> 16;
        Assert.Equal(new[] { 76 / 255f, 150 / 255f, 29 / 255f, 77 / 255f, expected4 / 255f }, img.Data);
        Assert.Equal(124, expected4); // 0.299·10 + 0.587·200 + 0.114·30 = 123.8
    }

    [Fact]
    public void SixteenBitAndAlphaPngsDecode()
    {
        using var dir = new TempDir();
        // 16-bit RGB: samples become 8-bit by rounding (v·255/65535).
        string p16 = dir["16.png"];
        using (var img = new SixLabors.ImageSharp.Image<Rgb48>(2, 1))
        {
            img[0, 0] = new Rgb48(65535, 0, 32768);
            img[1, 0] = new Rgb48(257 * 100, 257 * 200, 1000);
            img.SaveAsPng(p16, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb });
        }
        var a = ImageFile.Read(p16, 3, 1, 2);
        var expected = new[] { 65535, 257 * 100, 0, 257 * 200, 32768, 1000 }; // CHW: R0 R1 G0 G1 B0 B1
        for (int i = 0; i < 6; i++) Assert.True(Math.Abs(a.Data[i] - expected[i] / 65535f) <= 0.5f / 255 + 1e-6f, $"value {i}: {a.Data[i] * 255}");
        Assert.Equal(100 / 255f, a.Data[1]);

        // RGBA: alpha is dropped, not composited or premultiplied (PIL's convert('RGB')).
        string pa = dir["alpha.png"];
        using (var img = new SixLabors.ImageSharp.Image<Rgba32>(2, 1))
        {
            img[0, 0] = new Rgba32(200, 100, 50, 0);
            img[1, 0] = new Rgba32(1, 2, 3, 128);
            img.SaveAsPng(pa, new PngEncoder { ColorType = PngColorType.RgbWithAlpha });
        }
        Assert.Equal(new[] { 200 / 255f, 1 / 255f, 100 / 255f, 2 / 255f, 50 / 255f, 3 / 255f }, ImageFile.Read(pa, 3, 1, 2).Data);
    }

    [Fact]
    public void ImageFolderReportsTheFirstBadFileInOrder()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["a"]);
        Directory.CreateDirectory(dir["b"]);
        for (int i = 0; i < 40; i++) WriteImage(Path.Combine(dir["a"], $"{i:D2}.png"), Pattern(4, 4), 4, 4);
        File.WriteAllBytes(Path.Combine(dir["a"], "17.png"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(dir["a"], "30.png"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(dir["b"], "00.png"), [1, 2, 3]);
        for (int k = 0; k < 5; k++)
            Throws<DataFormatException>(() => ImageFolder.Load(dir.Path, 3, 4, 4), Path.Combine(dir["a"], "17.png"));
    }

    [Fact]
    public void ConcurrentReadsAndFolderLoadsAgree()
    {
        // Callers on many threads (thread-pool ones included) share the decode threads; every result must be
        // the one a lone sequential read gives.
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["k"]);
        var paths = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            string p = Path.Combine(dir["k"], $"{i:D2}{ImageExtensions[i % 3]}");
            WriteImage(p, Pattern(8 + i, 6 + i), 8 + i, 6 + i);
            paths.Add(p);
        }
        var expected = paths.Select(p => ImageFile.Read(p, 3, 7, 9).Data).ToArray();
        var folder = ImageFolder.Load(dir.Path, 3, 7, 9).Images;
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            if (t % 4 == 0) Assert.Equal(folder, ImageFolder.Load(dir.Path, 3, 7, 9).Images);
            else
                for (int r = 0; r < 20; r++)
                {
                    int k = (t * 7 + r) % paths.Count;
                    Assert.Equal(expected[k], ImageFile.Read(paths[k], 3, 7, 9).Data);
                }
        });
    }

    // ------------------------------------------------------------------ ImageDataset

    [Fact]
    public void ImageDatasetValidatesItsArguments()
    {
        Assert.Throws<ArgumentException>(() => new ImageDataset(new float[8], [0, 1], 1, 2, 3, ["a", "b"]));   // 8 ≠ 2·6
        var e = Assert.Throws<ArgumentException>(() => new ImageDataset(new float[12], [0, 2], 1, 2, 3, ["a", "b"]));
        Assert.Contains("label 2", e.Message);
        Assert.Throws<ArgumentException>(() => new ImageDataset(new float[0], [], 0, 2, 3, ["a"]));

        var ds = new ImageDataset(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), [1, 0], 1, 2, 3, ["a", "b"]);
        var sub = ds.Subset([1, 1, 0]);
        Assert.Equal([0, 0, 1], sub.Labels);
        Assert.Equal(6f, sub.Images[0]);
        Assert.Equal(0f, sub.Images[12]);
        Assert.Equal([1, 1], ds.ClassCounts());
    }

    // ------------------------------------------------------------------ the embedded subset

    [Fact]
    public void EmbeddedSubsetLoadsBalanced()
    {
        var train = Datasets.FashionMnist(train: true, DataSource.Subset);
        var test = Datasets.FashionMnist(train: false, DataSource.Subset);
        Assert.Equal(12000, train.Count);
        Assert.Equal(2000, test.Count);
        Assert.All(train.ClassCounts(), c => Assert.Equal(1200, c));
        Assert.All(test.ClassCounts(), c => Assert.Equal(200, c));
        Assert.Equal((1, 28, 28), (train.Channels, train.Height, train.Width));
        Assert.Equal("T-shirt/top", train.Classes[0]);
        Assert.Equal("Ankle boot", train.Classes[9]);
        Assert.Contains("embedded subset", train.Name);
        // Real images: values in [0, 1], not all equal, mostly dark background with bright garments.
        Assert.True(train.Images.Min() >= 0f && train.Images.Max() <= 1f);
        double mean = train.Images.Average();
        Assert.InRange(mean, 0.2, 0.4); // Fashion-MNIST's pixel mean is 0.286
        // The test split is a different set of images.
        Assert.NotEqual(train.Pixels(0).ToArray(), test.Pixels(0).ToArray());
    }

    [Fact]
    public void EmbeddedSubsetIsFoundFromTheBuildOutputAndTheRepository()
    {
        var found = Datasets.FindEmbeddedSubset();
        Assert.NotNull(found);
        Assert.True(Idx.HasSplit(found!, true) && Idx.HasSplit(found!, false));
        // The build copies the subset next to the test assembly, so it is found there first.
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist-subset", "train-images-idx3-ubyte.gz")),
            "the engine project should copy data/fashion-mnist-subset to the output folder");
    }
}

/// <summary>Runs alone (no other test class in parallel): it changes a process-wide environment variable that
/// Datasets.FashionMnist reads.</summary>
[CollectionDefinition("Process environment", DisableParallelization = true)]
public class ProcessEnvironmentCollection { }

[Collection("Process environment")]
public class DatasetsEnvironmentTests
{
    private static byte[] RandomBytes(Generator g, int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)g.NextInt(256);
        return b;
    }

    [Fact]
    public void FashionMnistAutoPrefersTheFolderOfTheEnvironmentVariable()
    {
        using var dir = new TempDir();
        var g = new Generator(9);
        Idx.WriteImages(dir["t10k-images-idx3-ubyte"], RandomBytes(g, 3 * 28 * 28), 3, 28, 28);
        Idx.WriteLabels(dir["t10k-labels-idx1-ubyte"], [9, 0, 4]);
        var old = Environment.GetEnvironmentVariable(Datasets.FashionMnistEnvVar);
        try
        {
            Environment.SetEnvironmentVariable(Datasets.FashionMnistEnvVar, dir.Path);
            var ds = Datasets.FashionMnist(train: false);
            Assert.Equal(3, ds.Count);
            Assert.Equal([9, 0, 4], ds.Labels);
            Assert.Equal("Ankle boot", ds.Classes[ds.Labels[0]]);
            // The subset is still there when asked for explicitly.
            Assert.Equal(2000, Datasets.FashionMnist(train: false, DataSource.Subset).Count);
            // A variable pointing at a folder without the files is an error, not a silent fallback.
            Assert.Throws<FileNotFoundException>(() => Datasets.FashionMnist(train: true));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Datasets.FashionMnistEnvVar, old);
        }
    }
}
