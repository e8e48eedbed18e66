using System.Text;
using System.Text.Json.Nodes;
using ScratchNet.data;
using ScratchNet.Models.Training;
using ScratchNet.optim;
using Xunit.Abstractions;

namespace ScratchNet.Tests;

/// <summary>
/// Mutation fuzzing of the two checkpoint files as `eval`/`predict` (model.safetensors) and `--resume`
/// (train_state.safetensors) read them: the safetensors structure (<see cref="SafetensorsMutations"/>) and, above all,
/// the metadata fields, whose values are replaced by wrong types, out-of-range numbers, nulls, truncated JSON and huge
/// arrays. Every case must load or fail with a DataFormatException naming the file (<see cref="FuzzCase"/>).
/// </summary>
public class CheckpointFuzzTests(ITestOutputHelper output)
{
    private const int BaseSeed = 31;

    private static readonly Lazy<(byte[] Model, byte[] State)> Seeds = new(() =>
    {
        using var dir = new TempDir();
        new Trainer().Run(new TrainOptions
        {
            Model = "seedcnn", Epochs = 2, MaxSteps = 3, BatchSize = 32, TrainLimit = 64, TestLimit = 32, Device = "cpu", OutDir = dir.Path,
        });
        return (File.ReadAllBytes(dir[Checkpoint.ModelFile]), File.ReadAllBytes(dir[Checkpoint.StateFile]));
    });

    private static readonly string[] Values =
    [
        "", " ", "null", "true", "0", "-1", "1.5", "1e9", "NaN", "-0", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
        "2147483648", "abc", "\"x\"", "[]", "{}", "[null,null]", "[1,28]", "[3,100000,100000]", "[3,32,32]", "[1,28,28]", "[\"a\",null]",
        "[{}]", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", "{\"Model\":null}", "{\"BatchSize\":-5}", "{\"Epochs\":1e12}", "{\"TimeLimit\":\"-1\"}",
        "{\"LearningRate\":\"Infinity\"}", "{\"Data\":\"folder\",\"DataPath\":null}", "{\"x\":[1,2,3]}", "{\"x\":[18446744073709551615,1]}",
        "[{\"Epoch\":1,\"Steps\":-1}]", "[{\"Epoch\":1e400}]", "seedcnn", "mlp", "alexnet", "folder", "cifar10", "\u0000\u0001", "é✓",
    ];

    /// <summary>Replaces one metadata value (or removes it, or cuts it short, or flips one of its characters).</summary>
    private static byte[] MetadataEdit(Random rng, byte[] d, StringBuilder log)
    {
        if (SafetensorsMutations.SplitSafetensors(d) is not { } split) return d;
        JsonObject root;
        JsonObject? meta;
        try
        {
            // JsonObject parses lazily: duplicate keys (an earlier mutation) surface on first access.
            root = JsonNode.Parse(split.Json.TrimEnd(' ')) as JsonObject ?? throw new FormatException();
            meta = root["__metadata__"] as JsonObject;
            _ = meta?.Count;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or ArgumentException) { return d; }
        if (meta is null || meta.Count == 0) return d;
        var keys = meta.Select(kv => kv.Key).ToList();
        string key = keys[rng.Next(keys.Count)];
        string old = meta[key]?.GetValueKind() == System.Text.Json.JsonValueKind.String ? meta[key]!.GetValue<string>() : "";
        string value;
        switch (rng.Next(6))
        {
            case 0: meta.Remove(key); log.Append($"metadata {key} removed; "); return Join(root, split.Data);
            case 1: value = old.Length > 1 ? old[..rng.Next(old.Length)] : ""; break;
            case 2 when old.Length > 0:
                var chars = old.ToCharArray();
                const string swaps = "0{}[]\",:-9aZ\\";
                chars[rng.Next(chars.Length)] = swaps[rng.Next(swaps.Length)];
                value = new string(chars);
                break;
            case 3: value = "[" + string.Join(",", Enumerable.Repeat("\"c\"", rng.Next(2) == 0 ? 20_000 : 10_001)) + "]"; break;
            default: value = Values[rng.Next(Values.Length)]; break;
        }
        meta[key] = value;
        log.Append($"metadata {key} = {(value.Length > 60 ? value[..60] + "…" : value)}; ");
        return Join(root, split.Data);
    }

    private static byte[] Join(JsonObject root, byte[] data) => SafetensorsMutations.JoinSafetensors(Encoding.UTF8.GetBytes(root.ToJsonString()), data);

    private static Mutation[] Mutations => [MetadataEdit, MetadataEdit, MetadataEdit, MetadataEdit, .. SafetensorsMutations.All];

    [Fact]
    public void ModelFiles_AsEvalAndPredictReadThem()
    {
        output.WriteLine(FuzzCase.Run("model-safetensors", Seeds.Value.Model, ".safetensors", p => Checkpoint.LoadModel(p, Device.Cpu),
            FuzzCase.Cases(400), FuzzCase.Seed(BaseSeed), Mutations).ToString());
    }

    [Fact]
    public void StateFiles_AsResumeReadsThem()
    {
        // Resume reads train_state.safetensors from a run folder: each case gets its own folder with the valid model file
        // and the mutated state. A refusal must name the mutated file; a mismatch of model or data ("is a mlp, not a seedcnn")
        // names the folder, which is where the file is.
        var expected = new TrainOptions { Model = "seedcnn", Data = "fashion-mnist" };
        output.WriteLine(FuzzCase.Run("state-safetensors", Seeds.Value.State, ".safetensors", p =>
        {
            string dir = Path.Combine(Path.GetDirectoryName(p)!, Path.GetFileNameWithoutExtension(p));
            Directory.CreateDirectory(dir);
            string state = Path.Combine(dir, Checkpoint.StateFile);
            File.Copy(p, state, overwrite: true);
            File.WriteAllBytes(Path.Combine(dir, Checkpoint.ModelFile), Seeds.Value.Model);
            var model = Trainer.CreateModel("seedcnn", 10, [1, 28, 28], new Generator(0), Device.Cpu);
            var sgd = new SGD(model.Parameters(), 0.01f, 0.9f, 0f, 5e-4f);
            try { Checkpoint.Load(dir, model, sgd, expected, out _); }
            catch (DataFormatException e) when (e.FilePath == state) { throw new DataFormatException(p, e.Problem, e.Offset, e.Record); }
            catch (ArgumentException e) when (e.Message.Contains(dir)) { throw new DataFormatException(p, e.Message); }
        }, FuzzCase.Cases(400), FuzzCase.Seed(BaseSeed + 1), Mutations).ToString());
    }
}
