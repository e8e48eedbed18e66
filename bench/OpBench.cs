using System.Globalization;
using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// `scratchnet bench --op FAMILY`, the `main` of an llm.c dev/cuda file: every version of one op on each device, each first
/// CHECKED against the reference (the cpu device with Kernels = Reference, same random inputs: <see cref="KernelCheck"/>) and
/// then TIMED on the op's bench cases, in GFLOP/s or GB/s, with the baseline of the case in alternating rounds (OpenBLAS for
/// the cpu's GEMM, torch.mm for cuda's). Prints a table per version and a summary of every version side by side; the items
/// (section = family, with version and check) go to bench.json like the full bench's.
/// </summary>
public sealed class OpBench(BenchOptions o, TextWriter log)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Checks and times every version of <paramref name="op"/> on the options' devices.</summary>
    public BenchResults Run(KernelOp op, string command, ulong seed = 1)
    {
        var r = BenchRunner.NewResults(command);
        if (o.Baselines && o.Devices.Contains("cpu")) OpenBlas.Load(o.OpenBlasCore);
        TorchServer? torch = null;
        bool torchTried = false;
        TorchServer? Torch()
        {
            if (!torchTried && o.Baselines && !o.Tiny)
            {
                torchTried = true;
                torch = TorchServer.Start("cuda", r.Notes, log);
                if (torch is not null) r.Baselines["torch-cuda"] = torch.Description;
            }
            return torch;
        }
        try
        {
            foreach (var device in o.Devices)
            {
                var versions = KernelCheck.VersionsOf(op, device, o.Pinned);
                foreach (var v in versions) Backends.Get(device, v.Options);   // a version the device refuses is an error before any work
                r.Devices[device] = Backends.Get(device, o.Pinned).Description;
                var sources = new BaselineSources(OpenBlas: o.Baselines && device == "cpu", Torch: device == "cuda" ? Torch : null);
                var cases = op.BenchCases(o.Scale(device)).ToList();
                log.WriteLine($"== {op.Family} on {device} ({r.Devices[device]}): {versions.Count} versions, {cases.Count} cases, best of {o.Rounds} rounds");
                foreach (var version in versions)
                    RunVersion(op, device, version, cases, sources, seed, r);
                Summary(op, device, versions, cases, r);
            }
        }
        finally
        {
            torch?.Dispose();
        }
        if (r.Items.Any(i => i.Baseline == "OpenBLAS")) r.Baselines["openblas"] = OpenBlas.Description;
        return r;
    }

    private void RunVersion(KernelOp op, string device, OpVersion version, List<BenchCase> cases, BaselineSources sources, ulong seed, BenchResults r)
    {
        var check = VersionCheck.Of(device, op.Family, version.Name, KernelCheck.Run(op, device, version, seed));
        r.Checks.Add(check);
        log.WriteLine();
        log.WriteLine($"-- {op.Family} {version.Name} on {device}: {version.Description}");
        log.WriteLine($"   check against the reference: {check.Verdict}{Worst(check)}");
        var be = Backends.Get(device, version.Options);
        bool baselines = sources.OpenBlas || sources.Torch is not null;
        log.WriteLine($"   {"case",-34} {"best",9} {"median",9} {"unit",-7} {"warm-up s",9}{(baselines ? "  baseline (best, median): ours/baseline" : "")}");
        foreach (var c in cases)
        {
            if (version.PlainLoops && c.Work > o.PlainLoopsWork)
            {
                string g = c.Unit == BenchCase.Flops ? "GFLOP" : "GB";
                log.WriteLine($"   {c.Name,-34} {"-",9} {"-",9} {c.Unit,-7} {"",9}  not timed: {(c.Work / 1e9).ToString("F1", Inv)} {g} a call, the plain loops run about 1 {g}/s");
                continue;
            }
            var (m, baseline) = Measure(c, be, sources, o.Timing);
            var item = new BenchItem(op.Family, c.Name, device, c.Unit, m.Best, m.WarmSeconds, m.TheirBest is null ? null : baseline, m.TheirBest,
                version.Name, check.Verdict, m.Median, m.TheirMedian);
            r.Items.Add(item);
            string theirs = m.TheirBest is double tb
                ? $"  {baseline} {BenchReport.F1(tb)}, {BenchReport.F1(m.TheirMedian!.Value)}: {item.Ratio!.Value.ToString("F2", Inv)}×"
                : "";
            log.WriteLine($"   {c.Name,-34} {BenchReport.F1(m.Best),9} {BenchReport.F1(m.Median),9} {c.Unit,-7} {m.WarmSeconds.ToString("F3", Inv),9}{theirs}");
        }
        be.EmptyCache();
    }

    private static string Worst(VersionCheck c) => c.Worst is not { } w ? "" :
        $" (worst: {w.Op} {w.Shape}: max abs err {w.MaxAbsError.ToString("0.0e+0", Inv)}, tolerance {w.Tolerance.ToString("0.0e+0", Inv)})";

    /// <summary>Every version side by side on one device: a column per version, its check, then the best figure of each case.</summary>
    private void Summary(KernelOp op, string device, IReadOnlyList<OpVersion> versions, List<BenchCase> cases, BenchResults r)
    {
        var items = r.Items.Where(i => i.Device == device && i.Section == op.Family).ToList();
        // The baseline's column: its best round over the rounds it ran against every version.
        string? baseline = items.FirstOrDefault(i => i.Baseline is not null)?.Baseline;
        var header = new List<string> { $"{op.Family} on {device}" };
        header.AddRange(versions.Select(v => v.Name));
        if (baseline is not null) header.Add(baseline);
        var rows = new List<List<string>> { header };
        var checkRow = new List<string> { "check" };
        checkRow.AddRange(versions.Select(v => r.Checks.LastOrDefault(c => c.Device == device && c.Family == op.Family && c.Version == v.Name)?.Verdict ?? "-"));
        if (baseline is not null) checkRow.Add("");
        rows.Add(checkRow);
        foreach (var c in cases)
        {
            var row = new List<string> { $"{c.Name} ({c.Unit})" };
            row.AddRange(versions.Select(v => items.LastOrDefault(i => i.Name == c.Name && i.Version == v.Name) is { } i ? BenchReport.F1(i.Value) : "-"));
            if (baseline is not null)
                row.Add(items.Where(i => i.Name == c.Name && i.BaselineValue is not null).Select(i => i.BaselineValue!.Value).DefaultIfEmpty().Max() is var b and > 0
                    ? BenchReport.F1(b) : "-");
            rows.Add(row);
        }
        int[] width = [.. Enumerable.Range(0, header.Count).Select(k => rows.Max(row => row[k].Length))];
        log.WriteLine();
        foreach (var row in rows)
            log.WriteLine(string.Join("  ", row.Select((cell, k) => k == 0 ? cell.PadRight(width[k]) : cell.PadLeft(width[k]))).TrimEnd());
        log.WriteLine();
    }

    /// <summary>Sets up one case on a device and times it, alternating with its baseline's rounds when it has one: the figures and
    /// the baseline's name.</summary>
    public static (Measured Figures, string? Baseline) Measure(BenchCase c, IBackend be, BaselineSources sources, Timing timing)
    {
        using var arena = new BenchArena(be, new Random(1), sources);
        var prepared = c.Setup(arena);
        // OpenBLAS runs on the cores ours runs on: each side's round waits for the other's threads to go idle.
        bool settle = be.Name == "cpu" && prepared.Baseline?.Call is not null;
        var m = timing.Measure(prepared.Run, be.Synchronize, c.Work, prepared.Baseline, settle);
        return (m, prepared.Baseline?.Name);
    }
}
