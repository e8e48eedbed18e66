namespace ScratchNet.data;

/// <summary>
/// One image in CHW layout: pixel (c, y, x) sits at Data[(c·Height + y)·Width + x]. Transforms take and
/// return these.
/// </summary>
public sealed class Image
{
    /// <summary>An image over <paramref name="data"/> (kept, not copied), which must hold exactly
    /// channels·height·width values in CHW order; ArgumentException otherwise or for a size below 1.</summary>
    public Image(float[] data, int channels, int height, int width)
    {
        Check.Positive("Image", "channels", channels);
        Check.Positive("Image", "height", height);
        Check.Positive("Image", "width", width);
        if (data.Length != (long)channels * height * width)
            throw new ArgumentException($"Image: {data.Length} values do not fill [{channels}, {height}, {width}]");
        Data = data;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>The values, CHW: (c, y, x) at (c·Height + y)·Width + x.</summary>
    public float[] Data { get; }
    /// <summary>Colour planes: 1 for grey, 3 for RGB.</summary>
    public int Channels { get; }
    /// <summary>Rows, in pixels.</summary>
    public int Height { get; }
    /// <summary>Columns, in pixels.</summary>
    public int Width { get; }

    /// <summary>The value of channel <paramref name="c"/> at row <paramref name="y"/>, column <paramref name="x"/> (not bounds
    /// checked per axis: only the flat index must be inside Data).</summary>
    public float this[int c, int y, int x]
    {
        get => Data[(c * Height + y) * Width + x];
        set => Data[(c * Height + y) * Width + x] = value;
    }

    /// <summary>A deep copy: transforms that work in place apply to the copy.</summary>
    public Image Clone() => new((float[])Data.Clone(), Channels, Height, Width);
    /// <summary>The shape, "Image[C, H, W]".</summary>
    public override string ToString() => $"Image[{Channels}, {Height}, {Width}]";
}

/// <summary>
/// An in-memory labelled image dataset, what every loader (IDX, CIFAR-10, image folders) produces:
/// float pixels in [0, 1] laid out as [N, C, H, W] in one array, one int label per image, and the class
/// names (label k is Classes[k]).
/// </summary>
public sealed class ImageDataset
{
    /// <summary>A dataset over <paramref name="images"/> [labels.Length, channels, height, width] (kept, not copied). The values
    /// are not checked against [0, 1]; ArgumentException when the sizes do not match, a size is below 1, there is no class, or a
    /// label is outside [0, classes.Count).</summary>
    public ImageDataset(float[] images, int[] labels, int channels, int height, int width, IReadOnlyList<string> classes, string name = "")
    {
        const string op = "ImageDataset";
        Check.Positive(op, "channels", channels);
        Check.Positive(op, "height", height);
        Check.Positive(op, "width", width);
        if (classes.Count == 0) throw new ArgumentException($"{op}: at least one class name is needed");
        long sample = (long)channels * height * width;
        if (sample > Array.MaxLength) throw new ArgumentException($"{op}: one image of [{channels}, {height}, {width}] has more values than an array can hold");
        if (images.Length != sample * labels.Length)
            throw new ArgumentException($"{op}: {images.Length} pixel values for {labels.Length} labels of [{channels}, {height}, {width}] (expected {sample * labels.Length})");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes.Count)
                throw new ArgumentException($"{op}: label {labels[i]} of image {i} is out of range for {classes.Count} classes");
        Images = images;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        Classes = classes.ToArray();
        Name = name;
    }

    /// <summary>All pixels, [N, C, H, W], in [0, 1].</summary>
    public float[] Images { get; }
    /// <summary>The class of each image, in [0, NumClasses).</summary>
    public int[] Labels { get; }
    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;
    /// <summary>Channels of every image.</summary>
    public int Channels { get; }
    /// <summary>Height of every image, in pixels.</summary>
    public int Height { get; }
    /// <summary>Width of every image, in pixels.</summary>
    public int Width { get; }
    /// <summary>C·H·W, the number of floats of one image.</summary>
    public int SampleSize => Channels * Height * Width;
    /// <summary>The class names: label k is Classes[k].</summary>
    public IReadOnlyList<string> Classes { get; }
    /// <summary>Number of classes, the output width a classifier needs.</summary>
    public int NumClasses => Classes.Count;
    /// <summary>Where the data came from, for logs (e.g. "fashion-mnist train (embedded subset)").</summary>
    public string Name { get; }

    /// <summary>The pixels of image <paramref name="index"/> (a view into <see cref="Images"/>).</summary>
    public ReadOnlySpan<float> Pixels(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentException($"ImageDataset: index {index} out of range for {Count} images");
        return Images.AsSpan(index * SampleSize, SampleSize);
    }

    /// <summary>A copy of image <paramref name="index"/>.</summary>
    public Image GetImage(int index) => new(Pixels(index).ToArray(), Channels, Height, Width);

    /// <summary>How many images each class has.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (int l in Labels) counts[l]++;
        return counts;
    }

    /// <summary>The images at the given indices, in that order (a copy).</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        int s = SampleSize;
        if ((long)indices.Count * s > Array.MaxLength)
            throw new ArgumentException($"ImageDataset.Subset: {indices.Count} images of {s} values are more than one array can hold ({Array.MaxLength:N0})");
        var images = new float[(long)indices.Count * s];
        var labels = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Pixels(indices[i]).CopyTo(images.AsSpan(i * s, s));
            labels[i] = Labels[indices[i]];
        }
        return new ImageDataset(images, labels, Channels, Height, Width, Classes, name ?? Name);
    }

    /// <summary>Builds a dataset from 8-bit pixels (0..255 → 0..1), already in [N, C, H, W] order.</summary>
    public static ImageDataset FromBytes(ReadOnlySpan<byte> pixels, int[] labels, int channels, int height, int width, IReadOnlyList<string> classes, string name = "")
    {
        var images = new float[pixels.Length];
        ToUnitFloats(pixels, images);
        return new ImageDataset(images, labels, channels, height, width, classes, name);
    }

    internal static void ToUnitFloats(ReadOnlySpan<byte> src, Span<float> dst)
    {
        // A true division, as torchvision's ToTensor does (x / 255), so the floats match PyTorch's bit for bit.
        for (int i = 0; i < src.Length; i++) dst[i] = src[i] / 255f;
    }

    /// <summary>One line for logs: "name: N images [C, H, W], K classes" ("ImageDataset" when unnamed).</summary>
    public override string ToString() => $"{(Name.Length > 0 ? Name : "ImageDataset")}: {Count} images [{Channels}, {Height}, {Width}], {NumClasses} classes";
}
