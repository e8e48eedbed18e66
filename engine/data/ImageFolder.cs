using System.Runtime.ExceptionServices;
using StbImageSharp;

namespace ScratchNet.data;

/// <summary>
/// A folder of images with one subfolder per class (torchvision.datasets.ImageFolder):
/// <code>
///   root/cat/001.png
///   root/cat/002.jpg
///   root/dog/abc.bmp
/// </code>
/// Class names are the subfolder names in ordinal order (label k is the k-th name); files are taken in
/// ordinal name order inside each class. PNG, JPEG and BMP are decoded with StbImageSharp, converted to
/// the requested number of channels (1 = grey, 3 = RGB, by stb's conversion) and resized bilinearly.
/// </summary>
public static class ImageFolder
{
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Loads every image under <paramref name="root"/> as [N, channels, height, width] floats in [0, 1].</summary>
    public static ImageDataset Load(string root, int channels, int height, int width)
    {
        const string op = "ImageFolder.Load";
        if (channels is not (1 or 3)) throw new ArgumentException($"{op}: channels must be 1 or 3, got {channels}");
        Check.Positive(op, "height", height);
        Check.Positive(op, "width", width);
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
        var pixels = new float[(long)files.Count * sample];
        var labels = new int[files.Count];
        // Decoding is independent per file: spread it over the cores. Each result lands at its own index,
        // so the order (and the dataset) does not depend on the scheduling; so does the error reported: the
        // one of the first bad file in order.
        var errors = new Exception?[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            try
            {
                var image = LoadImage(files[i].Path, channels, height, width);
                image.Data.CopyTo(pixels.AsSpan(i * sample, sample));
                labels[i] = files[i].Label;
            }
            catch (Exception e) { errors[i] = e; }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first) ExceptionDispatchInfo.Capture(first).Throw();
        return new ImageDataset(pixels, labels, channels, height, width, classDirs.Select(d => Path.GetFileName(d)).ToArray(), $"image folder {root}");
    }

    /// <summary>Decodes one PNG/JPEG/BMP file to CHW floats in [0, 1] with the given channels, resized to height×width.</summary>
    public static Image LoadImage(string path, int channels, int height, int width)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"ImageFolder.LoadImage: channels must be 1 or 3, got {channels}");
        byte[] bytes = File.ReadAllBytes(path);
        ImageResult decoded;
        try
        {
            decoded = ImageResult.FromMemory(bytes, channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue);
        }
        catch (Exception e)
        {
            throw new DataFormatException(path, $"cannot decode image: {e.Message}", inner: e);
        }
        if (decoded is null || decoded.Width <= 0 || decoded.Height <= 0 || decoded.Data is null)
            throw new DataFormatException(path, "cannot decode image");
        int h = decoded.Height, w = decoded.Width;
        if (decoded.Data.Length < (long)h * w * channels)
            throw new DataFormatException(path, $"decoder returned {decoded.Data.Length} bytes for {w}×{h}×{channels}");

        // stb returns interleaved HWC bytes; regroup them into planes (CHW) while scaling to [0, 1].
        var chw = new Image(new float[channels * h * w], channels, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                    chw.Data[(c * h + y) * w + x] = decoded.Data[(y * w + x) * channels + c] / 255f;
        return ImageOps.ResizeBilinear(chw, height, width);
    }
}
