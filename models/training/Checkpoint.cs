using System.Globalization;
using System.Text.Json;
using ScratchNet.data;
using ScratchNet.io;
using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Models.Training;

/// <summary>Where a saved run stands, read from train_state.safetensors and validated.</summary>
/// <param name="Options">The run's options when it was saved.</param>
/// <param name="Epoch">The epoch to continue (0-based): the number of epochs completed.</param>
/// <param name="Sample">Images of that epoch already trained on (0 at an epoch boundary).</param>
/// <param name="GlobalStep">Optimizer steps so far.</param>
/// <param name="History">The metrics of every epoch so far.</param>
/// <param name="WorldSize">Ranks of the distributed run that saved it (1 for a single process); Sample counts images of the whole epoch, over all ranks.</param>
public sealed record CheckpointState(TrainOptions Options, int Epoch, int Sample, long GlobalStep, IReadOnlyList<EpochMetrics> History, int WorldSize = 1);

/// <summary>A trained model as `eval` and `predict` need it: the module, the names of its classes and where its data came from.</summary>
/// <param name="Model">The module, in eval mode.</param>
/// <param name="Name">alexnet, seedcnn or mlp.</param>
/// <param name="Classes">Class names; output k is Classes[k].</param>
/// <param name="InputShape">[C, H, W] the model takes.</param>
/// <param name="Data">The kind of data it was trained on (fashion-mnist, mnist, cifar10, folder).</param>
/// <param name="DataPath">The data's folder (absolute) when the run named one.</param>
public sealed record LoadedModel(Module Model, string Name, IReadOnlyList<string> Classes, int[] InputShape, string Data, string? DataPath = null);

/// <summary>
/// A run's checkpoint is two safetensors files in its folder:
/// <code>
///   model.safetensors        the parameters and persistent buffers (Module.StateDict) under PyTorch's state_dict names
///                            (features.0.weight, classifier.1.bias, bn.running_mean, ...):
///                            `safetensors.torch.load_file` + `load_state_dict` load it into the lecture's PyTorch AlexNet
///                            (bench/baselines/load_checkpoint.py). Metadata: format "pt", model, classes, input shape,
///                            data kind and folder, global step. What `eval` and `predict` read.
///   train_state.safetensors  everything --resume needs, in one file: the weights again as "model.NAME", the optimizer's
///                            state as "optimizer.state.{i}.momentum_buffer" (PyTorch's checkpoint = {model, optimizer}),
///                            and in the metadata where training stands (epoch, image within it, step), the options,
///                            the metrics so far and each Dropout's seed and step.
/// </code>
/// Each file is written atomically (<see cref="AtomicFile"/>): a temporary file, fsync, rename. A save writes the
/// model file first and the state file last; the state's rename is the commit. A kill at any instant therefore leaves
/// a complete train_state.safetensors, the previous save's until the new one's rename and the new one after it, and
/// --resume needs nothing else. model.safetensors may then be one save ahead (written, not yet committed); resume
/// rewrites it from the state. Checkpoints of the first format (weights only in model.safetensors) still load when
/// both files carry the same step.
/// </summary>
public static class Checkpoint
{
    /// <summary>The file names in the run folder.</summary>
    public const string ModelFile = "model.safetensors", StateFile = "train_state.safetensors";

    /// <summary>The state format written today: 2 = self-contained (weights inside); 1 = weights only in model.safetensors.</summary>
    public const int StateVersion = 2;

    /// <summary>At most this many classes: a checkpoint claiming more is refused before a classifier of that size is allocated.</summary>
    public const int MaxClasses = 10_000;

    /// <summary>Largest world size a checkpoint may claim.</summary>
    public const int MaxWorldSize = 1 << 20;

    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.";

    /// <summary>
    /// Saves the run: model.safetensors, then train_state.safetensors (the commit). <paramref name="onEvent"/> hears every
    /// file event (create, write, fsync, rename, folder sync) of both files, in order.
    /// </summary>
    public static void Save(string dir, TrainOptions options, Module model, Optimizer optimizer, int epoch, int sample, long globalStep,
                            IReadOnlyList<EpochMetrics> history, IReadOnlyList<string> classes, Action<FileEvent>? onEvent = null, int worldSize = 1)
    {
        var inv = CultureInfo.InvariantCulture;
        SaveModel(dir, options, model, classes, globalStep, onEvent);
        var dropout = model.NamedModules().Where(m => m.Module is Dropout)
            .ToDictionary(m => m.Name, m => new[] { ((Dropout)m.Module).Seed, (ulong)((Dropout)m.Module).Step });
        var stateMeta = new Dictionary<string, string>
        {
            ["scratchnet.state_version"] = StateVersion.ToString(inv),
            ["scratchnet.global_step"] = globalStep.ToString(inv),
            ["scratchnet.epoch"] = epoch.ToString(inv),
            ["scratchnet.sample"] = sample.ToString(inv),
            ["scratchnet.optimizer_steps"] = optimizer.StepCount.ToString(inv),
            ["scratchnet.options"] = JsonSerializer.Serialize(options with { Resume = false }, CheckpointMetadata.Json),
            ["scratchnet.history"] = JsonSerializer.Serialize(history, CheckpointMetadata.Json),
            ["scratchnet.dropout"] = JsonSerializer.Serialize(dropout, CheckpointMetadata.Json),
            ["scratchnet.world_size"] = worldSize.ToString(inv),
        };
        var tensors = model.StateDict().Select(p => (ModelPrefix + p.Name, p.Tensor))
            .Concat(optimizer.StateTensors().Select(s => (OptimizerPrefix + s.Name, s.State)));
        Safetensors.Save(Path.Combine(dir, StateFile), tensors, stateMeta, onEvent);
    }

