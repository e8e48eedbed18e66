using ScratchNet.Cli;
using ScratchNet.Bench;

namespace ScratchNet.Tests;

// `scratchnet check --device ilgpu-cpu`: every kernel family on the ILGPU simulator against the cpu device.
public class CheckCommandTests
{
    [Fact]
    public void Check_IlgpuCpu_PassesEveryFamily()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["check", "--device", "ilgpu-cpu"], output, error);
        string text = output.ToString();
        Assert.True(code == 0, text + error);
        foreach (var family in KernelCheck.Families)
            Assert.Contains("\n" + family.PadRight(11) + " ", text);
        Assert.DoesNotContain("FAIL", text);
    }

    [Fact]
    public void Check_ReportsFailures()
    {
        // A tolerance the device cannot meet must fail: a CheckResult with an error above its bound, and NaN.
        Assert.False(new CheckResult("gemm", "gemm NN", "M1", 1e-3, 1e-4).Pass);
        Assert.False(new CheckResult("gemm", "gemm NN", "M1", double.NaN, 1e-4).Pass);
        Assert.True(new CheckResult("gemm", "gemm NN", "M1", 0, 0).Pass);
    }

    [Fact]
    public void Check_UnknownDevice_IsAnError()
    {
        var error = new StringWriter();
        int code = CliApp.Run(["check", "--device", "nosuch"], new StringWriter(), error);
        Assert.NotEqual(0, code);
        Assert.Contains("error:", error.ToString());
    }
}
