using System.CommandLine;
using ScratchNet.Bench;
using ScratchNet.Kernels;
using Spectre.Console;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet bench [--op FAMILY] [--device D ...] [--quick] [--out DIR] [--baselines|--no-baselines] [--readme]`.
/// Without --op: per-kernel GFLOP/s and GB/s, training and inference img/s, OpenBLAS and PyTorch baselines in the same run
/// (rounds alternating with ours), CPU-vs-GPU speedups (<see cref="BenchRunner"/>). With --op: every version of one kernel
/// family, each checked against the reference and timed (<see cref="OpBench"/>); `--op gemm` on the cpu is our SGEMM
/// against OpenBLAS's. Both write DIR/bench.json and DIR/bench.png. Devices by default: cpu, ilgpu-cpu (small sizes only:
/// it is a simulator), and cuda/opencl when available. Baselines: OpenBLAS cblas_sgemm in-process (OPENBLAS_CORETYPE set
/// before the library loads), and the PyTorch scripts of bench/baselines (next to the published binary, or found above the
/// working directory) run with the first Python that imports torch: $SCRATCHNET_PYTHON, /usr/bin/python3, python3.
/// </summary>
public sealed class BenchCommand(OpRegistry ops) : ICliCommand
{
    /// <summary>The command over every family of kernels/.</summary>
    public BenchCommand() : this(OpRegistry.Default) { }

    /// <inheritdoc/>
    public int Order => 41;

    /// <inheritdoc/>
    public Command Build()
    {
        var devices = CommonOptions.Devices("measure");
        var op = CommonOptions.Op(ops, "every version of it checked and timed");
        var quick = new Option<bool>("--quick") { Description = "Fewer repetitions and steps; on the cpu, skip batch 256 and AlexNet224" };
        var tiny = new Option<bool>("--tiny") { Description = "Smallest sizes only (GEMM 64/128, batch 2 convs, seed CNN at batch 8): a smoke test of the bench itself", Hidden = true };
        var outDir = new Option<string>("--out") { Description = "Folder for bench.json and bench.png", DefaultValueFactory = _ => "bench-results" };
        var baselines = new Option<bool>("--baselines") { Description = "Measure OpenBLAS and PyTorch in the same run, rounds alternating with ours (default on)", DefaultValueFactory = _ => true };
        var noBaselines = new Option<bool>("--no-baselines") { Description = "Skip OpenBLAS and PyTorch" };
        var openBlasCore = new Option<string>("--openblas-core")
        {
            Description = "OPENBLAS_CORETYPE for the OpenBLAS baseline (SkylakeX: its AVX-512 kernels; Haswell to compare with --kernels avx2; env keeps the inherited value)",
            DefaultValueFactory = _ => "SkylakeX",
        };
        var readme = new Option<bool>("--readme") { Description = "Also print the README performance section (Markdown)" };
        var seed = CommonOptions.Seed(1);
        var kernels = new KernelFlags();
        var cmd = new Command("bench", "Benchmark kernels (GFLOP/s, GB/s) and training/inference (img/s) per device, against OpenBLAS and PyTorch; --op FAMILY: every version of one op, checked and timed; writes bench.json and bench.png")
        {
            devices, op, quick, tiny, outDir, baselines, noBaselines, openBlasCore, readme, seed,
        };
        kernels.AddTo(cmd);
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            var list = ScratchNet.Bench.Devices.Resolve("bench", parse.GetValue(devices));
            var pinned = kernels.Given(parse) ? kernels.Read(parse) : null;
            foreach (var d in list) Backends.Get(d, pinned);   // options a device refuses: an error before any work
            string dir = parse.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            var o = new BenchOptions(list, parse.GetValue(quick), parse.GetValue(tiny),
                parse.GetValue(baselines) && !parse.GetValue(noBaselines), dir, pinned, parse.GetValue(openBlasCore)!);
            string command = "scratchnet " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            var family = parse.GetValue(op) is { } name ? ops.Find(name)! : null;
            var results = family is null ? new BenchRunner(o, output, ops).Run(command) : new OpBench(o, output).Run(family, command, parse.GetValue(seed));
            string json = Path.Combine(dir, "bench.json"), png = Path.Combine(dir, "bench.png");
            results.Save(json);
            BenchReport.Png(results, png);
            if (family is null)
            {
                output.WriteLine();
                bool interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
                if (interactive) BenchReport.WriteConsole(results); else BenchReport.WriteText(results, output);
            }
            else
            {
                foreach (var (k, v) in results.Baselines) output.WriteLine($"baseline {k}: {v}");
                foreach (var note in results.Notes) output.WriteLine($"note: {note}");
            }
            output.WriteLine($"wrote {Path.GetFullPath(json)} and {Path.GetFullPath(png)}");
            if (parse.GetValue(readme))
            {
                output.WriteLine();
                output.Write(BenchReport.Markdown(results));
            }
            var failed = results.Checks.Where(c => !c.Pass).ToList();
            if (failed.Count > 0)
                error.WriteLine($"bench: {failed.Count} version(s) failed their check against the reference: {string.Join("; ", failed.Select(c => $"{c.Family} {c.Version} on {c.Device} ({c.Verdict})"))}");
            return failed.Count > 0 ? 1 : 0;
        });
        return cmd;
    }
}
