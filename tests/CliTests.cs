using ScratchNet.Cli;

namespace ScratchNet.Tests;

// The `scratchnet` command, run in-process with captured output and error streams.
public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("devices")]
    [InlineData("neuron")]
    [InlineData("activations")]
    [InlineData("summary")]
    [InlineData("gradcheck")]
    public void EveryCommand_HasHelp(string command)
    {
        var (code, output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains($" {command} ", output);   // "Usage: scratchnet <command> [options]" (the test host's name here)
    }

    [Fact]
    public void RootHelp_ListsTheCommands()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var c in new[] { "devices", "neuron", "activations", "summary", "gradcheck" }) Assert.Contains(c, output);
    }

    [Fact]
    public void Devices_ListsEveryBackend()
    {
        var (code, output, err) = Run("devices");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("device", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("cpu ") && l.Contains("yes"));
        Assert.Contains(lines, l => l.StartsWith("ilgpu-cpu ") && l.Contains("yes"));
        Assert.Contains(lines, l => l.StartsWith("cuda "));
        Assert.Contains(lines, l => l.StartsWith("opencl "));
    }

    [Fact]
    public void Errors_GoToStderr_WithANonZeroExitCode()
    {
        var (code, _, err) = Run("summary", "lenet");
        Assert.NotEqual(0, code);
        Assert.Contains("lenet", err);

        (code, _, err) = Run("neuron", "--device", "tpu");
        Assert.Equal(1, code);
        Assert.Contains("error: Unknown device 'tpu'", err);

        (code, _, err) = Run("nosuchcommand");
        Assert.NotEqual(0, code);
        Assert.NotEqual("", err);

        (code, _, err) = Run("summary", "seedcnn", "--classes", "0");
        Assert.Equal(1, code);
        Assert.Contains("classes", err);

        (code, _, err) = Run("activations", "--out", Path.Combine(Path.GetTempPath(), "x.txt"));
        Assert.Equal(1, code);
        Assert.Contains(".png", err);
    }

    [Fact]
    public void Neuron_PrintsTruthTablesAndThePerceptronDemo()
    {
        var (code, output, err) = Run("neuron", "--epochs", "20");
        Assert.True(code == 0, err);
        Assert.Contains("AND: H(x1 + x2 − 1.5)", output);
        Assert.Contains("AND (second form): H(5·x1 + 5·x2 − 9)", output);
        Assert.Contains("NOT: H(−x1 + 0.5)", output);
        Assert.Contains("XOR: H(x1 + x2 − 2·H(x1 + x2 − 1.5) − 0.5)", output);
        Assert.Contains("   1  1 | 0", output);   // XOR's last row
        Assert.Contains("AND: converged after 6 epochs", output);
        Assert.Contains("XOR: no convergence after 20 epochs: stuck at 4 errors per epoch", output);
    }

    [Fact]
    public void Summary_SeedCnn_PrintsTheLayerTable()
    {
        var (code, output, err) = Run("summary", "seedcnn");
        Assert.True(code == 0, err);
        Assert.Contains("24×24×8", output);
        Assert.Contains("12×12×8", output);
        Assert.Contains("3,200", output);
        Assert.Contains("total parameters: 5,994", output);
    }

    [Fact]
    public void GradCheck_SeedCnn_Passes()
    {
        var (code, output, err) = Run("gradcheck", "seedcnn", "--samples", "3");
        Assert.True(code == 0, output + err);
        Assert.Contains("PASSED", output);
        Assert.Contains("7.weight", output);
    }

    [Fact]
    public void Activations_WritesAPng()
    {
        var path = Path.Combine(Path.GetTempPath(), $"scratchnet-activations-{Guid.NewGuid():N}.png");
        try
        {
            var (code, output, err) = Run("activations", "--out", path, "--width", "640", "--height", "320");
            Assert.True(code == 0, err);
            Assert.Contains(path, output);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            // IHDR: width and height, big-endian, at offsets 16 and 20.
            Assert.Equal(640, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
            Assert.Equal(320, (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Activations_DerivativesComeFromAutograd()
    {
        var curves = ScratchNet.Cli.Commands.ActivationsCommand.Compute(Device.Cpu, 9);   // x = −4, −3, ..., 4
        var sig = curves.Single(c => c.Name == "sigmoid");
        for (int i = 0; i < 9; i++)
        {
            double s = 1 / (1 + Math.Exp(-sig.X[i]));
            Assert.Equal(s, sig.Y[i], 5);
            Assert.Equal(s * (1 - s), sig.DyDx[i], 5);
        }
        var relu = curves.Single(c => c.Name == "ReLU");
        Assert.Equal(new double[] { 0, 0, 0, 0, 0, 1, 1, 1, 1 }, relu.DyDx);
        Assert.All(curves.Single(c => c.Name == "step").DyDx, v => Assert.Equal(0, v));
        var tanh = curves.Single(c => c.Name == "tanh");
        Assert.Equal(1 - Math.Tanh(1) * Math.Tanh(1), tanh.DyDx[5], 5);
    }
}
