using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;

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
    /// <summary>Magic number of an image file: unsigned bytes (0x08), 3 dimensions [N, rows, cols].</summary>
    public const int ImagesMagic = 0x00000803;
    /// <summary>Magic number of a label file: unsigned bytes (0x08), 1 dimension [N].</summary>
    public const int LabelsMagic = 0x00000801;
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an IDX file of unsigned bytes with <paramref name="expectedDims"/> dimensions; returns its sizes and elements.</summary>
    public static (int[] Sizes, byte[] Data) ReadArray(string path, int expectedDims)
    {
        if (expectedDims is < 1 or > 255) throw new ArgumentException($"Idx.ReadArray: expectedDims must be in [1, 255], got {expectedDims}");
        using var reader = new DataFile.Reader(path);
        int expectedMagic = (UnsignedByte << 8) | expectedDims;
        byte[] head = reader.Read(4);
        if (head.Length < 4)
            throw new DataFormatException(path, $"truncated IDX file: {head.Length} bytes, the magic number alone needs 4", offset: head.Length);
        int magic = BinaryPrimitives.ReadInt32BigEndian(head);
        if (head[0] != 0 || head[1] != 0)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (not an IDX file{(DataFile.LooksLikeGzip(head) ? "; nested gzip?" : "")})", offset: 0);
        if (head[2] != UnsignedByte)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8}: element type 0x{head[2]:X2} is not unsigned byte (0x08)", offset: 2);
        if (head[3] != expectedDims)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8}: {head[3]} dimensions instead of {expectedDims} ({(expectedDims == 1 ? "a label file" : "an image file")} was expected)", offset: 3);

        int header = 4 + 4 * expectedDims;
        byte[] sizeBytes = reader.Read(4 * expectedDims);
        if (sizeBytes.Length < 4 * expectedDims)
            throw new DataFormatException(path, $"truncated IDX header: {4 + sizeBytes.Length} bytes, the sizes need {header}", offset: 4 + sizeBytes.Length);
        var sizes = new int[expectedDims];
        for (int d = 0; d < expectedDims; d++)
        {
            sizes[d] = BinaryPrimitives.ReadInt32BigEndian(sizeBytes.AsSpan(4 * d));
            if (sizes[d] < 0 || (d > 0 && sizes[d] == 0))
                throw new DataFormatException(path, $"invalid size {sizes[d]} of dimension {d}", offset: 4 + 4 * d);
        }
        // The product of up to 255 int32 sizes overflows any fixed-width integer (16·2^30·2^30 is 2^64, which
        // wraps to 0 in a long): compute it exactly, and refuse what no array could hold before reading on.
        BigInteger count = 1, recordSize = 1;
        for (int d = 0; d < expectedDims; d++)
        {
            count *= sizes[d];
            if (d > 0) recordSize *= sizes[d];
        }
        string shape = $"[{string.Join(", ", sizes)}]";
        if (count > Array.MaxLength - header)
            throw new DataFormatException(path, $"the sizes {shape} describe {count:N0} bytes of elements, more than one array can hold ({Array.MaxLength - header:N0}): a corrupt header?", offset: 4);
        long expected = header + (long)count;
        if (!reader.Gzip && reader.RawLength < expected)
            throw Truncated(path, sizes, recordSize, expected, reader.RawLength, header);

        byte[] data = reader.Read((long)count);
        if (data.Length < count) throw Truncated(path, sizes, recordSize, expected, header + data.Length, header);
        // Extra bytes are counted up to 1 MiB, so that a gzip bomb behind a valid header is not decompressed.
        long extra = reader.Gzip ? reader.CountRest((1 << 20) + 1) : reader.RawLength - expected;
        if (extra > 0)
            throw new DataFormatException(path, $"{(extra > 1 << 20 && reader.Gzip ? "more than 1 MiB of" : $"{extra}")} unexpected bytes after the last of {sizes[0]} records", offset: expected);
        return (sizes, data);
    }

    private static DataFormatException Truncated(string path, int[] sizes, BigInteger recordSize, long expected, long length, int header)
    {
        long complete = (long)((length - header) / recordSize);
        return new DataFormatException(path,
            $"truncated: {sizes[0]} records of {recordSize} bytes need {expected} bytes, the file has {length}; record {complete} is incomplete",
            offset: length, record: complete);
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
        foreach (int s in sizes) count = checked(count * Check.NonNegative("Idx.Write", "size", s));
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

    /// <summary>Writes <paramref name="count"/> images of <paramref name="rows"/> × <paramref name="cols"/> bytes as an IDX image
    /// file ([count, rows, cols]; gzip when the path ends with ".gz").</summary>
    public static void WriteImages(string path, ReadOnlySpan<byte> pixels, int count, int rows, int cols) => Write(path, pixels, count, rows, cols);
    /// <summary>Writes one label byte per image as an IDX label file ([N]; gzip when the path ends with ".gz").</summary>
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels) => Write(path, labels, labels.Length);
}

