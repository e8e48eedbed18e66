namespace ScratchNet.Models.Training;

/// <summary>
/// Everything that defines a training run. The defaults are the lecture notebook's recipe: SGD with lr 0.01,
/// momentum 0.9 and weight decay 5e-4, cross-entropy, batch 64, and the notebook's augmentation on the
/// training set only.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>alexnet, seedcnn or mlp.</summary>
    public string Model { get; init; } = "alexnet";
    /// <summary>fashion-mnist, mnist, cifar10 or folder.</summary>
    public string Data { get; init; } = "fashion-mnist";
    /// <summary>Folder of the data for mnist, cifar10 and folder (fashion-mnist finds its own).</summary>
    public string? DataPath { get; init; }
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public float LearningRate { get; init; } = 0.01f;
    public float Momentum { get; init; } = 0.9f;
    public float WeightDecay { get; init; } = 5e-4f;
    /// <summary>StepLR: multiply the learning rate by <see cref="LrGamma"/> every LrStep epochs (0 = constant).</summary>
    public int LrStep { get; init; }
    public float LrGamma { get; init; } = 0.1f;
    public string Device { get; init; } = "auto";
    public ulong Seed { get; init; }
    /// <summary>Stop after this many optimizer steps in total (the CPU budget of the default run); null = no limit.</summary>
    public int? MaxSteps { get; init; }
    /// <summary>Stop training once this much time has passed (then evaluate and save); null = no limit.</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Random flip, rotation and translation on the training set (the notebook's augmentation).</summary>
    public bool Augment { get; init; } = true;
    /// <summary>Use only the first N training / test images (quick runs and tests); null = all.</summary>
    public int? TrainLimit { get; init; }
    public int? TestLimit { get; init; }
    public int EvalBatchSize { get; init; } = 256;
    /// <summary>The run folder: runs/&lt;name&gt;/.</summary>
    public string OutDir { get; init; } = Path.Combine("runs", "alexnet");
    /// <summary>Continue from the checkpoint in OutDir.</summary>
    public bool Resume { get; init; }

    public void Validate()
    {
        const string op = "train";
        Check.Positive(op, "--epochs", Epochs);
        Check.Positive(op, "--batch-size", BatchSize);
        Check.Positive(op, "eval batch size", EvalBatchSize);
        if (!(LearningRate > 0) || float.IsInfinity(LearningRate)) throw new ArgumentException($"{op}: --lr must be positive, got {LearningRate}");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"{op}: --momentum must be in [0, 1), got {Momentum}");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"{op}: --weight-decay must be >= 0, got {WeightDecay}");
        if (LrStep < 0) throw new ArgumentException($"{op}: --lr-step must be >= 0, got {LrStep}");
        if (MaxSteps is <= 0) throw new ArgumentException($"{op}: --max-steps must be positive, got {MaxSteps}");
        if (TrainLimit is <= 0 || TestLimit is <= 0) throw new ArgumentException($"{op}: image limits must be positive");
        if (Model is not ("alexnet" or "seedcnn" or "mlp"))
            throw new ArgumentException($"{op}: unknown model '{Model}'. Trainable models: alexnet, seedcnn, mlp.");
        if (Data is not ("fashion-mnist" or "mnist" or "cifar10" or "folder"))
            throw new ArgumentException($"{op}: unknown data '{Data}'. Known: fashion-mnist, mnist, cifar10, folder PATH.");
        if (Data is "mnist" or "cifar10" or "folder" && string.IsNullOrEmpty(DataPath))
            throw new ArgumentException($"{op}: --data {Data} needs the folder of the files (for example: --data {Data} ~/data/{Data}; `scratchnet data download {Data}` fetches it)");
    }
}
