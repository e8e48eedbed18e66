using System.Text.Json;
using ScratchNet.data;
using ScratchNet.io;
using ScratchNet.nn;
using ScratchNet.onnx;
using ScratchNet.optim;

namespace ScratchNet.Models.Training;

/// <summary>What <see cref="OnnxRun.Import"/> wrote.</summary>
/// <param name="Model">The trainable architecture the graph is (alexnet, seedcnn or mlp), or "onnx": the graph itself, kept as the run's model.onnx.</param>
/// <param name="Classes">The class names written (from the file's metadata, the caller, or "0", "1", ...).</param>
/// <param name="Data">The data kind written into the checkpoint.</param>
/// <param name="OutDir">The run folder.</param>
public sealed record OnnxImportResult(string Model, IReadOnlyList<string> Classes, string Data, string OutDir);

/// <summary>
/// ONNX files ↔ runs of `scratchnet train`. Export writes a run's model with the run's facts in metadata_props:
/// <c>scratchnet.model</c>, <c>scratchnet.data</c>, <c>scratchnet.classes</c> (JSON), <c>scratchnet.input</c> (JSON [C, H, W]), and the
/// normalisation the graph's input must already have, <c>scratchnet.normalize.mean</c> and <c>scratchnet.normalize.std</c> (JSON, per
/// channel): (pixel/255 − mean)/std, after padding a 28×28 image to 32×32 and repeating its channel for alexnet. It is not folded
/// into the graph, so the graph takes what Module.Forward takes and matches a torch.onnx export of the same model.
/// Import turns an ONNX file of image model into a run folder that eval, predict and train --resume (fine-tuning from the
/// imported weights, with a fresh optimizer) read: as alexnet, seedcnn or mlp when the graph is one of the architectures `train`
/// builds (same parameter names and shapes), else as model kind "onnx", whose architecture is the graph, copied into the run
/// folder as model.onnx (the weights in model.safetensors take over from its initializers).
/// </summary>
public static class OnnxRun
{
    /// <summary>The lecture's normalisation (TrainingData): mean 0.5, std 0.5 on every channel.</summary>
    public const float Mean = 0.5f, Std = 0.5f;

    /// <summary>Exports the model of <paramref name="checkpoint"/> (a model.safetensors or its run folder) to <paramref name="onnxPath"/>.</summary>
    public static LoadedModel Export(string checkpoint, string onnxPath)
    {
        var m = Checkpoint.LoadModel(checkpoint, Device.Cpu);
        var channels = Enumerable.Repeat(0, m.InputShape[0]);
        var meta = new Dictionary<string, string>
        {
            ["scratchnet.model"] = m.Name,
            ["scratchnet.data"] = m.Data,
            ["scratchnet.classes"] = JsonSerializer.Serialize(m.Classes),
            ["scratchnet.input"] = JsonSerializer.Serialize(m.InputShape),
            ["scratchnet.normalize.mean"] = JsonSerializer.Serialize(channels.Select(_ => Mean)),
            ["scratchnet.normalize.std"] = JsonSerializer.Serialize(channels.Select(_ => Std)),
        };
        Onnx.Export(m.Model, m.InputShape, onnxPath, new OnnxExportOptions { Metadata = meta, GraphName = m.Name });
        return m;
    }

