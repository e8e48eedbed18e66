using System.Globalization;
using System.Text.Json;
using ScratchNet.io;
using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Models.Training;

/// <summary>What a checkpoint says about the run, besides the tensors.</summary>
public sealed record CheckpointState(TrainOptions Options, int Epoch, int Batch, long GlobalStep, IReadOnlyList<EpochMetrics> History);

/// <summary>A trained model as `eval` and `predict` need it: the module and the names of its classes.</summary>
public sealed record LoadedModel(Module Model, string Name, IReadOnlyList<string> Classes, int[] InputShape, string Data);

/// <summary>
/// Checkpoints are two safetensors files in the run folder:
///   model.safetensors        the parameters under PyTorch's state_dict names (features.0.weight, classifier.1.bias, ...),
///                            so `safetensors.torch.load_file` + `load_state_dict` load them into the lecture's
///                            PyTorch AlexNet (bench/baselines/load_checkpoint.py shows it). Metadata: format "pt",
///                            the model name, the class names and the input shape.
///   train_state.safetensors  the optimizer state (momentum buffers, named state.{i}.momentum_buffer) and, in the
///                            metadata, where training stands (epoch, batch, step), the options, the metrics so far and
///                            each Dropout's seed and step, everything --resume needs to continue bit for bit.
/// Each file is written to a temporary file and renamed, so an interrupted save never destroys the previous
/// checkpoint; both carry the global step, and loading refuses a pair from different steps.
/// </summary>
public static class Checkpoint
{
    public const string ModelFile = "model.safetensors", StateFile = "train_state.safetensors";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void Save(string dir, TrainOptions options, Module model, Optimizer optimizer, int epoch, int batch, long globalStep,
                            IReadOnlyList<EpochMetrics> history, IReadOnlyList<string> classes)
    {
        var inv = CultureInfo.InvariantCulture;
        string step = globalStep.ToString(inv);
        var modelMeta = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["scratchnet.model"] = options.Model,
            ["scratchnet.data"] = options.Data,
            ["scratchnet.classes"] = JsonSerializer.Serialize(classes),
            ["scratchnet.input"] = JsonSerializer.Serialize(TrainingData.ModelInput(options.Model)),
            ["scratchnet.global_step"] = step,
        };
        var dropout = model.NamedModules().Where(m => m.Module is Dropout)
            .ToDictionary(m => m.Name, m => new[] { ((Dropout)m.Module).Seed, (ulong)((Dropout)m.Module).Step });
        var stateMeta = new Dictionary<string, string>
        {
            ["scratchnet.global_step"] = step,
            ["scratchnet.epoch"] = epoch.ToString(inv),
            ["scratchnet.batch"] = batch.ToString(inv),
            ["scratchnet.optimizer_steps"] = optimizer.StepCount.ToString(inv),
            ["scratchnet.options"] = JsonSerializer.Serialize(options with { Resume = false }, Json),
            ["scratchnet.history"] = JsonSerializer.Serialize(history, Json),
            ["scratchnet.dropout"] = JsonSerializer.Serialize(dropout, Json),
        };
        // State first: if the process dies between the two renames, the model file still has the older
        // step and Load refuses the pair instead of resuming a mismatched one.
        Safetensors.Save(Path.Combine(dir, StateFile), optimizer.StateTensors(), stateMeta);
        Safetensors.Save(Path.Combine(dir, ModelFile), model.NamedParameters(), modelMeta);
    }

    /// <summary>Restores parameters, optimizer state and dropout streams from a run folder.</summary>
    public static CheckpointState Load(string dir, Module model, Optimizer optimizer, TrainOptions expected)
    {
        string modelPath = Path.Combine(dir, ModelFile), statePath = Path.Combine(dir, StateFile);
        if (!File.Exists(modelPath) || !File.Exists(statePath))
            throw new FileNotFoundException($"resume: no checkpoint in {dir} (expected {ModelFile} and {StateFile})");
        var modelFile = Safetensors.Load(modelPath);
        var stateFile = Safetensors.Load(statePath);
        string Meta(SafetensorsFile f, string path, string key) =>
            f.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: metadata has no '{key}' (not a ScratchNet training checkpoint)");
        if (Meta(modelFile, modelPath, "scratchnet.global_step") != Meta(stateFile, statePath, "scratchnet.global_step"))
            throw new InvalidDataException($"resume: {ModelFile} and {StateFile} in {dir} are from different steps; the save that wrote them was interrupted");

        var saved = JsonSerializer.Deserialize<TrainOptions>(Meta(stateFile, statePath, "scratchnet.options"))!;
        if (saved.Model != expected.Model || saved.Data != expected.Data)
            throw new ArgumentException($"resume: the checkpoint in {dir} is a {saved.Model} trained on {saved.Data}, not a {expected.Model} on {expected.Data}");
        Safetensors.LoadInto(modelPath, model.NamedParameters(), strict: true);
        Safetensors.LoadInto(statePath, optimizer.StateTensors(), strict: true);
        var inv = CultureInfo.InvariantCulture;
        optimizer.StepCount = long.Parse(Meta(stateFile, statePath, "scratchnet.optimizer_steps"), inv);
        var dropout = JsonSerializer.Deserialize<Dictionary<string, ulong[]>>(Meta(stateFile, statePath, "scratchnet.dropout"))!;
        foreach (var (name, m) in model.NamedModules())
            if (m is Dropout d && dropout.TryGetValue(name, out var s)) { d.Seed = s[0]; d.Step = (long)s[1]; }
        return new CheckpointState(saved,
            int.Parse(Meta(stateFile, statePath, "scratchnet.epoch"), inv),
            int.Parse(Meta(stateFile, statePath, "scratchnet.batch"), inv),
            long.Parse(Meta(stateFile, statePath, "scratchnet.global_step"), inv),
            JsonSerializer.Deserialize<List<EpochMetrics>>(Meta(stateFile, statePath, "scratchnet.history"))!);
    }

    /// <summary>Loads a model.safetensors (or the run folder holding one) for evaluation or prediction.</summary>
    public static LoadedModel LoadModel(string path, Device device)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, ModelFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint {path} not found");
        var file = Safetensors.Load(path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path}: metadata has no '{key}'; was it written by `scratchnet train`?");
        string name = Meta("scratchnet.model");
        var classes = JsonSerializer.Deserialize<List<string>>(Meta("scratchnet.classes"))!;
        var input = JsonSerializer.Deserialize<int[]>(Meta("scratchnet.input"))!;
        var model = Trainer.CreateModel(name, classes.Count, input, new Generator(0), device);
        Safetensors.LoadInto(path, model.NamedParameters(), strict: true);
        model.Eval();
        return new LoadedModel(model, name, classes, input, file.Metadata.GetValueOrDefault("scratchnet.data", ""));
    }
}
