using System.CommandLine;
using ScratchNet.Bench;
using ScratchNet.Kernels;
using Spectre.Console;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet bench [--device D ...] [--quick] [--out DIR] [--baselines|--no-baselines] [--readme]`: per-kernel
/// GFLOP/s and GB/s, training and inference img/s, OpenBLAS and PyTorch baselines in the same run, CPU-vs-GPU
/// speedups; writes DIR/bench.json and DIR/bench.png (see <see cref="BenchRunner"/> for what is measured and how).
/// Devices by default: cpu, ilgpu-cpu (small sizes only: it is a simulator), and cuda/opencl when available.
/// Baselines: OpenBLAS cblas_sgemm in-process (OPENBLAS_CORETYPE=SkylakeX set before the library loads), and the
/// PyTorch scripts of bench/baselines (next to the published binary, or found above the working directory) run
/// with the first Python that imports torch: $SCRATCHNET_PYTHON, /usr/bin/python3, python3.
/// </summary>
public sealed class BenchCommand : ICliCommand
{
    public int Order => 41;

    public Command Build()
    {
        var devices = new Option<string[]>("--device", "-d")
        {
            Description = "Device(s) to measure (repeatable): cpu, ilgpu-cpu, cuda, opencl (default: cpu, ilgpu-cpu, and cuda/opencl when available)",
            AllowMultipleArgumentsPerToken = true,
        };
        var quick = new Option<bool>("--quick") { Description = "Fewer repetitions and steps; on the cpu, skip batch 256 and AlexNet224" };
        var tiny = new Option<bool>("--tiny") { Description = "Smallest sizes only (GEMM 64/128, batch 2 convs, seed CNN at batch 8): a smoke test of the bench itself", Hidden = true };
        var outDir = new Option<string>("--out") { Description = "Folder for bench.json and bench.png", DefaultValueFactory = _ => "bench-results" };
        var baselines = new Option<bool>("--baselines") { Description = "Measure OpenBLAS and PyTorch in the same run (default on)", DefaultValueFactory = _ => true };
        var noBaselines = new Option<bool>("--no-baselines") { Description = "Skip OpenBLAS and PyTorch" };
        var readme = new Option<bool>("--readme") { Description = "Also print the README performance section (Markdown)" };
        var cmd = new Command("bench", "Benchmark kernels (GFLOP/s, GB/s) and training/inference (img/s) per device, against OpenBLAS and PyTorch; writes bench.json and bench.png")
        {
            devices, quick, tiny, outDir, baselines, noBaselines, readme,
        };
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            var list = parse.GetValue(devices) is { Length: > 0 } d ? d.Select(x => x.Trim().ToLowerInvariant()).Distinct().ToList() : DefaultDevices();
            foreach (var name in list)
            {
                var info = Backends.Probe(name);
                if (!info.Available) throw new ArgumentException($"bench: device '{name}' is not available: {info.Detail}");
            }
            string dir = parse.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            var o = new BenchOptions(list, parse.GetValue(quick), parse.GetValue(tiny),
                parse.GetValue(baselines) && !parse.GetValue(noBaselines), dir);
            var results = new BenchRunner(o, output).Run("scratchnet " + string.Join(' ', parse.Tokens.Select(t => t.Value)));
            string json = Path.Combine(dir, "bench.json"), png = Path.Combine(dir, "bench.png");
            results.Save(json);
            BenchReport.Png(results, png);
            output.WriteLine();
            bool interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            if (interactive) BenchReport.WriteConsole(results); else BenchReport.WriteText(results, output);
            output.WriteLine($"wrote {Path.GetFullPath(json)} and {Path.GetFullPath(png)}");
            if (parse.GetValue(readme))
            {
                output.WriteLine();
                output.Write(BenchReport.Markdown(results));
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>cpu, ilgpu-cpu, and every GPU backend Backends.Probe finds.</summary>
    public static List<string> DefaultDevices()
    {
        var list = new List<string> { "cpu", "ilgpu-cpu" };
        foreach (var gpu in new[] { "cuda", "opencl" })
            if (Backends.Probe(gpu).Available) list.Add(gpu);
        return list;
    }
}
