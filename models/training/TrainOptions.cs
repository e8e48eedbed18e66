namespace ScratchNet.Models.Training;

/// <summary>
/// Everything that defines a training run. The defaults are the lecture notebook's recipe: SGD with lr 0.01,
/// momentum 0.9 and weight decay 5e-4, cross-entropy, batch 64, and the notebook's augmentation on the
/// training set only.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>The models `train` can train.</summary>
    public static readonly IReadOnlyList<string> Models = ["alexnet", "seedcnn", "mlp"];
    /// <summary>The model kind of a run made by `scratchnet import` from an ONNX graph that is none of <see cref="Models"/>: the
    /// architecture is the run folder's <see cref="ArchitectureFile"/>, its input <see cref="InputShape"/>.</summary>
    public const string ImportedModel = "onnx";
    /// <summary>The ONNX file in an imported run's folder that holds its architecture (the weights are model.safetensors').</summary>
    public const string ArchitectureFile = "model.onnx";
    /// <summary>The kinds of data `--data` takes.</summary>
    public static readonly IReadOnlyList<string> DataKinds = ["fashion-mnist", "mnist", "cifar10", "folder"];
    /// <summary>Largest --batch-size: 65,536 images (AlexNet's activations alone would need ~30 GB at that size).</summary>
    public const int MaxBatchSize = 65_536;
    /// <summary>Largest --epochs.</summary>
    public const int MaxEpochs = 1_000_000;
    /// <summary>Largest --time-limit, in minutes (about 19 years; TimeSpan itself ends near 1.5e10 minutes).</summary>
    public const double MaxTimeLimitMinutes = 1e7;

    /// <summary>alexnet, seedcnn or mlp.</summary>
    public string Model { get; init; } = "alexnet";
    /// <summary>fashion-mnist, mnist, cifar10 or folder.</summary>
    public string Data { get; init; } = "fashion-mnist";
    /// <summary>Folder of the data for mnist, cifar10 and folder (fashion-mnist finds its own).</summary>
    public string? DataPath { get; init; }
    /// <summary>Epochs to train in total (a resumed run counts the epochs before it).</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Images per optimizer step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>SGD's learning rate (before the StepLR schedule).</summary>
    public float LearningRate { get; init; } = 0.01f;
    /// <summary>SGD momentum, in [0, 1).</summary>
    public float Momentum { get; init; } = 0.9f;
    /// <summary>L2 weight decay added to each gradient.</summary>
    public float WeightDecay { get; init; } = 5e-4f;
    /// <summary>StepLR: multiply the learning rate by <see cref="LrGamma"/> every LrStep epochs (0 = constant).</summary>
    public int LrStep { get; init; }
    /// <summary>StepLR's factor, finite and positive.</summary>
    public float LrGamma { get; init; } = 0.1f;
    /// <summary>cpu, ilgpu-cpu, cuda, opencl or auto.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>The device's kernel choices (--kernels, --conv, --gemm-version).</summary>
    public ScratchNet.Kernels.DeviceOptions DeviceOptions { get; init; } = ScratchNet.Kernels.DeviceOptions.Default;
    /// <summary>Seed of the initial weights, the shuffle, the augmentation and dropout.</summary>
    public ulong Seed { get; init; }
    /// <summary>Stop after this many optimizer steps in total (the CPU budget of the default run); null = no limit.</summary>
    public int? MaxSteps { get; init; }
    /// <summary>Stop training once this much time has passed (then evaluate and save); null = no limit.</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Random flip, rotation and translation on the training set (the notebook's augmentation).</summary>
    public bool Augment { get; init; } = true;
    /// <summary>Use only the first N training / test images (quick runs and tests); null = all.</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Use only the first N test images; null = all.</summary>
    public int? TestLimit { get; init; }
    /// <summary>Largest image (width·height, read from its header) an image folder may hold; null = <see cref="ScratchNet.data.ImageReadOptions.MaxPixels"/>'s default.</summary>
    public long? MaxImagePixels { get; init; }
    /// <summary>Batch size of the evaluations.</summary>
    public int EvalBatchSize { get; init; } = 256;
    /// <summary>The run folder: runs/&lt;name&gt;/.</summary>
    public string OutDir { get; init; } = Path.Combine("runs", "alexnet");
    /// <summary>Continue from the checkpoint in OutDir.</summary>
    public bool Resume { get; init; }
    /// <summary>The input [C, H, W] of an imported model (<see cref="ImportedModel"/>); null: the one of <see cref="Model"/>.</summary>
    public int[]? InputShape { get; init; }
    /// <summary>Data-parallel training over the ranks of mpirun (--distributed): each rank trains BatchSize images per step on
    /// its shard, gradients are averaged; belongs to the invocation, not saved with the run.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Distributed { get; init; }

    /// <summary>Checks every option; the ArgumentException names <paramref name="command"/>, the option and its allowed range.</summary>
    public void Validate(string command = "train")
    {
        void Check(string option, double value)
        {
            if (Problem(option, value) is { } allowed)
                throw new ArgumentException($"{command}: {option} must be {allowed}, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }
        Check("--epochs", Epochs);
        Check("--batch-size", BatchSize);
        Check("--batch-size", EvalBatchSize);
        Check("--lr", LearningRate);
        Check("--momentum", Momentum);
        Check("--weight-decay", WeightDecay);
        Check("--lr-step", LrStep);
        Check("--lr-gamma", LrGamma);
        if (MaxSteps is int ms) Check("--max-steps", ms);
        if (TimeLimit is { } t) Check("--time-limit", t.TotalMinutes);
        if (TrainLimit is int tl) Check("--train-limit", tl);
        if (TestLimit is int sl) Check("--test-limit", sl);
        if (MaxImagePixels is long mp) Check("--max-image-pixels", mp);
        if (DeviceOptions is null) throw new ArgumentException($"{command}: the device options are missing");
        if (string.IsNullOrWhiteSpace(OutDir)) throw new ArgumentException($"{command}: --out must name a folder, got an empty string");
        if (OutDir.IndexOfAny(Path.GetInvalidPathChars()) >= 0) throw new ArgumentException($"{command}: --out '{OutDir}' has characters a path cannot hold");
        if (Model == ImportedModel)
        {
            if (InputShape is not { Length: 3 } s || s.Any(d => d is < 1 or > 4096))
                throw new ArgumentException($"{command}: an imported model needs its input shape [C, H, W] (sizes 1 to 4096), got {(InputShape is null ? "none" : $"[{string.Join(", ", InputShape)}]")}");
        }
        else if (!Models.Contains(Model))
            throw new ArgumentException($"{command}: unknown model '{Model}'. Trainable models: {string.Join(", ", Models)}.");
        if (!DataKinds.Contains(Data))
            throw new ArgumentException($"{command}: unknown data '{Data}'. Known: fashion-mnist [PATH], mnist PATH, cifar10 PATH, folder PATH.");
        if (Data is "mnist" or "cifar10" or "folder" && string.IsNullOrEmpty(DataPath))
            throw new ArgumentException($"{command}: --data {Data} needs the folder of the files (for example: --data {Data} ~/data/{Data}){DownloadHint(Data)}");
    }

    /// <summary>
    /// The one place that says which values each numeric option takes: null when <paramref name="value"/> is allowed for
    /// <paramref name="option"/>, else the allowed range as a phrase ("an integer in [1, 65536]"). Both <see cref="Validate"/> and
    /// the command line's parse-time validators use it.
    /// </summary>
    public static string? Problem(string option, double value) => option switch
    {
        "--epochs" => Integer(value, 1, MaxEpochs),
        "--batch-size" => Integer(value, 1, MaxBatchSize),
        "--lr" or "--lr-gamma" => double.IsFinite(value) && value > 0 ? null : "a finite number > 0",
        "--momentum" => value >= 0 && value < 1 ? null : "a number in [0, 1)",
        "--weight-decay" => double.IsFinite(value) && value >= 0 ? null : "a finite number >= 0",
        "--lr-step" => Integer(value, 0, MaxEpochs),
        "--max-steps" or "--train-limit" or "--test-limit" => Integer(value, 1, int.MaxValue),
        "--max-image-pixels" => Integer(value, 1, 1L << 40),
        "--time-limit" => value > 0 && value <= MaxTimeLimitMinutes ? null : $"a number of minutes in (0, {MaxTimeLimitMinutes:G}]",
        _ => throw new ArgumentException($"TrainOptions.Problem: no rule for option '{option}'"),
    };

    private static string? Integer(double v, long min, long max) => v >= min && v <= max && v == Math.Floor(v) ? null : $"an integer in [{min}, {max}]";

    /// <summary>The image limits of this run: <see cref="MaxImagePixels"/> over the defaults.</summary>
    public ScratchNet.data.ImageReadOptions ImageOptions =>
        MaxImagePixels is long mp ? ScratchNet.data.ImageReadOptions.Default with { MaxPixels = mp } : ScratchNet.data.ImageReadOptions.Default;

    /// <summary>"; `scratchnet data download KIND` fetches it" for the kinds that command knows, else "".</summary>
    public static string DownloadHint(string data) =>
        data is "mnist" or "fashion-mnist" or "cifar10" ? $"; `scratchnet data download {data}` fetches it" : "";
}
