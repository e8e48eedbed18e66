using ScratchNet.Bench;
using ScratchNet.Cli;
using ScratchNet.Cli.Commands;
using ScratchNet.Kernels;

namespace ScratchNet.Tests;

/// <summary>A test-only family: version "right" copies x, version "wrong" returns x·1.001 on the device under test. The check must
/// catch the wrong one (the bench too), whatever the registry around it.</summary>
internal sealed class FakeOp : KernelOp
{
    public override string Family => "fake";
    public override string Summary => "a copy, right or wrong";

    public override IReadOnlyList<OpVersion> Versions(string device) =>
    [
        new OpVersion("right", DeviceOptions.Default, "copies x"),
        new OpVersion("wrong", new DeviceOptions { Kernels = KernelPath.Vector }, "returns x·1.001"),
    ];

    public override void Check(CheckContext ctx)
    {
        const int n = 100;
        using var x = ctx.Floats(n); using var y = ctx.Floats(n);
        ctx.Both((be, v) =>
        {
            if (be == ctx.Device && ctx.Version.Name == "wrong") be.Scale(v(x), 1.001f, v(y), n);
            else be.Copy(v(x), v(y), n);
        });
        ctx.Compare("copy", $"[{n}]", y, 1e-6);
    }

    public override IEnumerable<BenchCase> BenchCases(BenchScale scale)
    {
        yield return new BenchCase("copy [1024]", BenchCase.Bytes, 8.0 * 1024, a =>
        {
            var (x, y) = (a.Random(1024), a.Empty(1024));
            return new Prepared(() => a.Backend.Copy(x, y, 1024));
        });
    }
}

// `scratchnet check`: every version of every kernel family against the reference (the cpu device's plain loops).
public class CheckCommandTests
{
    public static TheoryData<string> Families => [.. OpRegistry.Default.Families];

    private static (int Code, string Output, string Error) Run(params string[] args) => Run(null, args);

    private static (int Code, string Output, string Error) Run(IReadOnlyList<ICliCommand>? commands, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error, commands);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void CheckOp_PassesOnCpuAndIlgpuCpu_AndListsEveryVersion(string family)
    {
        var (code, text, error) = Run("check", "--op", family, "--device", "cpu", "--device", "ilgpu-cpu");
        Assert.True(code == 0, text + error);
        Assert.DoesNotContain("FAIL", text);
        var op = OpRegistry.Default.Find(family)!;
        var lines = text.Split('\n');
        foreach (var device in new[] { "cpu", "ilgpu-cpu" })
        {
            var section = lines.SkipWhile(l => !l.StartsWith($"== {device} ")).Skip(1).TakeWhile(l => !l.StartsWith("== ")).ToList();
            Assert.NotEmpty(op.Versions(device));
            foreach (var v in op.Versions(device))
                Assert.Contains(section, l => l.StartsWith(family + " ") && l.Contains($" {v.Name} ") && l.TrimEnd().EndsWith("PASS"));
        }
    }

    [Fact]
    public void Check_WithoutOp_ChecksEveryFamily()
    {
        var (code, text, error) = Run("check", "--device", "cpu");
        Assert.True(code == 0, text + error);
        foreach (var family in OpRegistry.Default.Families)
            Assert.Contains("\n" + family + " ", text);
        Assert.DoesNotContain("FAIL", text);
    }

    [Fact]
    public void Check_WrongVersion_Fails()
    {
        var registry = OpRegistry.Default.With(new FakeOp());
        var (code, text, error) = Run([new CheckCommand(registry)], "check", "--op", "fake", "--device", "cpu");
        Assert.Equal(1, code);
        var lines = text.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("fake") && l.Contains(" right ") && l.TrimEnd().EndsWith("PASS"));
        Assert.Contains(lines, l => l.StartsWith("fake") && l.Contains(" wrong ") && l.Contains("FAIL"));
        Assert.Contains("fake wrong on cpu", error);
        Assert.DoesNotContain("fake right", error);
    }

    [Fact]
    public void Check_PinnedOptions_CheckOneVersion_AndRefusedOptionsAreAnError()
    {
        var (code, text, error) = Run("check", "--op", "gemm", "--device", "cpu", "--gemm-version", "1");
        Assert.True(code == 0, text + error);
        Assert.Contains("gemm v1", text);
        Assert.DoesNotContain("v2 ", text);

        (code, _, error) = Run("check", "--op", "gemm", "--device", "ilgpu-cpu", "--kernels", "vector");
        Assert.Equal(1, code);
        Assert.Contains("--kernels vector is a cpu option", error);
    }

    [Theory]
    [InlineData("check")]
    [InlineData("bench")]
    public void UnknownOp_IsOneLineError_ListingTheFamilies(string command)
    {
        var (code, _, error) = Run(command, "--op", "nosuch", "--device", "cpu");
        Assert.Equal(1, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains($"--op must be one of {string.Join(", ", OpRegistry.Default.Families)}, got \"nosuch\"", lines[0]);
    }

    [Fact]
    public void Check_ReportsFailures()
    {
        // A tolerance the device cannot meet must fail: a CheckResult with an error above its bound, and NaN.
        Assert.False(new CheckResult("cpu", "gemm", "v2", "gemm NN", "M1", 1e-3, 1e-4).Pass);
        Assert.False(new CheckResult("cpu", "gemm", "v2", "gemm NN", "M1", double.NaN, 1e-4).Pass);
        Assert.True(new CheckResult("cpu", "gemm", "v2", "gemm NN", "M1", 0, 0).Pass);
        Assert.Equal(double.PositiveInfinity, new CheckResult("cpu", "pool", "avx2", "argmax", "[1]", 1, 0).Ratio);
    }

    [Fact]
    public void Check_UnknownDevice_IsAnError()
    {
        var (code, _, error) = Run("check", "--device", "nosuch");
        Assert.NotEqual(0, code);
        Assert.Contains("error:", error);
    }
}
