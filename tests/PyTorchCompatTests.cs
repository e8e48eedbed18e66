using System.Diagnostics;
using ScratchNet.io;
using ScratchNet.Models;

namespace ScratchNet.Tests;

// Checkpoints line up with the lecture's PyTorch model: bench/baselines/load_checkpoint.py loads our
// model.safetensors into torch's AlexNet with load_state_dict(strict=True) and compares logits.
// It needs Debian's python3-torch, which .ci/run installs.
public class PyTorchCompatTests
{
    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "ScratchNet.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("repository root (ScratchNet.sln) not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void AlexNetCheckpoint_LoadsIntoPyTorch_WithTheSameLogits()
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var probe = Process.Start(new ProcessStartInfo(python, "-c \"import torch\"") { RedirectStandardError = true })!;
        probe.WaitForExit();
        Assert.True(probe.ExitCode == 0, $"{python} cannot import torch: install Debian's python3-torch (.ci/run does) to run this check");

        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-tests", "torch-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var gen = new Generator(11);
        var model = new AlexNet(10, gen, Device.Cpu);
        model.Eval();
        Safetensors.Save(Path.Combine(dir, "model.safetensors"), model.NamedParameters(), new Dictionary<string, string> { ["format"] = "pt" });
        var x = Tensor.Uniform([3, 3, 32, 32], -1, 1, gen);
        Tensor logits;
        using (Tensor.NoGrad()) logits = model.Forward(x);
        Safetensors.Save(Path.Combine(dir, "check.safetensors"), [("input", x), ("logits", logits)]);

        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
            ArgumentList = { Path.Combine(RepoRoot(), "bench", "baselines", "load_checkpoint.py"), Path.Combine(dir, "model.safetensors"), Path.Combine(dir, "check.safetensors") },
        };
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, output + error);
        Assert.Contains("\"ok\": true", output);
        Assert.Contains("\"parameters\": 36051786", output);
    }
}
