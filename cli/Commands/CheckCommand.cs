using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ScratchNet.Bench;
using ScratchNet.Kernels;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet check [--device cuda|opencl|ilgpu-cpu|cpu]`: runs every kernel family on the device and on the
/// plain C# `cpu` device with the same random inputs and prints op, shape, max abs error, tolerance, PASS/FAIL.
/// Exits 1 when any line fails. This is how the kernels are tested on a GPU machine that has the published
/// binary but no .NET SDK (see <see cref="KernelCheck"/> for shapes and tolerances).
/// </summary>
public sealed class CheckCommand : ICliCommand
{
    public int Order => 40;

    public Command Build()
    {
        var device = CommonOptions.Device("auto");
        var seed = CommonOptions.Seed(1);
        var cmd = new Command("check", "Check every kernel family on a device against the plain C# cpu device on random data (exit 1 on any failure)")
        {
            device, seed,
        };
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            var dev = Backends.Get(parse.GetValue(device)!);
            var reference = Backends.Get("cpu");
            var inv = CultureInfo.InvariantCulture;
            output.WriteLine($"scratchnet check: {dev.Name} ({dev.Description}) against cpu");
            output.WriteLine($"{"family",-11} {"op",-40} {"shape",-32} {"max abs err",11} {"tolerance",10}  result");
            var sw = Stopwatch.StartNew();
            var results = new KernelCheck(dev, reference, parse.GetValue(seed)).RunAll(r =>
                output.WriteLine($"{r.Family,-11} {r.Op,-40} {r.Shape,-32} {r.MaxAbsError.ToString("0.0e+0", inv),11} {r.Tolerance.ToString("0.0e+0", inv),10}  {(r.Pass ? "PASS" : "FAIL")}"));
            int failed = results.Count(r => !r.Pass);
            output.WriteLine($"{results.Count - failed}/{results.Count} passed on {dev.Name} in {sw.Elapsed.TotalSeconds.ToString("F1", inv)} s");
            if (failed > 0) error.WriteLine($"check: {failed} of {results.Count} checks failed on {dev.Name}");
            return failed > 0 ? 1 : 0;
        });
        return cmd;
    }
}