    /// <summary>
    /// Imports <paramref name="onnxPath"/> into the run folder <paramref name="outDir"/> (model.safetensors and train_state.safetensors at
    /// step 0, and model.onnx for a graph that is not alexnet, seedcnn or mlp). The class names and the data kind come from
    /// <paramref name="classes"/> and <paramref name="data"/>, else from the file's metadata (a ScratchNet export), else "0", "1", ...
    /// and fashion-mnist. A graph whose input is not an image [N, C, H, W] is an error saying to use
    /// <see cref="Onnx.Import(string, Device?)"/> in code.
    /// </summary>
    public static OnnxImportResult Import(string onnxPath, string outDir, IReadOnlyList<string>? classes = null, string? data = null, string? dataPath = null)
    {
        var imported = Onnx.Import(onnxPath);
        int outputs;
        using (Tensor.NoGrad()) outputs = imported.Model.Forward(Tensor.Zeros([1, .. imported.InputShape])).Shape[^1];
        var meta = imported.Metadata;
        var names = classes?.ToList()
            ?? (meta.TryGetValue("scratchnet.classes", out var json) ? ParseClasses(onnxPath, json) : null)
            ?? Enumerable.Range(0, outputs).Select(i => i.ToString()).ToList();
        if (names.Count != outputs) throw new ArgumentException($"import: {onnxPath} has {outputs} outputs, but {names.Count} class names were given");
        data ??= meta.GetValueOrDefault("scratchnet.data") ?? "fashion-mnist";
        foreach (var (key, expected) in new[] { ("scratchnet.normalize.mean", Mean), ("scratchnet.normalize.std", Std) })
            if (meta.TryGetValue(key, out var v) && !SameEverywhere(v, expected))
                throw new ArgumentException($"import: {onnxPath} says its inputs are normalised with {key.Split('.')[^1]} {CheckpointMetadata.Printable(v)}; " +
                                            $"runs normalise with mean {Mean} and std {Std}, so eval and predict would feed it other inputs (use Onnx.Import in code)");
        if (!TrainOptions.DataKinds.Contains(data)) throw new ArgumentException($"import: data kind '{data}' is not one of {string.Join(", ", TrainOptions.DataKinds)}");

        string? model = TrainOptions.Models.FirstOrDefault(name => Matches(imported, name, outputs));
        if (model is null && imported.InputShape.Length != 3)
            throw new ArgumentException($"import: {onnxPath} takes [N, {string.Join(", ", imported.InputShape)}], not images [N, C, H, W]; a run needs an image model " +
                                        "(load it in code with Onnx.Import to evaluate, fine-tune or export it)");
        model ??= TrainOptions.ImportedModel;
        var options = new TrainOptions { Model = model, Data = data, DataPath = dataPath, OutDir = outDir,
                                         InputShape = model == TrainOptions.ImportedModel ? imported.InputShape : null };
        options.Validate("import");
        Directory.CreateDirectory(outDir);
        Module target;
        if (model == TrainOptions.ImportedModel)
        {
            // The graph is the architecture: kept next to the weights, which training then moves on from.
            byte[] bytes = File.ReadAllBytes(onnxPath);
            AtomicFile.Write(Path.Combine(outDir, TrainOptions.ArchitectureFile), s => s.Write(bytes));
            target = imported.Model;
        }
        else
        {
            target = Trainer.CreateModel(model, outputs, TrainingData.ModelInput(model), new Generator(0), Device.Cpu);
            var source = imported.Model.StateDict().ToDictionary(p => p.Name, p => p.Tensor);
            foreach (var (name, t) in target.StateDict())
                if (source.TryGetValue(name, out var s)) t.CopyFrom(s.ToArray());
        }
        var optimizer = new SGD(target.Parameters(), options.LearningRate, options.Momentum, 0f, options.WeightDecay);
        Checkpoint.Save(outDir, options, target, optimizer, 0, 0, 0, [], names);
        return new OnnxImportResult(model, names, data, outDir);
    }

    private static bool SameEverywhere(string json, float value)
    {
        try { return JsonSerializer.Deserialize<float[]>(json) is { Length: > 0 } a && a.All(x => x == value); }
        catch (JsonException) { return false; }
    }

    private static List<string>? ParseClasses(string path, string json)
    {
        try { return JsonSerializer.Deserialize<List<string>>(json) is { Count: > 0 } l && l.All(s => s is not null) ? l : null; }
        catch (JsonException) { throw new DataFormatException(path, "metadata scratchnet.classes is not a JSON list of strings"); }
    }

    // The graph is `name` when the model `train` builds has the same input and the same parameters (names and shapes).
    private static bool Matches(OnnxImported m, string name, int classes)
    {
        if (!m.InputShape.SequenceEqual(TrainingData.ModelInput(name))) return false;
        var reference = Trainer.CreateModel(name, classes, TrainingData.ModelInput(name), new Generator(0), Device.Cpu);
        static IEnumerable<(string, string)> Sig(Module x) => x.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape)));
        return Sig(reference).SequenceEqual(Sig(m.Model));
    }
}
