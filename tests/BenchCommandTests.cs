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
