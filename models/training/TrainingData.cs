using ScratchNet.data;

namespace ScratchNet.Models.Training;

/// <summary>
/// The training and test sets of a run, with the transforms that turn their images into the model's input:
///   - AlexNet takes 3×32×32: 28×28 grey images are padded to 32×32 and their channel repeated three times;
///   - the seed CNN and the MLP take 1×28×28 (the MLP flattens it);
/// then every image is normalised with mean 0.5 and std 0.5 (the lecture's Normalize((0.5,), (0.5,))). The
/// training set alone gets the notebook's augmentation: random horizontal flip, rotation within ±15° and
/// translation within ±10%.
/// </summary>
public sealed class TrainingData
{
    /// <summary>The training set (cut to TrainLimit images when set).</summary>
    public required ImageDataset Train { get; init; }
    /// <summary>The test set, used for the evaluation after every epoch (cut to TestLimit images when set).</summary>
    public required ImageDataset Test { get; init; }
    /// <summary>Sizing, augmentation (when enabled), channel repeat and normalisation of each training image.</summary>
    public required Transform TrainTransform { get; init; }
    /// <summary>The same without augmentation: sizing, channel repeat, normalisation.</summary>
    public required Transform TestTransform { get; init; }
    /// <summary>Input shape [C, H, W] the model sees after the transforms.</summary>
    public required int[] InputShape { get; init; }
    /// <summary>The class names of the training set; output k of the model is Classes[k].</summary>
    public IReadOnlyList<string> Classes => Train.Classes;
    /// <summary>Where the data came from (printed and saved with the run).</summary>
    public required string Source { get; init; }

    /// <summary>The input [C, H, W] a model trained by `train` takes: [3, 32, 32] for alexnet, [1, 28, 28] for the others.</summary>
    public static int[] ModelInput(string model) => model == "alexnet" ? [3, 32, 32] : [1, 28, 28];

    /// <summary>Loads the data <paramref name="o"/> names (fashion-mnist, mnist, cifar10, or an image folder with train/ and test/,
    /// or one folder of which every sixth image is held out), applies the limits and builds the transforms for the model's
    /// input.</summary>
    public static TrainingData Load(TrainOptions o)
    {
        int[] input = o.InputShape ?? ModelInput(o.Model);
        ImageDataset train, test;
        string source;
        switch (o.Data)
        {
            case "fashion-mnist":
                train = o.DataPath is null ? Datasets.FashionMnist(true) : Datasets.FashionMnist(o.DataPath, true);
                test = o.DataPath is null ? Datasets.FashionMnist(false) : Datasets.FashionMnist(o.DataPath, false);
                source = train.Name;
                break;
            case "mnist":
                train = Datasets.Mnist(o.DataPath!, true);
                test = Datasets.Mnist(o.DataPath!, false);
                source = o.DataPath!;
                break;
            case "cifar10":
                train = Datasets.Cifar10(o.DataPath!, true);
                test = Datasets.Cifar10(o.DataPath!, false);
                source = o.DataPath!;
                break;
            default: // folder: PATH/train/<class>/*.png and PATH/test/<class>/*.png, or one folder split 5:1
                (train, test) = LoadFolder(o.DataPath!, input, o.ImageOptions);
                source = o.DataPath!;
                break;
        }
        if (o.TrainLimit is int tl && tl < train.Count) train = train.Subset(Enumerable.Range(0, tl).ToArray());
        if (o.TestLimit is int sl && sl < test.Count) test = test.Subset(Enumerable.Range(0, sl).ToArray());

        var (trainT, testT) = TransformsFor(train, input, o.Augment, o.Model);
        return new TrainingData { Train = train, Test = test, TrainTransform = trainT, TestTransform = testT, InputShape = input, Source = source };
    }

    private static (ImageDataset, ImageDataset) LoadFolder(string root, int[] input, ImageReadOptions images)
    {
        string trainDir = Path.Combine(root, "train"), testDir = Path.Combine(root, "test");
        if (Directory.Exists(trainDir) && Directory.Exists(testDir))
            return (ImageFolder.Load(trainDir, input[0], input[1], input[2], images), ImageFolder.Load(testDir, input[0], input[1], input[2], images));
        // One folder: every sixth image (in file order) is held out for validation.
        var all = ImageFolder.Load(root, input[0], input[1], input[2], images);
        var testIdx = Enumerable.Range(0, all.Count).Where(i => i % 6 == 5).ToArray();
        var trainIdx = Enumerable.Range(0, all.Count).Where(i => i % 6 != 5).ToArray();
        if (testIdx.Length == 0) throw new ArgumentException($"train: the image folder {root} has too few images ({all.Count}) to hold some out for validation");
        return (all.Subset(trainIdx), all.Subset(testIdx));
    }

    /// <summary>The lecture's pipelines, adapted to the dataset's image shape and the model's input shape.</summary>
    public static (Transform Train, Transform Test) TransformsFor(ImageDataset data, int[] input, bool augment, string model)
    {
        // Size first, then augmentation on the single grey plane, then the channel repeat: augmenting each of
        // three identical planes alike gives the same floats for three times the work.
        var size = new List<Transform>();
        var channels = new List<Transform>();
        int c = data.Channels, h = data.Height, w = data.Width;
        if (h != input[1] || w != input[2])
            size.Add(h <= input[1] && w <= input[2] ? new PadTo(input[1], input[2]) : new Resize(input[1], input[2]));
        if (c != input[0])
        {
            if (c == 1 && input[0] == 3) channels.Add(new RepeatChannels(3));
            else throw new ArgumentException($"train: {model} takes {input[0]}-channel {input[1]}×{input[2]} images; {data.Name} has {c}-channel {h}×{w} images (use alexnet for colour images)");
        }
        var test = size.Concat(channels).Append(new Normalize(0.5f, 0.5f)).ToArray();
        var train = new List<Transform>(size);
        if (augment)
        {
            train.Add(new RandomHorizontalFlip(0.5f));
            train.Add(new RandomRotation(15));
            train.Add(new RandomTranslate(0.1, 0.1));
        }
        train.AddRange(channels);
        train.Add(new Normalize(0.5f, 0.5f));
        return (new Compose(train.ToArray()), new Compose(test));
    }
}
