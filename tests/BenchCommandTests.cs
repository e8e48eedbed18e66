using System.Text.Json;
using ScratchNet.Cli;
using ScratchNet.Bench;

namespace ScratchNet.Tests;

// `scratchnet bench --device cpu --quick --tiny`: the whole bench pipeline at the smallest sizes (seconds).
public class BenchCommandTests
{
    [Fact]
    public void Bench_Tiny_WritesJsonAndPng_WithPositiveFigures()
    {
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-bench-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code = CliApp.Run(["bench", "--device", "cpu", "--quick", "--tiny", "--out", dir, "--readme"], output, error);
            Assert.True(code == 0, output.ToString() + error);
            string json = Path.Combine(dir, "bench.json"), png = Path.Combine(dir, "bench.png");
            Assert.True(File.Exists(json));
            Assert.True(File.Exists(png));
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 1000);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);

            var r = BenchResults.Load(json);
            Assert.Contains("cpu", r.Devices.Keys);
            foreach (var section in new[] { "gemm", "conv", "memory", "train", "infer" })
                Assert.Contains(r.Items, i => i.Section == section && i.Device == "cpu");
            Assert.All(r.Items, i => Assert.True(i.Value > 0 && double.IsFinite(i.Value), $"{i.Section} {i.Name}: {i.Value}"));
            Assert.All(r.Items.Where(i => i.BaselineValue is not null), i => Assert.True(i.BaselineValue > 0));
            using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
                Assert.True(doc.RootElement.GetProperty("items").GetArrayLength() == r.Items.Count);

            string text = output.ToString();
            Assert.Contains("sgemm 128", text);
            Assert.Contains("## Performance", text);   // --readme

            var report = new StringWriter();
            Assert.Equal(0, CliApp.Run(["bench-report", json], report, new StringWriter()));
            Assert.Contains("| sgemm 64 | cpu |", report.ToString());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string> Families => [.. OpRegistry.Default.Families];

    // `scratchnet bench --op FAMILY --tiny`: every version of the family on the cpu, checked and timed, one figure per version and case.
    [Theory]
    [MemberData(nameof(Families))]
    public void BenchOp_Tiny_WritesAFigurePerVersion(string family)
    {
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-benchop-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            // gemm keeps its baseline (OpenBLAS, when installed) to run the alternating rounds.
            string[] args = ["bench", "--op", family, "--device", "cpu", "--tiny", "--out", dir, .. family == "gemm" ? Array.Empty<string>() : ["--no-baselines"]];
            int code = CliApp.Run(args, output, error);
            Assert.True(code == 0, output.ToString() + error);
            var r = BenchResults.Load(Path.Combine(dir, "bench.json"));
            Assert.True(File.Exists(Path.Combine(dir, "bench.png")));
            var op = OpRegistry.Default.Find(family)!;
            int cases = op.BenchCases(new BenchScale(DeviceKind.Cpu, Tiny: true)).Count();
            foreach (var v in op.Versions("cpu"))
            {
                Assert.Contains(r.Checks, c => c.Family == family && c.Version == v.Name && c.Device == "cpu" && c.Pass);
                var items = r.Items.Where(i => i.Section == family && i.Version == v.Name && i.Device == "cpu").ToList();
                Assert.True(items.Count > 0, $"{family} {v.Name}: no figure");
                if (!v.PlainLoops) Assert.Equal(cases, items.Count);
                Assert.All(items, i => Assert.True(i.Value > 0 && double.IsFinite(i.Value) && i.Check == $"PASS {r.Checks.First(c => c.Version == v.Name).Cases}/{r.Checks.First(c => c.Version == v.Name).Cases}", $"{i.Label}: {i.Value} {i.Check}"));
                Assert.Contains($"-- {family} {v.Name} on cpu", output.ToString());
            }
            Assert.All(r.Items.Where(i => i.BaselineValue is not null), i => Assert.True(i.BaselineValue > 0 && i.Baseline == "OpenBLAS"));
            var report = new StringWriter();
            Assert.Equal(0, CliApp.Run(["bench-report", Path.Combine(dir, "bench.json")], report, new StringWriter()));
            foreach (var v in op.Versions("cpu"))
                Assert.Contains($" · {v.Name} | cpu |", report.ToString());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BenchOp_IlgpuCpu_TimesTheKernel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-benchop-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            int code = CliApp.Run(["bench", "--op", "elementwise", "--device", "ilgpu-cpu", "--tiny", "--out", dir], output, new StringWriter());
            Assert.True(code == 0, output.ToString());
            var r = BenchResults.Load(Path.Combine(dir, "bench.json"));
            Assert.Contains(r.Checks, c => c.Device == "ilgpu-cpu" && c.Version == "ilgpu" && c.Pass);
            Assert.Contains(r.Items, i => i.Device == "ilgpu-cpu" && i.Version == "ilgpu" && i.Value > 0);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BenchOp_WrongVersion_FailsItsCheck()
    {
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-benchop-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var registry = OpRegistry.Default.With(new FakeOp());
            var output = new StringWriter();
            var error = new StringWriter();
            int code = CliApp.Run(["bench", "--op", "fake", "--device", "cpu", "--tiny", "--out", dir], output, error, [new ScratchNet.Cli.Commands.BenchCommand(registry)]);
            Assert.Equal(1, code);
            Assert.Contains("fake wrong on cpu", error.ToString());
            var r = BenchResults.Load(Path.Combine(dir, "bench.json"));
            Assert.Contains(r.Checks, c => c.Version == "right" && c.Pass);
            Assert.Contains(r.Checks, c => c.Version == "wrong" && !c.Pass);
            Assert.Contains(r.Items, i => i.Version == "wrong" && i.Check == "FAIL 1/1");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Alternate_InterleavesOursAndTheirs_RoundByRound()
    {
        var order = new List<string>();
        var (ours, theirs) = Timing.Alternate(3, () => { order.Add("ours"); return 1; }, () => { order.Add("theirs"); return 2; });
        Assert.Equal(["ours", "theirs", "ours", "theirs", "ours", "theirs"], order);
        Assert.Equal([1.0, 1, 1], ours);
        Assert.Equal([2.0, 2, 2], theirs);

        // A baseline round that fails ends the baseline's rounds; ours go on.
        order.Clear();
        int calls = 0;
        (ours, theirs) = Timing.Alternate(3, () => { order.Add("ours"); return 1; }, () => { order.Add("theirs"); return ++calls == 2 ? null : 2; });
        Assert.Equal(["ours", "theirs", "ours", "theirs", "ours"], order);
        Assert.Equal(3, ours.Count);
        Assert.Single(theirs);
    }

    [Fact]
    public void Measure_TimesOursAndAnInProcessBaseline_InAlternatingRounds()
    {
        // After the warm-up and the calibration of each side, the calls alternate round by round.
        var order = new List<char>();
        var m = new Timing(Rounds: 3, Target: 0, Settle: 0).Measure(() => order.Add('o'), () => { }, 1e6, new Baseline("theirs", Call: () => order.Add('t')));
        Assert.Equal("oottototot", new string([.. order]));
        Assert.Equal(3, m.Ours.Count);
        Assert.Equal(3, m.Theirs.Count);
        Assert.True(m.Best > 0 && m.TheirBest > 0);
    }

    [Fact]
    public void TorchServer_AnswersOneRoundPerRequest()
    {
        var notes = new List<string>();
        using var server = TorchServer.Start("cpu", notes, new StringWriter());
        if (server is null)
        {
            // No Python with torch here: the failure is a note, not an exception.
            Assert.NotEmpty(notes);
            return;
        }
        Assert.StartsWith("PyTorch ", server.Label);
        Assert.True(server.Train("seedcnn", 4, 1).ImgPerSecond > 0, string.Join("; ", notes));
        Assert.True(server.Infer("seedcnn", 4, 1) > 0, string.Join("; ", notes));
        Assert.Null(server.Infer("nosuch", 4, 1));
        Assert.Contains(notes, n => n.Contains("nosuch"));
        Assert.True(server.Train("seedcnn", 4, 1).ImgPerSecond > 0);   // an error does not end the process
    }

    [Fact]
    public void Bench_UnknownDevice_IsAnError()
    {
        var error = new StringWriter();
        Assert.Equal(1, CliApp.Run(["bench", "--device", "nosuch", "--tiny"], new StringWriter(), error));
        Assert.Contains("error:", error.ToString());
    }

    [Fact]
    public void BenchReport_MissingFile_IsAnError()
    {
        var error = new StringWriter();
        Assert.Equal(1, CliApp.Run(["bench-report", "/nonexistent/bench.json"], new StringWriter(), error));
        Assert.Contains("not found", error.ToString());
    }
}

// `scratchnet ptx`: every ILGPU kernel compiles to sm_90 PTX without a GPU, and the report lists it.
public class PtxCommandTests
{
    [Fact]
    public void Ptx_CompilesEveryKernel_AndReportsSpills()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["ptx"], output, error);
        string text = output.ToString();
        Assert.True(code == 0, text + error);
        foreach (var k in ScratchNet.Kernels.PtxInspector.KernelMethods())
            Assert.Contains(ScratchNet.Kernels.PtxInspector.KernelName(k), text);
        Assert.Contains("GemmTiledKernel", text);
        Assert.Contains("GemmDoubleBufferKernel<MatrixSource,Im2ColSource,ImageMatrix>", text);   // the implicit conv's forward
        Assert.Contains("0 failed to compile", text);
    }
}
