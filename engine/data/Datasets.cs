namespace ScratchNet.data;

/// <summary>Which copy of Fashion-MNIST <see cref="Datasets.FashionMnist(bool, DataSource)"/> loads.</summary>
public enum DataSource
{
    /// <summary>The full set when it is installed, else the embedded subset.</summary>
    Auto,
    /// <summary>The full 60,000 + 10,000 images (error when not installed).</summary>
    Full,
    /// <summary>The class-balanced subset committed under data/fashion-mnist-subset.</summary>
    Subset,
}

/// <summary>
/// Ready-made data sets. Fashion-MNIST comes from, in order:
///   1. the folder named by the environment variable SCRATCHNET_FASHION_MNIST, when set;
///   2. /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist: the full set);
///   3. the embedded subset data/fashion-mnist-subset (12,000 training + 2,000 test images, 10 classes
///      balanced), looked for next to the application (bin/.../data/fashion-mnist-subset) and then in every
///      folder above the current directory and above the application, so it is found both from a build
///      output and from anywhere inside the repository.
/// </summary>
public static class Datasets
{
    /// <summary>The environment variable naming a folder with the Fashion-MNIST IDX files; looked at first.</summary>
    public const string FashionMnistEnvVar = "SCRATCHNET_FASHION_MNIST";
    /// <summary>Where Debian's dataset-fashion-mnist package installs the full set; looked at second.</summary>
    public const string SystemFashionMnist = "/usr/share/datasets/fashion-mnist";
    /// <summary>The embedded subset, relative to the application folder or to a folder above the current directory.</summary>
    public const string EmbeddedSubsetFolder = "data/fashion-mnist-subset";

    /// <summary>Fashion-MNIST class names (label order of the IDX files).</summary>
    public static readonly IReadOnlyList<string> FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>MNIST class names: the digits "0" … "9", label k being digit k.</summary>
    public static readonly IReadOnlyList<string> MnistClasses = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Fashion-MNIST, [N, 1, 28, 28] in [0, 1]; see the class comment for where it is looked for.</summary>
    public static ImageDataset FashionMnist(bool train, DataSource source = DataSource.Auto)
    {
        string split = train ? "train" : "test";
        if (source != DataSource.Subset)
        {
            string? full = FindFullFashionMnist(train);
            if (full is not null) return Idx.LoadFolder(full, train, FashionMnistClasses, $"fashion-mnist {split} ({full})");
            if (source == DataSource.Full)
                throw new FileNotFoundException($"Datasets.FashionMnist: the full Fashion-MNIST is not installed (set {FashionMnistEnvVar} or install the Debian package dataset-fashion-mnist, which puts it in {SystemFashionMnist})");
        }
        string subset = FindEmbeddedSubset()
            ?? throw new DirectoryNotFoundException($"Datasets.FashionMnist: the embedded subset {EmbeddedSubsetFolder} was not found next to {AppContext.BaseDirectory} nor above it or above {Directory.GetCurrentDirectory()}; and the full set is not installed");
        return Idx.LoadFolder(subset, train, FashionMnistClasses, $"fashion-mnist {split} (embedded subset, {subset})");
    }

    /// <summary>Fashion-MNIST from a given folder with the four standard IDX files (raw or .gz).</summary>
    public static ImageDataset FashionMnist(string folder, bool train)
        => Idx.LoadFolder(folder, train, FashionMnistClasses, $"fashion-mnist {(train ? "train" : "test")} ({folder})");

    /// <summary>MNIST from a folder with the four standard IDX files (raw or .gz), e.g. one made by <see cref="DatasetDownloader"/>.</summary>
    public static ImageDataset Mnist(string folder, bool train)
        => Idx.LoadFolder(folder, train, MnistClasses, $"mnist {(train ? "train" : "test")} ({folder})");

    /// <summary>CIFAR-10 from the extracted binary batches (the cifar-10-batches-bin folder or its parent).</summary>
    public static ImageDataset Cifar10(string folder, bool train) => data.Cifar10.Load(folder, train);

    /// <summary>The folder with the full Fashion-MNIST split, or null.</summary>
    public static string? FindFullFashionMnist(bool train)
    {
        var env = Environment.GetEnvironmentVariable(FashionMnistEnvVar);
        if (!string.IsNullOrWhiteSpace(env))
        {
            if (!Idx.HasSplit(env, train))
                throw new FileNotFoundException($"Datasets.FashionMnist: {FashionMnistEnvVar}={env} does not hold the {(train ? "train" : "t10k")} IDX files");
            return env;
        }
        return Idx.HasSplit(SystemFashionMnist, train) ? SystemFashionMnist : null;
    }

    /// <summary>The embedded subset folder, searched next to the application and above it and the current directory; null if absent.</summary>
    public static string? FindEmbeddedSubset()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, EmbeddedSubsetFolder);
                if (Idx.HasSplit(candidate, true) && Idx.HasSplit(candidate, false)) return candidate;
            }
        }
        return null;
    }
}
