using System.Diagnostics;
using ScratchNet.Models.Training;
using Xunit.Abstractions;

namespace ScratchNet.Tests;

/// <summary>
/// The examples/ projects, built and run the way a user consumes ScratchNet: the packages are packed into a local
/// folder (a version of their own for this run, so no stale copy from the NuGet cache is used), each example is
/// copied out of the repository (no Directory.Build.props, no project references: a plain consumer project) and
/// built against the ScratchNet package from that folder, then run on small data.
/// </summary>
public class ExamplesTests(ITestOutputHelper output, ExamplesTests.Feed feed) : IClassFixture<ExamplesTests.Feed>
{
    /// <summary>The packed packages, once for the class.</summary>
    public sealed class Feed : IDisposable
    {
        public string Root { get; } = Path.Combine(Path.GetTempPath(), "scratchnet-examples-" + Guid.NewGuid().ToString("N")[..8]);
        public string Folder => Path.Combine(Root, "feed");
        public string Version { get; } = "0.5.0-test." + Guid.NewGuid().ToString("N")[..12];

        public Feed()
        {
            Directory.CreateDirectory(Folder);
            // --no-build: the test run already built the projects in Release; packing only writes the packages.
            foreach (var project in new[] { "kernels/ScratchNet.Kernels.csproj", "engine/ScratchNet.Engine.csproj", "models/ScratchNet.Models.csproj" })
            {
                var (code, log) = Dotnet(RepoRoot(), "pack", Path.Combine(RepoRoot(), project), "-c", "Release", "--no-build", "-o", Folder, $"-p:Version={Version}");
                if (code != 0) throw new InvalidOperationException($"dotnet pack {project} failed:\n{log}");
            }
        }

        public void Dispose() { try { Directory.Delete(Root, true); } catch (IOException) { } }
    }

    private readonly Feed _feed = feed;

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ScratchNet.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("ScratchNet.sln not found above " + AppContext.BaseDirectory);
    }

    internal static (int Code, string Log) Dotnet(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(8))) { p.Kill(true); return (-1, "timed out\n" + stdout.Result + stderr.Result); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Copies examples/NAME out of the repository with a nuget.config naming the local feed, builds it against the
    /// package and runs it with <paramref name="args"/>; returns its output.</summary>
    private string BuildAndRun(string name, params string[] args)
    {
        string dir = Path.Combine(_feed.Root, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Path.Combine(RepoRoot(), "examples", name)))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{_feed.Folder}" />
              </packageSources>
            </configuration>
            """);
        var (code, log) = Dotnet(dir, "build", "-c", "Release", $"-p:ScratchNetPackageVersion={_feed.Version}");
        Assert.True(code == 0, $"{name} does not build against the package:\n{log}");
        Assert.Contains($"scratchnet/{_feed.Version}", File.ReadAllText(Path.Combine(dir, "obj", "project.assets.json")).ToLowerInvariant());
        var (runCode, runLog) = Dotnet(dir, ["run", "-c", "Release", "--no-build", $"-p:ScratchNetPackageVersion={_feed.Version}", "--", .. args]);
        output.WriteLine(runLog);
        Assert.True(runCode == 0, $"{name} failed:\n{runLog}");
        return runLog;
    }

    [Fact]
    public void LeNet5_TrainsFromThePackage_OnItsEmbeddedData()
    {
        // The Fashion-MNIST subset comes with the package (a content file copied next to the app).
        string log = BuildAndRun("LeNet5", "--steps", "60");
        Assert.Contains("step 60: loss", log);
        var accuracy = double.Parse(log.Split("test accuracy ")[1].Split(' ')[0].TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy > 40, $"accuracy {accuracy} % after 60 steps");
    }

    [Fact]
    public void CustomOp_PassesGradCheck_AndTrains_FromThePackage()
    {
        string log = BuildAndRun("CustomOp", "--steps", "40");
        Assert.Contains("gradcheck of Swish: PASSED", log);
        Assert.Contains("step 40: loss", log);
    }

    [Fact]
    public void BatchNormCnn_TrainsFromThePackage_AndEvaluatesWithRunningStatistics()
    {
        // The PyTorch user's port: conv-BatchNorm-ReLU-AvgPool twice, on the embedded subset; 40 steps of the full recipe's 376.
        string log = BuildAndRun("BatchNormCnn", "--steps", "40");
        Assert.Contains("BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", log);
        Assert.Contains("epoch 1 step 40: loss", log);
        var accuracy = double.Parse(log.Split("test accuracy ")[1].Split('%')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy > 60, $"accuracy {accuracy} % after 40 steps");
    }

    [Fact]
    public void Inference_ClassifiesAnImageFile_WithACheckpoint()
    {
        string run = Path.Combine(_feed.Root, "run");
        new Trainer().Run(new TrainOptions { Model = "seedcnn", Epochs = 1, BatchSize = 32, TrainLimit = 640, TestLimit = 64, Device = "cpu", OutDir = run, Augment = false });
        var test = data.Datasets.FashionMnist(train: false);
        var pixels = test.Pixels(0).ToArray().Select(v => (byte)Math.Round(v * 255)).SelectMany(b => new[] { b, b, b }).ToArray();
        string png = Path.Combine(_feed.Root, "item.png");
        TestImages.Write(png, pixels, 28, 28);
        string log = BuildAndRun("Inference", run, png);
        Assert.Contains($"{png}: ", log);
        Assert.Contains("%", log);
    }
}
