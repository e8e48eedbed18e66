namespace ScratchNet.data;

/// <summary>
/// The binary version of CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html), as extracted from
/// cifar-10-binary.tar.gz into cifar-10-batches-bin/: data_batch_1.bin … data_batch_5.bin (10,000 images
/// each), test_batch.bin, and batches.meta.txt with the ten class names, one per line.
///
/// Each batch file is a plain sequence of 3073-byte records:
/// <code>
///   byte 0            label, 0..9
///   bytes 1..1024     red plane,   32×32, row-major
///   bytes 1025..2048  green plane
///   bytes 2049..3072  blue plane
/// </code>
/// which is already CHW order, so a record's pixels copy straight into the [N, 3, 32, 32] array.
/// </summary>
public static class Cifar10
{
    /// <summary>Image height and width in pixels.</summary>
    public const int Side = 32;
    /// <summary>Colour planes per image, in the order red, green, blue.</summary>
    public const int Channels = 3;
    /// <summary>Bytes of one image: 3 planes of 32×32, CHW order.</summary>
    public const int ImageBytes = Channels * Side * Side;
    /// <summary>Bytes of one record: the label byte, then the image.</summary>
    public const int RecordBytes = 1 + ImageBytes;
    /// <summary>The folder cifar-10-binary.tar.gz extracts to, holding the batch files and batches.meta.txt.</summary>
    public const string BatchFolder = "cifar-10-batches-bin";

    /// <summary>The published class names, used when batches.meta.txt is absent.</summary>
    public static readonly IReadOnlyList<string> DefaultClasses =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The five training batches, 10,000 images each, in the order they are concatenated.</summary>
    public static readonly IReadOnlyList<string> TrainFiles =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
    /// <summary>The test batch, 10,000 images.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>Reads one batch file: its pixels as bytes [N, 3, 32, 32] and labels, each label checked against <paramref name="numClasses"/>.</summary>
    public static (byte[] Pixels, int[] Labels) ReadBatch(string path, int numClasses = 10)
    {
        byte[] bytes = DataFile.ReadAllBytes(path);
        if (bytes.Length == 0) throw new DataFormatException(path, "empty CIFAR-10 batch file", offset: 0);
        if (bytes.Length % RecordBytes != 0)
        {
            long complete = bytes.Length / RecordBytes;
            throw new DataFormatException(path,
                $"truncated: {bytes.Length} bytes is not a whole number of {RecordBytes}-byte records; record {complete} is incomplete",
                offset: complete * RecordBytes, record: complete);
        }
        int n = bytes.Length / RecordBytes;
        var pixels = new byte[(long)n * ImageBytes];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            long at = (long)i * RecordBytes;
            int label = bytes[at];
            if (label >= numClasses)
                throw new DataFormatException(path, $"label {label} out of range [0, {numClasses})", offset: at, record: i);
            labels[i] = label;
            bytes.AsSpan((int)at + 1, ImageBytes).CopyTo(pixels.AsSpan(i * ImageBytes, ImageBytes));
        }
        return (pixels, labels);
    }

    /// <summary>Reads batches.meta.txt (one class name per line, blank lines ignored).</summary>
    public static string[] ReadClassNames(string path)
    {
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length == 0) throw new DataFormatException(path, "no class names");
        return names;
    }

    /// <summary>
    /// Loads the training set (the five data batches) or the test set from <paramref name="folder"/>,
    /// which is either the extracted cifar-10-batches-bin folder or its parent.
    /// </summary>
    public static ImageDataset Load(string folder, bool train)
    {
        string dir = ResolveFolder(folder);
        string meta = Path.Combine(dir, "batches.meta.txt");
        IReadOnlyList<string> classes = File.Exists(meta) ? ReadClassNames(meta) : DefaultClasses;
        var files = train ? TrainFiles : [TestFile];
        var parts = new List<(byte[] Pixels, int[] Labels)>();
        long total = 0;
        foreach (var f in files)
        {
            string path = Path.Combine(dir, f);
            parts.Add(ReadBatch(path, classes.Count));
            total += parts[^1].Labels.Length;
            // All images go into one float array: refuse before allocating what it cannot hold.
            if (total * ImageBytes > Array.MaxLength)
                throw new DataFormatException(path, $"brings the images to {total:N0}, {total * ImageBytes:N0} values, more than one array can hold ({Array.MaxLength:N0})");
        }

        var images = new float[(long)total * ImageBytes];
        var labels = new int[total];
        int offset = 0; // in images; offset·ImageBytes stays below Array.MaxLength
        foreach (var (pixels, lab) in parts)
        {
            ImageDataset.ToUnitFloats(pixels, images.AsSpan(offset * ImageBytes, pixels.Length));
            lab.CopyTo(labels, offset);
            offset += lab.Length;
        }
        return new ImageDataset(images, labels, Channels, Side, Side, classes, $"cifar10 {(train ? "train" : "test")} ({dir})");
    }

    /// <summary>Whether <paramref name="folder"/> (or its cifar-10-batches-bin child) holds the split's files.</summary>
    public static bool HasSplit(string folder, bool train)
    {
        string dir = Directory.Exists(Path.Combine(folder, BatchFolder)) ? Path.Combine(folder, BatchFolder) : folder;
        return (train ? TrainFiles : [TestFile]).All(f => File.Exists(Path.Combine(dir, f)));
    }

    private static string ResolveFolder(string folder)
    {
        if (File.Exists(Path.Combine(folder, TestFile)) || File.Exists(Path.Combine(folder, TrainFiles[0]))) return folder;
        string child = Path.Combine(folder, BatchFolder);
        if (Directory.Exists(child)) return child;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Cifar10: folder {folder} does not exist");
        return folder; // ReadBatch then names the missing file
    }

    /// <summary>Writes records in the CIFAR-10 binary layout (tests and tools): pixels [N, 3, 32, 32] as bytes.</summary>
    public static void WriteBatch(string path, ReadOnlySpan<byte> pixels, ReadOnlySpan<byte> labels)
    {
        if (pixels.Length != labels.Length * ImageBytes)
            throw new ArgumentException($"Cifar10.WriteBatch: {pixels.Length} pixel bytes for {labels.Length} labels (expected {labels.Length * ImageBytes})");
        using var f = File.Create(path);
        for (int i = 0; i < labels.Length; i++)
        {
            f.WriteByte(labels[i]);
            f.Write(pixels.Slice(i * ImageBytes, ImageBytes));
        }
    }
}
