using System.Buffers.Binary;
using System.IO.Compression;

namespace ScratchNet.data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or gzip-compressed.
///
/// Layout, all integers big-endian:
/// <code>
///   offset 0   2 bytes   0x00 0x00
///   offset 2   1 byte    element type (0x08 = unsigned byte, the only one these data sets use)
///   offset 3   1 byte    number of dimensions d
///   offset 4   4·d bytes the sizes, int32 each
///   then       prod(sizes) elements in row-major order
/// </code>
/// So an image file starts with the "magic number" 0x00000803 and sizes [N, 28, 28], a label file with
/// 0x00000801 and [N]. Gzip is recognised by its own magic bytes (1F 8B), not by the file name.
/// </summary>
public static class Idx
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an IDX file of unsigned bytes with <paramref name="expectedDims"/> dimensions; returns its sizes and elements.</summary>
    public static (int[] Sizes, byte[] Data) ReadArray(string path, int expectedDims)
    {
        byte[] bytes = DataFile.ReadAllBytes(path);
        int expectedMagic = (UnsignedByte << 8) | expectedDims;
        if (bytes.Length < 4)
            throw new DataFormatException(path, $"truncated IDX file: {bytes.Length} bytes, the magic number alone needs 4", offset: bytes.Length);
        int magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (not an IDX file{(DataFile.LooksLikeGzip(bytes) ? "; nested gzip?" : "")})", offset: 0);
        if (bytes[2] != UnsignedByte)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8}: element type 0x{bytes[2]:X2} is not unsigned byte (0x08)", offset: 2);
        if (bytes[3] != expectedDims)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8}: {bytes[3]} dimensions instead of {expectedDims} ({(expectedDims == 1 ? "a label file" : "an image file")} was expected)", offset: 3);

        int header = 4 + 4 * expectedDims;
        if (bytes.Length < header)
            throw new DataFormatException(path, $"truncated IDX header: {bytes.Length} bytes, the sizes need {header}", offset: bytes.Length);
        var sizes = new int[expectedDims];
        long count = 1;
        for (int d = 0; d < expectedDims; d++)
        {
            sizes[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (sizes[d] < 0 || (d > 0 && sizes[d] == 0))
                throw new DataFormatException(path, $"invalid size {sizes[d]} of dimension {d}", offset: 4 + 4 * d);
            count *= sizes[d];
        }
        long recordSize = 1;
        for (int d = 1; d < expectedDims; d++) recordSize *= sizes[d];

        long expected = header + count;
        if (bytes.Length < expected)
        {
            long complete = (bytes.Length - header) / recordSize;
            throw new DataFormatException(path,
                $"truncated: {sizes[0]} records of {recordSize} bytes need {expected} bytes, the file has {bytes.Length}; record {complete} is incomplete",
                offset: bytes.Length, record: complete);
        }
        if (bytes.Length > expected)
            throw new DataFormatException(path, $"{bytes.Length - expected} unexpected bytes after the last of {sizes[0]} records", offset: expected);
        return (sizes, bytes[header..]);
    }

    /// <summary>Reads an IDX label file (magic 0x00000801) and checks each label is in [0, numClasses).</summary>
    public static int[] ReadLabels(string path, int numClasses)
    {
        Check.Positive("Idx.ReadLabels", "numClasses", numClasses);
        var (sizes, data) = ReadArray(path, 1);
        var labels = new int[sizes[0]];
        for (int i = 0; i < labels.Length; i++)
        {
            if (data[i] >= numClasses)
                throw new DataFormatException(path, $"label {data[i]} out of range [0, {numClasses})", offset: 8 + i, record: i);
            labels[i] = data[i];
        }
        return labels;
    }

    /// <summary>Reads an IDX image file (magic 0x00000803): pixels [N, rows, cols] as bytes.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var (sizes, data) = ReadArray(path, 3);
        return (data, sizes[0], sizes[1], sizes[2]);
    }

    /// <summary>
    /// Loads an image file and its label file into a one-channel dataset with pixels in [0, 1].
    /// <paramref name="classes"/> defaults to the ten digits "0".."9".
    /// </summary>
    public static ImageDataset Load(string imagesPath, string labelsPath, IReadOnlyList<string>? classes = null, string name = "")
    {
        classes ??= Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();
        var (pixels, n, rows, cols) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath, classes.Count);
        if (labels.Length != n)
            throw new DataFormatException(imagesPath, $"has {n} images but the label file {labelsPath} has {labels.Length} labels");
        return ImageDataset.FromBytes(pixels, labels, 1, rows, cols, classes, name);
    }

    /// <summary>
    /// Loads the training or test split from a folder holding the four standard MNIST-style files
    /// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...), each either raw or with a .gz suffix.
    /// </summary>
    public static ImageDataset LoadFolder(string folder, bool train, IReadOnlyList<string>? classes = null, string name = "")
    {
        string prefix = train ? "train" : "t10k";
        string images = FindStandardFile(folder, $"{prefix}-images-idx3-ubyte");
        string labels = FindStandardFile(folder, $"{prefix}-labels-idx1-ubyte");
        return Load(images, labels, classes, name);
    }

    /// <summary>Whether <paramref name="folder"/> has both files of the split (raw or .gz).</summary>
    public static bool HasSplit(string folder, bool train)
    {
        string prefix = train ? "train" : "t10k";
        return TryFind(folder, $"{prefix}-images-idx3-ubyte") is not null && TryFind(folder, $"{prefix}-labels-idx1-ubyte") is not null;
    }

    private static string? TryFind(string folder, string baseName)
    {
        foreach (var candidate in new[] { baseName + ".gz", baseName, baseName.Replace("-idx", ".idx") })
        {
            var p = Path.Combine(folder, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static string FindStandardFile(string folder, string baseName)
        => TryFind(folder, baseName) ?? throw new FileNotFoundException($"Idx: neither {baseName} nor {baseName}.gz is in {folder}", Path.Combine(folder, baseName));

    // ---------------------------------------------------------------- writing (tests, the subset tool)

    /// <summary>Writes an IDX file of unsigned bytes; gzip-compressed when the path ends with ".gz".</summary>
    public static void Write(string path, ReadOnlySpan<byte> data, params int[] sizes)
    {
        long count = 1;
        foreach (int s in sizes) count *= Check.NonNegative("Idx.Write", "size", s);
        if (sizes.Length is < 1 or > 255) throw new ArgumentException($"Idx.Write: {sizes.Length} dimensions");
        if (count != data.Length) throw new ArgumentException($"Idx.Write: {data.Length} bytes do not fill sizes [{string.Join(", ", sizes)}]");
        var header = new byte[4 + 4 * sizes.Length];
        header[2] = UnsignedByte;
        header[3] = (byte)sizes.Length;
        for (int d = 0; d < sizes.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), sizes[d]);

        using var file = File.Create(path);
        using Stream output = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.SmallestSize) : file;
        output.Write(header);
        output.Write(data);
    }

    public static void WriteImages(string path, ReadOnlySpan<byte> pixels, int count, int rows, int cols) => Write(path, pixels, count, rows, cols);
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels) => Write(path, labels, labels.Length);
}

/// <summary>Whole-file reads with transparent gzip decompression and errors that name the file.</summary>
internal static class DataFile
{
    public static bool LooksLikeGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B;

    public static byte[] ReadAllBytes(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        byte[] raw = File.ReadAllBytes(path);
        if (!LooksLikeGzip(raw)) return raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 2);
            gz.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new DataFormatException(path, $"corrupt or truncated gzip data ({e.Message})", inner: e);
        }
    }
}
