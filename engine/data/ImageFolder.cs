using System.Runtime.ExceptionServices;

namespace ScratchNet.data;

/// <summary>
/// A folder of images with one subfolder per class (torchvision.datasets.ImageFolder):
/// <code>
///   root/cat/001.png
///   root/cat/002.jpg
///   root/dog/abc.bmp
/// </code>
/// Class names are the subfolder names in ordinal order (label k is the k-th name); files are taken in
/// ordinal name order inside each class. Each PNG, JPEG or BMP is read by <see cref="ImageFile.Read"/>:
/// checked to be complete, decoded, resized (bilinear, in 8 bits, like PIL) and converted to the requested
/// number of channels (1 = grey by ITU-R 601-2 luma, 3 = RGB), within the limits of
/// <see cref="ImageReadOptions"/>.
/// </summary>
public static class ImageFolder
{
    /// <summary>The file extensions taken as images (any case); other files in a class folder are ignored.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>
    /// Loads every image under <paramref name="root"/> as [N, channels, height, width] floats in [0, 1].
    /// A file that cannot be read is a <see cref="DataFormatException"/> naming it; with several, the first
    /// in file order (class folders, then names) is reported.
    /// </summary>
    public static ImageDataset Load(string root, int channels, int height, int width, ImageReadOptions? options = null)
    {
        const string op = "ImageFolder.Load";
        var o = ImageFile.CheckArguments(op, channels, height, width, options);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{op}: folder {root} does not exist");

        var classDirs = Directory.GetDirectories(root).OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0) throw new ArgumentException($"{op}: {root} has no class subfolders (expected root/<class>/<image>)");

        var files = new List<(string Path, int Label)>();
        for (int k = 0; k < classDirs.Length; k++)
        {
            var images = Directory.GetFiles(classDirs[k])
                .Where(f => Extensions.Contains(Path.GetExtension(f)))
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToArray();
            if (images.Length == 0)
                throw new ArgumentException($"{op}: class folder {classDirs[k]} has no image ({string.Join(", ", Extensions)})");
            files.AddRange(images.Select(f => (f, k)));
        }

        int sample = channels * height * width;
        if ((long)files.Count * sample > Array.MaxLength)
            throw new ArgumentException($"{op}: {files.Count} images of [{channels}, {height}, {width}] are {(long)files.Count * sample:N0} values, more than one array can hold ({Array.MaxLength:N0}); use a smaller size or fewer images");
        var pixels = new float[(long)files.Count * sample];
        var labels = new int[files.Count];
        // Decoding is independent per file: the decode threads (one per core) take the files in order, each
        // under the time limit. Each result lands at its own index, so the dataset does not depend on the
        // scheduling; neither does the error reported, the one of the first bad file in order.
        var errors = DecodeThreads.Run(files.Count, o.Timeout,
            (i, token) => ImageFile.ReadOnThisThread(files[i].Path, channels, height, width, o, token),
            (i, image) =>
            {
                image.Data.CopyTo(pixels.AsSpan(i * sample, sample));
                labels[i] = files[i].Label;
            },
            i => ImageFile.TimedOut(files[i].Path, o.Timeout));
        if (errors.FirstOrDefault(e => e is not null) is { } first) ExceptionDispatchInfo.Capture(first).Throw();
        return new ImageDataset(pixels, labels, channels, height, width, classDirs.Select(d => Path.GetFileName(d)).ToArray(), $"image folder {root}");
    }

    /// <summary>
    /// Reads one PNG/JPEG/BMP file as CHW floats in [0, 1] with the given channels, resized to height×width
    /// (<see cref="ImageFile.Read"/>).
    /// </summary>
    public static Image LoadImage(string path, int channels, int height, int width, ImageReadOptions? options = null)
        => ImageFile.Read(path, channels, height, width, options);
}