/// <summary>
/// Whole-file reads with transparent gzip decompression and errors that name the file. Memory grows only
/// as data actually arrives, up to a stated limit, so a small file cannot make us allocate what its header
/// or gzip trailer merely claims, and a gzip bomb stops at the limit.
/// </summary>
internal static class DataFile
{
    /// <summary>The default limit: the largest byte array .NET can allocate.</summary>
    public static long MaxBytes => Array.MaxLength;

    public static bool LooksLikeGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B;

    /// <summary>The whole (decompressed) content of <paramref name="path"/>, refused beyond <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes = -1)
    {
        if (maxBytes < 0) maxBytes = MaxBytes;
        using var reader = new Reader(path);
        if (!reader.Gzip && reader.RawLength > maxBytes)
            throw new DataFormatException(path, $"the file has {reader.RawLength:N0} bytes, more than the {maxBytes:N0} that can be read into memory");
        byte[] data = reader.Read(maxBytes);
        if (data.Length == maxBytes && reader.CountRest(1) > 0)
            throw new DataFormatException(path, $"the gzip data decompresses to more than {maxBytes:N0} bytes, the most that can be read into memory (a gzip bomb?)");
        return data;
    }

    /// <summary>Sequential reads of a file, decompressed when it starts with the gzip magic bytes 1F 8B.</summary>
    public sealed class Reader : IDisposable
    {
        private readonly string path;
        private readonly FileStream file;
        private readonly Stream stream;
        private long position;

        public Reader(string path)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
            this.path = path;
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            RawLength = file.Length;
            Span<byte> magic = stackalloc byte[2];
            int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            Gzip = n == 2 && LooksLikeGzip(magic);
            file.Position = 0;
            if (Gzip)
            {
                // The gzip trailer ends with ISIZE, the uncompressed length mod 2^32: a size hint, no more
                // (it can lie, and a multi-member file has several).
                if (RawLength >= 18)
                {
                    Span<byte> isize = stackalloc byte[4];
                    file.Position = RawLength - 4;
                    file.ReadExactly(isize);
                    SizeHint = BinaryPrimitives.ReadUInt32LittleEndian(isize);
                    file.Position = 0;
                }
                stream = new GZipStream(file, CompressionMode.Decompress);
            }
            else stream = file;
        }

        /// <summary>Whether the file is gzip-compressed.</summary>
        public bool Gzip { get; }
        /// <summary>The length of the file on disk.</summary>
        public long RawLength { get; }
        /// <summary>The decompressed length the gzip trailer claims (0 when unknown).</summary>
        private long SizeHint { get; }
        /// <summary>Bytes of (decompressed) content read so far.</summary>
        public long Position => position;

        /// <summary>
        /// Reads up to <paramref name="max"/> bytes; fewer only at the end of the content. The buffer starts
        /// at what the file can plausibly hold — the bytes left for a raw file; for gzip the trailer's claim,
        /// capped at 1032 times the compressed size, deflate's largest ratio — and doubles as data comes.
        /// </summary>
        public byte[] Read(long max)
        {
            max = Math.Min(max, Array.MaxLength);
            long guess = Gzip
                ? Math.Max(Math.Min(SizeHint - position, RawLength * 1032), 1 << 16)
                : RawLength - position;
            var buffer = new byte[Math.Clamp(guess, 0, max)];
            int filled = 0;
            try
            {
                while (true)
                {
                    if (filled == buffer.Length)
                    {
                        if (buffer.Length >= max) break;
                        Array.Resize(ref buffer, (int)Math.Min(Math.Max(2L * buffer.Length, 1 << 16), max));
                    }
                    int n = stream.Read(buffer, filled, buffer.Length - filled);
                    if (n == 0) break;
                    filled += n;
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException && e is not DataFormatException)
            {
                throw Corrupt(e, position + filled);
            }
            position += filled;
            return filled == buffer.Length ? buffer : buffer[..filled];
        }

        /// <summary>Counts the bytes left, reading at most <paramref name="max"/> of them (into a scratch buffer).</summary>
        public long CountRest(long max)
        {
            var scratch = new byte[(int)Math.Min(max, 1 << 16)];
            long count = 0;
            try
            {
                while (count < max)
                {
                    int n = stream.Read(scratch, 0, (int)Math.Min(scratch.Length, max - count));
                    if (n == 0) break;
                    count += n;
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException && e is not DataFormatException)
            {
                throw Corrupt(e, position + count);
            }
            return count;
        }

        private DataFormatException Corrupt(Exception e, long at)
            => new(path, $"corrupt or truncated gzip data ({ImageFile.OneLine(e.Message)})", offset: at, inner: e);

        public void Dispose()
        {
            stream.Dispose();
            file.Dispose();
        }
    }
}
