using System.CommandLine;
using ScratchNet.Cli;
using ScratchNet.io;
using ScratchNet.Models.Training;

namespace ScratchNet.Tests;

// How failures reach the user: one line on stderr naming what was wrong (the command, the option and its range, the
// file and field), a non-zero exit code, no help dump, no escape codes, and a stack trace only when asked for.
public class CliErrorTests
{
    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void AssertOneLineError(int code, string output, string err, params string[] mentions)
    {
        Assert.True(code == 1, $"exit code {code}; stderr: {err}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got {lines.Length}: {err}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain('\u001b', err);
        Assert.DoesNotContain("Usage:", output + err);
        Assert.DoesNotContain("   at ", err);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
    }

    // Every numeric option of train, at and beyond its limits: refused at parse time, before any data is read.
    [Theory]
    [InlineData("--time-limit", "1e308", "(0, 10000000]")]
    [InlineData("--time-limit", "Infinity", "(0, 10000000]")]
    [InlineData("--time-limit", "NaN", "(0, 10000000]")]
    [InlineData("--time-limit", "-1", "(0, 10000000]")]
    [InlineData("--time-limit", "0", "(0, 10000000]")]
    [InlineData("--lr-gamma", "-1", "> 0")]
    [InlineData("--lr-gamma", "NaN", "> 0")]
    [InlineData("--lr-gamma", "Infinity", "> 0")]
    [InlineData("--lr", "0", "> 0")]
    [InlineData("--lr", "NaN", "> 0")]
    [InlineData("--momentum", "1", "[0, 1)")]
    [InlineData("--momentum", "-0.1", "[0, 1)")]
    [InlineData("--weight-decay", "-1", ">= 0")]
    [InlineData("--weight-decay", "Infinity", ">= 0")]
    [InlineData("--batch-size", "0", "[1, 65536]")]
    [InlineData("--batch-size", "2147483647", "[1, 65536]")]
    [InlineData("--epochs", "0", "[1, 1000000]")]
    [InlineData("--lr-step", "-1", "[0, 1000000]")]
    [InlineData("--max-steps", "0", "[1, 2147483647]")]
    [InlineData("--train-limit", "-5", "[1, 2147483647]")]
    [InlineData("--test-limit", "0", "[1, 2147483647]")]
    [InlineData("--epochs", "abc", "an integer")]
    [InlineData("--lr", "fast", "a number")]
    [InlineData("--seed", "-1", "a non-negative integer")]
    [InlineData("--out", "", "empty")]
    public void Train_RefusesEachBadOptionValue_NamingTheOptionAndItsRange(string option, string value, string range)
    {
        var (code, output, err) = Cli("train", "seedcnn", option, value, "--device", "cpu");
        AssertOneLineError(code, output, err, "scratchnet train", option, range);
    }

    [Theory]
    [InlineData("train", "--bogus")]
    [InlineData("train", "-x")]
    [InlineData("eval", "--data-path")]
    [InlineData("predict", "--nope")]
    public void AnUnknownOption_GetsOneLineNamingIt(string command, string option)
    {
        var (code, output, err) = Cli(command, "somewhere", option, "value");
        AssertOneLineError(code, output, err, $"scratchnet {command}", $"unknown option '{option}'");
    }

    [Fact]
    public void DataOptions_AreCheckedTheSameWayEverywhere_AndSuggestOnlyCommandsThatExist()
    {
        var (code, output, err) = Cli("train", "--data", "folder");
        AssertOneLineError(code, output, err, "scratchnet train", "--data folder PATH");
        Assert.DoesNotContain("download", err);
        (code, output, err) = Cli("eval", "run", "--data", "mnist");
        AssertOneLineError(code, output, err, "scratchnet eval", "--data mnist PATH", "scratchnet data download mnist");
        (code, output, err) = Cli("eval", "run", "--data", "imagenet", "/x");
        AssertOneLineError(code, output, err, "scratchnet eval", "fashion-mnist [PATH], mnist PATH, cifar10 PATH or folder PATH");
        (code, output, err) = Cli("nosuchcommand");
        AssertOneLineError(code, output, err, "unknown command 'nosuchcommand'");
    }

    private static int RunThrowing(Exception e, bool verbose, out string err)
    {
        var cmd = new Command("boom");
        CliApp.SetAction(cmd, (_, _, _) => throw e);
        var root = new RootCommand { CliApp.Verbose, cmd };
        var o = new StringWriter(); var w = new StringWriter();
        int code = root.Parse(verbose ? ["boom", "--verbose"] : ["boom"]).Invoke(new InvocationConfiguration { Output = o, Error = w });
        err = w.ToString();
        return code;
    }

    public static IEnumerable<object[]> UserErrors() =>
    [
        [new InvalidDataException("x.bin: bad header")],
        [new System.Text.Json.JsonException("bad json")],
        [new FormatException("not a number")],
        [new data.DataFormatException("/data/x.idx", "truncated", offset: 12)],
        [new ArgumentException("train: --lr must be > 0")],
        [new TrainingDivergedException("train: the loss became NaN at step 3", 3, double.NaN, 10)],
        [new OutOfMemoryException()],
        [new IOException("line one\nline two\u0000\u0000")],
    ];

    [Theory]
    [MemberData(nameof(UserErrors))]
    public void ExpectedFailures_AreOneLineWithExitCode1_AndAStackTraceOnlyWithVerbose(Exception e)
    {
        int code = RunThrowing(e, verbose: false, out string err);
        Assert.Equal(1, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain('\0', err);
        Assert.DoesNotContain("   at ", err);
        if (e is not OutOfMemoryException) Assert.Contains(CliApp.OneLine(e.Message), err);
        code = RunThrowing(e, verbose: true, out err);
        Assert.Equal(1, code);
        Assert.Contains(e.GetType().FullName!, err);
    }

    [Fact]
    public void AnInternalError_IsOneLine_WithExitCode2_AndSaysHowToGetTheStackTrace()
    {
        int code = RunThrowing(new NullReferenceException("oops"), verbose: false, out string err);
        Assert.Equal(2, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("internal error (NullReferenceException): oops", err);
        Assert.Contains("--verbose", err);
        code = RunThrowing(new NullReferenceException("oops"), verbose: true, out err);
        Assert.Equal(2, code);
        Assert.Contains("   at ", err);
    }

    // ------------------------------------------------------------------ end to end

    private static string TempDir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "scratchnet-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public void Train_DivergingLearningRate_StopsWithOneLineNamingStepLossAndLr()
    {
        string dir = TempDir("nan");
        var (code, output, err) = Cli("train", "seedcnn", "--lr", "10000", "--epochs", "2", "--train-limit", "640", "--test-limit", "64",
                                      "--device", "cpu", "--out", dir);
        AssertOneLineError(code, "", err, "the loss became", "at step", "learning rate 10000", "No checkpoint was saved yet", "smaller --lr");
        Assert.False(File.Exists(Path.Combine(dir, MetricsFiles.Json)));
    }

    [Fact]
    public void Resume_TakesTheRunsOwnOptions_AndAnotherBatchSize()
    {
        string dir = TempDir("resume-cli");
        var (code, output, err) = Cli("train", "seedcnn", "--epochs", "1", "--max-steps", "5", "--train-limit", "320", "--test-limit", "64",
                                      "--batch-size", "32", "--no-augment", "--lr", "0.02", "--device", "cpu", "--out", dir);
        Assert.True(code == 0, err + output);
        // No model, data, limit or lr here: they come from the checkpoint. Only the batch size changes.
        (code, output, err) = Cli("train", "--resume", "--out", dir, "--epochs", "1", "--batch-size", "16", "--device", "cpu");
        Assert.True(code == 0, err + output);
        Assert.Contains("seedcnn", output);
        Assert.Contains("lr 0.02", output);
        Assert.Contains("continues at image 160 in batches of 16", output);
        var state = Checkpoint.ReadState(dir);
        Assert.Equal(5 + (320 - 5 * 32) / 16, state.GlobalStep);
        Assert.Equal(320, state.Options.TrainLimit);
        Assert.Equal(16, state.Options.BatchSize);
    }

    [Fact]
    public void Predict_And_Eval_RefuseNonFiniteWeights()
    {
        string dir = TempDir("nanweights");
        var (code, output, err) = Cli("train", "mlp", "--max-steps", "1", "--train-limit", "64", "--test-limit", "64", "--device", "cpu", "--out", dir);
        Assert.True(code == 0, err + output);
        string path = Path.Combine(dir, Checkpoint.ModelFile);
        var file = Safetensors.Load(path);
        var tensors = file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        var b = tensors["3.bias"].ToFloatArray();
        b[2] = float.NaN;
        tensors["3.bias"] = SafeTensor.FromFloats(b, tensors["3.bias"].Shape);
        Safetensors.Save(path, tensors, file.Metadata);
        (code, output, err) = Cli("eval", dir, "--device", "cpu");
        AssertOneLineError(code, output, err, path, "'3.bias'", "NaN");
        string png = Path.Combine(dir, "predictions.png");
        (code, output, err) = Cli("predict", dir, png, "--device", "cpu");
        AssertOneLineError(code, output, err, path, "'3.bias'");
    }

    /// <summary>A folder of tiny grey PNGs, two classes told apart by brightness.</summary>
    private static string ImageFolder(string root)
    {
        for (int k = 0; k < 2; k++)
        {
            string dir = Path.Combine(root, k == 0 ? "dark" : "light");
            Directory.CreateDirectory(dir);
            for (int i = 0; i < 12; i++)
            {
                using var img = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(28, 28, new SixLabors.ImageSharp.PixelFormats.L8((byte)(k == 0 ? 20 + i : 200 + i)));
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(img, Path.Combine(dir, $"{i:D2}.png"));
            }
        }
        return root;
    }

    [Fact]
    public void Eval_And_Resume_RememberTheRunsData_AndSayWhatToDoWhenItMoved()
    {
        string data = ImageFolder(TempDir("folder-data"));
        string run = TempDir("folder-run");
        var (code, output, err) = Cli("train", "seedcnn", "--data", "folder", data, "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--out", run);
        Assert.True(code == 0, err + output);
        // No data option: the checkpoint says where its data is.
        (code, output, err) = Cli("eval", run, "--device", "cpu");
        Assert.True(code == 0, err + output);
        Assert.Contains("seedcnn on folder test set (4 images", output);
        (code, output, err) = Cli("train", "--resume", "--out", run, "--epochs", "2", "--device", "cpu");
        Assert.True(code == 0, err + output);
        Assert.Contains("seedcnn on folder", output);

        // The data moved: eval names itself and the way out, and suggests no `data download folder`.
        string moved = data + "-moved";
        Directory.Move(data, moved);
        (code, output, err) = Cli("eval", run, "--device", "cpu");
        AssertOneLineError(code, output, err, "eval:", data, "--data folder PATH");
        Assert.DoesNotContain("download", err);
        (code, output, err) = Cli("train", "--resume", "--out", run, "--epochs", "3", "--device", "cpu");
        AssertOneLineError(code, output, err, "train --resume:", data, "--data folder PATH");
        (code, output, err) = Cli("eval", run, "--data", "folder", moved, "--device", "cpu");
        Assert.True(code == 0, err + output);

        // predict refuses an image above --max-image-pixels from its header.
        string png = Directory.GetFiles(Path.Combine(moved, "dark"))[0];
        (code, output, err) = Cli("predict", run, png, "--max-image-pixels", "100", "--device", "cpu");
        AssertOneLineError(code, output, err, png, "28×28", "100");
        (code, output, err) = Cli("predict", run, png, "--device", "cpu");
        Assert.True(code == 0, err + output);
        Assert.Contains("dark", output);
    }
}
