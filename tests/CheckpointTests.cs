using System.Text;
using ScratchNet.data;
using ScratchNet.io;
using ScratchNet.Models.Training;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// Checkpoints under crashes, bad metadata and diverged weights: the run folder as a kill -9, an editor or a bad
// learning rate leave it.
public class CheckpointTests
{
    private static TrainOptions Small(string dir, int epochs, int? maxSteps = null) => new()
    {
        Model = "seedcnn", Epochs = epochs, MaxSteps = maxSteps, BatchSize = 32, TrainLimit = 320, TestLimit = 64,
        Device = "cpu", Seed = 7, OutDir = dir, Augment = false,
    };

    private static float[] AllParameters(Module m) => m.Parameters().SelectMany(p => p.ToArray()).ToArray();

    /// <summary>Copies every file of <paramref name="from"/> but the lock (which this process holds) into a new folder.</summary>
    private static string Snapshot(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
            if (Path.GetFileName(f) != FolderLock.FileName) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    private static bool IsCommit(FileEvent e) => e.Kind == FileEventKind.Rename && Path.GetFileName(e.Path) == Checkpoint.StateFile;

    /// <summary>
    /// A kill at every file event of a save (each create, write, fsync, rename and folder sync of both files), injected
    /// deterministically: at each event the run folder is copied as the kill would leave it. From every copy, --resume
    /// must continue from the last completed save and end with exactly the weights of an uninterrupted run; the
    /// previous save must be intact until the new one's commit; and the stale temporary files must go.
    /// </summary>
    [Fact]
    public void Resume_AfterAKillAtEveryFileEventOfASave_EndsLikeAnUninterruptedRun()
    {
        using var root = new TempDir();
        var reference = new Trainer().Run(Small(root["straight"], 3));
        var expected = AllParameters(reference.Model);

        string dir = root["crashing"];
        var snapshots = new List<(string Dir, FileEvent Event, int Save, bool Committed)>();
        int save = 1;
        bool committed = false;
        var trainer = new Trainer();
        trainer.OnFileEvent += e =>
        {
            if (IsCommit(e)) committed = true;
            snapshots.Add((Snapshot(dir, root[$"snap-{snapshots.Count:D3}"]), e, save, committed));
            if (e.Kind == FileEventKind.DirectorySync && Path.GetFileName(e.Path) == Checkpoint.StateFile) { save++; committed = false; }
        };
        byte[]? firstState = null;
        trainer.OnEpoch += m => { if (m.Epoch == 2) firstState = File.ReadAllBytes(Path.Combine(dir, Checkpoint.StateFile)); };
        trainer.Run(Small(dir, 3));

        // Every step of both files was seen: a create, >= 2 writes, an fsync, a rename and a folder sync each.
        var second = snapshots.Where(s => s.Save == 2).ToList();
        foreach (var file in new[] { Checkpoint.ModelFile, Checkpoint.StateFile })
            foreach (var kind in Enum.GetValues<FileEventKind>())
                Assert.Contains(second, s => s.Event.Kind == kind && (Path.GetFileName(s.Event.Path) == file || Path.GetFileName(s.Event.Path).StartsWith("." + file)));
        Assert.True(second.Count >= 14, $"{second.Count} events in a save");

        foreach (var (snap, e, saveIndex, done) in snapshots.Where(s => s.Save <= 2))
        {
            string what = $"kill after {e.Kind} of {Path.GetFileName(e.Path)} in save {saveIndex}";
            if (saveIndex == 1 && !done)
            {
                // Nothing was ever completed: resume says so, naming the folder; a fresh run starts and cleans up.
                var none = Assert.Throws<FileNotFoundException>(() => new Trainer().Run(Small(snap, 3) with { Resume = true }));
                Assert.Contains(snap, none.Message);
                continue;
            }
            if (saveIndex == 2 && !done)
                Assert.True(firstState!.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(snap, Checkpoint.StateFile))), $"{what}: the previous save changed before the new one was complete");
            var messages = new List<string>();
            var resumer = new Trainer();
            resumer.OnMessage += messages.Add;
            var result = resumer.Run(Small(snap, 3) with { Resume = true });
            Assert.True(expected.AsSpan().SequenceEqual(AllParameters(result.Model)), $"{what}: the resumed run ended with other weights");
            long resumedAt = done ? saveIndex * 10 : (saveIndex - 1) * 10;
            Assert.Contains(messages, m => m.StartsWith("resumed from") && m.EndsWith($"step {resumedAt}"));
            Assert.Empty(Directory.GetFiles(snap, "*" + AtomicFile.TempMarker + "*"));
            // The model file stays what PyTorch loads: the parameters under their state_dict names.
            var model = Checkpoint.LoadModel(snap, Device.Cpu);
            Assert.True(expected.AsSpan().SequenceEqual(AllParameters(model.Model)), $"{what}: model.safetensors after the resumed run");
        }
    }

    [Fact]
    public void AStartRemovesStaleTemporaryFiles_AndASecondRunOnTheSameFolderIsRefused()
    {
        using var root = new TempDir();
        string dir = root["run"];
        Directory.CreateDirectory(dir);
        string stale = Path.Combine(dir, $".{Checkpoint.StateFile}{AtomicFile.TempMarker}0123456789abcdef");
        File.WriteAllBytes(stale, new byte[100]);
        File.WriteAllText(Path.Combine(dir, "notes.tmp-keep.txt"), "not ours: no leading dot");
        var messages = new List<string>();
        var t = new Trainer();
        t.OnMessage += messages.Add;
        t.Run(Small(dir, 1, maxSteps: 2));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(Path.Combine(dir, "notes.tmp-keep.txt")));
        Assert.Contains(messages, m => m.Contains("removed 1 temporary file") && m.Contains(Path.GetFileName(stale)));

        using (FolderLock.Acquire(dir, "test"))
        {
            var e = Assert.Throws<IOException>(() => new Trainer().Run(Small(dir, 1, maxSteps: 2)));
            Assert.Contains(dir, e.Message);
            Assert.Contains("in use by another run", e.Message);
        }
    }

    [Fact]
    public void AWriteThatFails_LeavesTheOldFileAndNoTemporaryFile()
    {
        using var dir = new TempDir();
        string path = dir["x.safetensors"];
        Safetensors.Save(path, new Dictionary<string, SafeTensor> { ["a"] = SafeTensor.FromFloats([1f, 2f], 2) });
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.Write(new byte[10]); throw new InvalidOperationException("disk full"); }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    /// <summary>Resuming mid-epoch with another batch size continues at the image where the run stopped.</summary>
    [Fact]
    public void Resume_WithAnotherBatchSize_ContinuesAtTheRightImage()
    {
        using var root = new TempDir();
        string dir = root["run"];
        new Trainer().Run(Small(dir, 2, maxSteps: 13));            // 10 steps of 32 per epoch: stops after image 96 of epoch 2
        var state = Checkpoint.ReadState(dir);
        Assert.Equal((1, 96, 13L), (state.Epoch, state.Sample, state.GlobalStep));
        var messages = new List<string>();
        var t = new Trainer();
        t.OnMessage += messages.Add;
        var rest = t.Run(Small(dir, 2) with { BatchSize = 16, Resume = true });
        Assert.Contains(messages, m => m.Contains("batch size changed from 32 to 16") && m.Contains("image 96"));
        Assert.Equal(13 + (320 - 96) / 16, rest.Steps);             // the remaining 224 images in batches of 16
        Assert.Equal(3 + 14, rest.History[^1].Steps);               // the epoch's steps: 3 before, 14 after
        Assert.Equal(0, Checkpoint.ReadState(dir).Sample);
        Assert.Equal(2, Checkpoint.ReadState(dir).Epoch);
    }

    [Fact]
    public void DataLoader_EpochFrom_VisitsTheRestOfTheEpochInOrder()
    {
        var ds = new ImageDataset(Enumerable.Range(0, 50).Select(i => (float)i).ToArray(), new int[50], 1, 1, 1, ["x"]);
        var loader = new DataLoader(ds, 8, shuffle: true, seed: 3, prefetch: 1);
        var order = loader.Order(4);
        var seen = loader.EpochFrom(4, 21).SelectMany(b => b.Images).Select(v => (int)v).ToArray();
        Assert.Equal(order[21..], seen);
        Assert.Equal(4, loader.BatchesFrom(21));                   // 29 images: 8, 8, 8, 5
        Assert.Empty(loader.EpochFrom(4, 50));
        Assert.Throws<ArgumentException>(() => loader.EpochFrom(4, 51));
        // A batch size larger than the data set: one batch, no overflow in the count.
        Assert.Equal(1, new DataLoader(ds, int.MaxValue).BatchesPerEpoch);
    }

    // ------------------------------------------------------------------ non-finite values

    [Fact]
    public void ADivergingRun_StopsAtTheFirstNonFiniteLoss_AndKeepsTheLastGoodCheckpoint()
    {
        using var root = new TempDir();
        string dir = root["run"];
        new Trainer().Run(Small(dir, 1));
        byte[] goodState = File.ReadAllBytes(Path.Combine(dir, Checkpoint.StateFile));
        byte[] goodModel = File.ReadAllBytes(Path.Combine(dir, Checkpoint.ModelFile));
        string goodMetrics = File.ReadAllText(Path.Combine(dir, MetricsFiles.Json));

        var steps = new List<StepProgress>();
        var t = new Trainer();
        t.OnStep += steps.Add;
        var e = Assert.Throws<TrainingDivergedException>(() => t.Run(Small(dir, 3) with { LearningRate = 1e4f, Resume = true }));
        Assert.True(e.Step <= 13, $"stopped only at step {e.Step}");
        Assert.Equal(e.Step - 1, steps.Count == 0 ? 10 : steps[^1].GlobalStep);   // no step after the bad one
        Assert.False(double.IsFinite(e.Loss));
        Assert.Contains($"step {e.Step}", e.Message);
        Assert.Contains("learning rate 10000", e.Message);
        Assert.Contains("last good checkpoint (step 10)", e.Message);
        Assert.Contains("smaller --lr", e.Message);
        Assert.Equal(goodState, File.ReadAllBytes(Path.Combine(dir, Checkpoint.StateFile)));
        Assert.Equal(goodModel, File.ReadAllBytes(Path.Combine(dir, Checkpoint.ModelFile)));
        Assert.Equal(goodMetrics, File.ReadAllText(Path.Combine(dir, MetricsFiles.Json)));
    }

    [Fact]
    public void MetricsFiles_HoldOnlyWhatTheirFormatCanWrite()
    {
        using var dir = new TempDir();
        MetricsFiles.Write(dir.Path, [new EpochMetrics(1, 5, double.NaN, double.NaN, double.PositiveInfinity, 0.5, double.NaN, 1, 2, 5)]);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir[MetricsFiles.Json]));
        var row = json.RootElement[0];
        Assert.Equal(System.Text.Json.JsonValueKind.Null, row.GetProperty("train_loss").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, row.GetProperty("val_loss").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, row.GetProperty("lr").ValueKind);
        Assert.Equal(0.5, row.GetProperty("val_acc").GetDouble());
        Assert.Contains("NaN,NaN,Infinity,0.5,NaN", File.ReadAllText(dir[MetricsFiles.Csv]));
    }

    [Fact]
    public void LoadModel_RefusesNonFiniteWeights_NamingTheTensor()
    {
        using var root = new TempDir();
        string dir = root["run"];
        new Trainer().Run(Small(dir, 1, maxSteps: 2));
        string path = Path.Combine(dir, Checkpoint.ModelFile);
        var file = Safetensors.Load(path);
        var tensors = file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        var name = tensors.Keys.First(k => k.EndsWith(".weight"));
        var w = tensors[name].ToFloatArray();
        w[5] = float.NaN;
        w[7] = float.PositiveInfinity;
        tensors[name] = SafeTensor.FromFloats(w, tensors[name].Shape);
        Safetensors.Save(path, tensors, file.Metadata);
        var e = Assert.Throws<DataFormatException>(() => Checkpoint.LoadModel(dir, Device.Cpu));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{name}'", e.Message);
        Assert.Contains("2 of", e.Message);
    }

    // ------------------------------------------------------------------ metadata

    /// <summary>Rewrites one metadata field of a safetensors file (null removes it), keeping its tensors.</summary>
    private static void SetMeta(string path, string key, string? value)
    {
        var file = Safetensors.Load(path);
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        if (value is null) meta.Remove(key); else meta[key] = value;
        Safetensors.Save(path, file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value), meta);
    }

    public static IEnumerable<object?[]> BadModelMetadata() =>
    [
        ["scratchnet.input", "[1,28]"],
        ["scratchnet.input", "null"],
        ["scratchnet.input", "[3,100000,100000]"],
        ["scratchnet.input", "[1,28,\"x\"]"],
        ["scratchnet.input", "{"],
        ["scratchnet.classes", "null"],
        ["scratchnet.classes", "[]"],
        ["scratchnet.classes", "[null,\"a\"]"],
        ["scratchnet.classes", "[1,2]"],
        ["scratchnet.classes", "\"shirt\""],
        ["scratchnet.classes", $"[{string.Join(",", Enumerable.Repeat("\"c\"", Checkpoint.MaxClasses + 1))}]"],
        ["scratchnet.model", "lenet"],
        ["scratchnet.model", null],
        ["scratchnet.data", "imagenet"],
        ["scratchnet.global_step", "-1"],
        ["scratchnet.global_step", "1e9"],
    ];

    [Theory]
    [MemberData(nameof(BadModelMetadata))]
    public void LoadModel_ValidatesEveryMetadataField_NamingTheFileAndTheField(string key, string? value)
    {
        using var root = new TempDir();
        string dir = root["run"];
        new Trainer().Run(Small(dir, 1, maxSteps: 1));
        string path = Path.Combine(dir, Checkpoint.ModelFile);
        SetMeta(path, key, value);
        var e = Assert.Throws<DataFormatException>(() => Checkpoint.LoadModel(dir, Device.Cpu));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{key}'", e.Message);
    }

    public static IEnumerable<object?[]> BadStateMetadata() =>
    [
        ["scratchnet.epoch", "abc"],
        ["scratchnet.epoch", "99999999999999999999"],
        ["scratchnet.epoch", "-3"],
        ["scratchnet.sample", "1.5"],
        ["scratchnet.global_step", ""],
        ["scratchnet.optimizer_steps", "-1"],
        ["scratchnet.state_version", "7"],
        ["scratchnet.history", "[null,null]"],
        ["scratchnet.history", "null"],
        ["scratchnet.history", "[{\"Epoch\":\"x\"}]"],
        ["scratchnet.history", "[{\"Epoch\":0,\"Steps\":1}]"],
        ["scratchnet.options", "null"],
        ["scratchnet.options", "{\"BatchSize\":\"many\"}"],
        ["scratchnet.options", "{\"BatchSize\":0}"],
        ["scratchnet.options", "{\"LearningRate\":\"NaN\"}"],
        ["scratchnet.options", "{\"Model\":\"lenet\"}"],
        ["scratchnet.options", "{\"TimeLimit\":\"forever\"}"],
        ["scratchnet.dropout", "{\"x\":[1]}"],
        ["scratchnet.dropout", "{\"x\":null}"],
        ["scratchnet.dropout", "[]"],
        ["scratchnet.world_size", "0"],
        ["scratchnet.world_size", "two"],
        ["scratchnet.epoch", null],
    ];

    [Theory]
    [MemberData(nameof(BadStateMetadata))]
    public void Resume_ValidatesEveryStateField_NamingTheFileAndTheField(string key, string? value)
    {
        using var root = new TempDir();
        string dir = root["run"];
        new Trainer().Run(Small(dir, 1, maxSteps: 1));
        string path = Path.Combine(dir, Checkpoint.StateFile);
        SetMeta(path, key, value);
        var e = Assert.Throws<DataFormatException>(() => new Trainer().Run(Small(dir, 2) with { Resume = true }));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{key}'", e.Message);
    }

    [Fact]
    public void InvalidUtf8InTheHeader_IsAFormatErrorNamingTheFile()
    {
        using var root = new TempDir();
        string dir = root["run"];
        new Trainer().Run(Small(dir, 1, maxSteps: 1));
        string path = Path.Combine(dir, Checkpoint.ModelFile);
        SetMeta(path, "scratchnet.model", "seedcnQ");
        var bytes = File.ReadAllBytes(path);
        int at = Encoding.ASCII.GetString(bytes).IndexOf("seedcnQ", StringComparison.Ordinal) + 6;
        bytes[at] = 0xC3;                                          // a lead byte followed by '"': invalid UTF-8
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => Checkpoint.LoadModel(dir, Device.Cpu));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AFirstFormatCheckpoint_StillResumes()
    {
        // Format 1: weights only in model.safetensors, optimizer state under "state.*", a "batch" field instead of "sample".
        using var root = new TempDir();
        var reference = new Trainer().Run(Small(root["straight"], 2));
        string dir = root["old"];
        new Trainer().Run(Small(dir, 1));
        string statePath = Path.Combine(dir, Checkpoint.StateFile);
        var state = Safetensors.Load(statePath);
        var meta = state.Metadata.Where(kv => kv.Key is not ("scratchnet.state_version" or "scratchnet.sample")).ToDictionary(kv => kv.Key, kv => kv.Value);
        meta["scratchnet.batch"] = "0";
        var tensors = state.Tensors.Where(kv => kv.Key.StartsWith("optimizer.")).ToDictionary(kv => kv.Key["optimizer.".Length..], kv => kv.Value);
        Safetensors.Save(statePath, tensors, meta);
        var resumed = new Trainer().Run(Small(dir, 2) with { Resume = true });
        Assert.Equal(AllParameters(reference.Model), AllParameters(resumed.Model));

        // In that format the two files must come from the same save.
        SetMeta(Path.Combine(dir, Checkpoint.ModelFile), "scratchnet.global_step", "3");
        Safetensors.Save(statePath, tensors, meta);
        var e = Assert.Throws<InvalidDataException>(() => new Trainer().Run(Small(dir, 3) with { Resume = true }));
        Assert.Contains("different steps", e.Message);
    }
}