    /// <summary>Writes model.safetensors alone (PyTorch's state_dict names and the metadata eval and predict read).</summary>
    public static void SaveModel(string dir, TrainOptions options, Module model, IReadOnlyList<string> classes, long globalStep, Action<FileEvent>? onEvent = null)
    {
        var modelMeta = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["scratchnet.model"] = options.Model,
            ["scratchnet.data"] = options.Data,
            ["scratchnet.classes"] = JsonSerializer.Serialize(classes),
            ["scratchnet.input"] = JsonSerializer.Serialize(options.InputShape ?? TrainingData.ModelInput(options.Model)),
            ["scratchnet.global_step"] = globalStep.ToString(CultureInfo.InvariantCulture),
        };
        if (options.DataPath is { } dp) modelMeta["scratchnet.data_path"] = Path.GetFullPath(dp);
        Safetensors.Save(Path.Combine(dir, ModelFile), model.StateDict(), modelMeta, onEvent);
    }

    /// <summary>Reads and validates where the run in <paramref name="dir"/> stands (train_state's metadata only, no tensors).</summary>
    public static CheckpointState ReadState(string dir) => ReadStateMetadata(dir).State;

    private sealed record StateMeta(CheckpointState State, int Version, long OptimizerSteps, Dictionary<string, ulong[]> Dropout);

    private static StateMeta ReadStateMetadata(string dir)
    {
        string statePath = Path.Combine(dir, StateFile);
        if (!File.Exists(statePath))
            throw new FileNotFoundException($"resume: no checkpoint in {dir} (expected {StateFile}{(File.Exists(Path.Combine(dir, ModelFile)) ? "" : " and " + ModelFile)})", statePath);
        var m = new CheckpointMetadata(statePath, Safetensors.LoadMetadata(statePath));
        int version = m.Has("scratchnet.state_version") ? m.Int("scratchnet.state_version", StateVersion, StateVersion) : 1;
        long step = m.Long("scratchnet.global_step", 0, long.MaxValue);
        int epoch = m.Int("scratchnet.epoch", 0, TrainOptions.MaxEpochs);
        var options = m.Parse<TrainOptions>("scratchnet.options");
        try { options.Validate("the saved options"); }
        catch (ArgumentException e) { throw m.Bad("scratchnet.options", $"is not a valid set of options: {e.Message}"); }
        int sample = version >= 2
            ? m.Int("scratchnet.sample", 0, int.MaxValue)
            : (int)Math.Min((long)m.Int("scratchnet.batch", 0, int.MaxValue) * options.BatchSize, int.MaxValue);
        long optimizerSteps = m.Long("scratchnet.optimizer_steps", 0, long.MaxValue);
        var history = m.Parse<List<EpochMetrics>>("scratchnet.history");
        if (history.Count > TrainOptions.MaxEpochs) throw m.Bad("scratchnet.history", $"has {history.Count} epochs, more than the {TrainOptions.MaxEpochs} a run can have");
        for (int i = 0; i < history.Count; i++)
        {
            var h = history[i];
            if (h is null) throw m.Bad("scratchnet.history", $"entry {i} is null");
            if (h.Epoch < 1 || h.Steps < 0 || h.GlobalStep < 0)
                throw m.Bad("scratchnet.history", $"entry {i} has epoch {h.Epoch}, steps {h.Steps}, global step {h.GlobalStep} (expected epoch >= 1, counts >= 0)");
        }
        var dropout = m.Parse<Dictionary<string, ulong[]>>("scratchnet.dropout");
        foreach (var (name, v) in dropout)
            if (v is not { Length: 2 } || v[1] > long.MaxValue)
                throw m.Bad("scratchnet.dropout", $"entry '{CheckpointMetadata.Printable(name)}' is not a [seed, step] pair with step <= {long.MaxValue}");
        // Ranks that trained the run (distributed training); absent in single-process checkpoints.
        int worldSize = m.Has("scratchnet.world_size") ? m.Int("scratchnet.world_size", 1, MaxWorldSize) : 1;
        return new StateMeta(new CheckpointState(options, epoch, sample, step, history, worldSize), version, optimizerSteps, dropout);
    }

    /// <summary>
    /// Restores the run in <paramref name="dir"/> into a fresh <paramref name="model"/> and <paramref name="optimizer"/> (parameters,
    /// optimizer state, dropout streams): the first step after this is the one the saved run would have made next.
    /// The checkpoint must be a <paramref name="expected"/>.Model trained on <paramref name="expected"/>.Data.
    /// <paramref name="modelFileStep"/> is the step of model.safetensors when it differs from the state's (an interrupted save left it
    /// one save ahead or behind, or it is missing or unreadable: -1), else null.
    /// </summary>
    public static CheckpointState Load(string dir, Module model, Optimizer optimizer, TrainOptions expected, out long? modelFileStep)
    {
        string modelPath = Path.Combine(dir, ModelFile), statePath = Path.Combine(dir, StateFile);
        var meta = ReadStateMetadata(dir);
        var saved = meta.State.Options;
        if (saved.Model != expected.Model || saved.Data != expected.Data)
            throw new ArgumentException($"resume: the checkpoint in {dir} is a {saved.Model} trained on {saved.Data}, not a {expected.Model} on {expected.Data}");

        modelFileStep = null;
        long? fileStep = null;
        try
        {
            if (File.Exists(modelPath))
                fileStep = new CheckpointMetadata(modelPath, Safetensors.LoadMetadata(modelPath)).Long("scratchnet.global_step", 0, long.MaxValue);
        }
        catch (IOException) when (meta.Version >= 2) { }   // the state alone is enough; the model file is rewritten
        if (fileStep != meta.State.GlobalStep) modelFileStep = fileStep ?? -1;

        var state = Safetensors.Load(statePath);
        if (meta.Version >= 2)
        {
            Safetensors.LoadInto(state, statePath, model.StateDict(), strict: true, prefix: ModelPrefix, requireFinite: true);
            Safetensors.LoadInto(state, statePath, optimizer.StateTensors(), strict: true, prefix: OptimizerPrefix, requireFinite: true);
        }
        else
        {
            // The first format: weights only in model.safetensors, so the two files must come from the same save.
            if (!File.Exists(modelPath)) throw new FileNotFoundException($"resume: no checkpoint in {dir} (expected {ModelFile} and {StateFile})", modelPath);
            if (modelFileStep is not null)
                throw new InvalidDataException($"resume: {ModelFile} and {StateFile} in {dir} are from different steps; the save that wrote them was interrupted");
            Safetensors.LoadInto(Safetensors.Load(modelPath), modelPath, model.StateDict(), strict: true, requireFinite: true);
            Safetensors.LoadInto(state, statePath, optimizer.StateTensors(), strict: true, requireFinite: true);
        }
        optimizer.StepCount = meta.OptimizerSteps;
        foreach (var (name, m) in model.NamedModules())
            if (m is Dropout d && meta.Dropout.TryGetValue(name, out var s)) { d.Seed = s[0]; d.Step = (long)s[1]; }
        return meta.State;
    }

    /// <summary>Loads a model.safetensors (or the run folder holding one) for evaluation or prediction. Every metadata field is
    /// validated, and weights holding NaN or ±Inf are refused, naming the tensor.</summary>
    public static LoadedModel LoadModel(string path, Device device)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, ModelFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint {path} not found", path);
        var file = Safetensors.Load(path);
        var m = new CheckpointMetadata(path, file.Metadata);
        string name = m.OneOf("scratchnet.model", [.. TrainOptions.Models, TrainOptions.ImportedModel]);
        var classes = m.Parse<List<string>>("scratchnet.classes");
        if (classes.Count is 0 or > MaxClasses) throw m.Bad("scratchnet.classes", $"has {classes.Count} names, expected 1 to {MaxClasses}");
        if (classes.Any(c => c is null)) throw m.Bad("scratchnet.classes", "has a null name");
        var input = m.Parse<int[]>("scratchnet.input");
        var expectedInput = name == TrainOptions.ImportedModel ? input : TrainingData.ModelInput(name);
        if (input.Length != 3 || input.Any(d => d is < 1 or > 4096))
            throw m.Bad("scratchnet.input", $"is [{string.Join(", ", input)}], not an image shape [C, H, W] with sizes 1 to 4096");
        if (!input.SequenceEqual(expectedInput))
            throw m.Bad("scratchnet.input", $"is [{string.Join(", ", input)}], but {name} takes [{string.Join(", ", expectedInput)}]");
        string data = m.OneOf("scratchnet.data", TrainOptions.DataKinds);
        string? dataPath = m.Has("scratchnet.data_path") ? m.String("scratchnet.data_path") : null;
        if (dataPath is { Length: 0 }) dataPath = null;
        m.Long("scratchnet.global_step", 0, long.MaxValue);

        var model = Trainer.CreateModel(name, classes.Count, input, new Generator(0), device, Path.GetDirectoryName(Path.GetFullPath(path)));
        Safetensors.LoadInto(file, path, model.StateDict(), strict: true, requireFinite: true);
        model.Eval();
        return new LoadedModel(model, name, classes, input, data, dataPath);
    }
}
