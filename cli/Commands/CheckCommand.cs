using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ScratchNet.Bench;
using ScratchNet.Kernels;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet check [--op FAMILY] [--device D ...]`: every version of every kernel family (or of one, with --op) on each
/// device, against the reference: the cpu device with --kernels reference, each family's plain loops, on the same random
/// inputs. One line per version and op: the worst shape, its max abs error and tolerance, PASS/FAIL (--cases: every shape).
/// Exits 1 when any output fails. This is how the kernels are tested on a GPU machine that has the published binary but no
/// .NET SDK. The versions, shapes and tolerances are in bench/ops/ (one file per family); --kernels/--conv/--gemm-version pin
/// one version instead.
/// </summary>
public sealed class CheckCommand(OpRegistry ops) : ICliCommand
{
    /// <summary>The command over every family of kernels/.</summary>
    public CheckCommand() : this(OpRegistry.Default) { }

    /// <inheritdoc/>
    public int Order => 40;

    /// <inheritdoc/>
    public Command Build()
    {
        var devices = CommonOptions.Devices("check");
        var op = CommonOptions.Op(ops, "checked alone");
        var seed = CommonOptions.Seed(1);
        var cases = new Option<bool>("--cases") { Description = "One line per checked output and shape (default: one per op and version, its worst shape)" };
        var kernels = new KernelFlags();
        var cmd = new Command("check", "Check every version of every kernel family (or --op FAMILY) on the device(s) against the reference, the cpu device's plain loops, on random data (exit 1 on any failure)")
        {
            devices, op, seed, cases,
        };
        kernels.AddTo(cmd);
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            var list = ScratchNet.Bench.Devices.Resolve("check", parse.GetValue(devices));
            var pinned = kernels.Given(parse) ? kernels.Read(parse) : null;
            IReadOnlyList<KernelOp> families = parse.GetValue(op) is { } name ? [ops.Find(name)!] : ops.Ops;
            foreach (var d in list)
                foreach (var f in families)
                    foreach (var v in KernelCheck.VersionsOf(f, d, pinned)) Backends.Get(d, v.Options);   // refused options: an error before any work
            var inv = CultureInfo.InvariantCulture;
            bool every = parse.GetValue(cases);
            output.WriteLine($"scratchnet check: every version of {(families.Count == 1 ? families[0].Family : "every family")} against the reference " +
                             $"(the cpu device, --kernels reference: each family's plain loops), same random inputs (seed {parse.GetValue(seed)})");
            int fw = Math.Max(6, families.Max(f => f.Family.Length));
            int vw = Math.Max(7, list.SelectMany(d => families.SelectMany(f => KernelCheck.VersionsOf(f, d, pinned))).Max(v => v.Name.Length));
            var sw = Stopwatch.StartNew();
            var all = new List<CheckResult>();
            var failedVersions = new List<string>();
            foreach (var d in list)
            {
                output.WriteLine();
                output.WriteLine($"== {d} ({Backends.Get(d, pinned).Description})");
                output.WriteLine($"{"family".PadRight(fw)} {"version".PadRight(vw)} {"op",-36} {"n",3} {(every ? "shape" : "worst shape"),-34} {"max abs err",11} {"tolerance",10}  result");
                foreach (var f in families)
                    foreach (var v in KernelCheck.VersionsOf(f, d, pinned))
                    {
                        var results = KernelCheck.Run(f, d, v, parse.GetValue(seed));
                        all.AddRange(results);
                        var groups = every ? results.Select(r => new[] { r }) : results.GroupBy(r => r.Op).Select(g => g.ToArray());
                        foreach (var g in groups)
                        {
                            var w = g.MaxBy(r => r.Ratio)!;
                            string verdict = g.All(r => r.Pass) ? "PASS" : $"FAIL{(g.Length > 1 ? $" {g.Count(r => !r.Pass)}/{g.Length}" : "")}";
                            output.WriteLine($"{f.Family.PadRight(fw)} {v.Name.PadRight(vw)} {w.Op,-36} {g.Length,3} {w.Shape,-34} {w.MaxAbsError.ToString("0.0e+0", inv),11} {w.Tolerance.ToString("0.0e+0", inv),10}  {verdict}");
                        }
                        var check = VersionCheck.Of(d, f.Family, v.Name, results);
                        if (!check.Pass) failedVersions.Add($"{f.Family} {v.Name} on {d} ({check.Verdict})");
                    }
            }
            int failed = all.Count(r => !r.Pass);
            output.WriteLine();
            output.WriteLine($"{all.Count - failed}/{all.Count} outputs passed on {string.Join(", ", list)} " +
                             $"({families.Count} {(families.Count == 1 ? "family" : "families")}) in {sw.Elapsed.TotalSeconds.ToString("F1", inv)} s");
            if (failedVersions.Count > 0) error.WriteLine($"check: {failed} of {all.Count} outputs failed: {string.Join("; ", failedVersions)}");
            return failedVersions.Count > 0 ? 1 : 0;
        });
        return cmd;
    }
}
