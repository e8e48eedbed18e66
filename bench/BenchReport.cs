using System.Globalization;
using System.Text;
using ScottPlot;
using Spectre.Console;
using Alignment = ScottPlot.Alignment;
using Bar = ScottPlot.Bar;
using Color = ScottPlot.Color;
using Table = Spectre.Console.Table;

namespace ScratchNet.Bench;

/// <summary>The views of a <see cref="BenchResults"/>: console table, README Markdown, bench.png.</summary>
public static class BenchReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly string[] Headers = ["section", "item", "device", "ours", "unit", "warm-up s", "baseline", "baseline fig.", "ours/baseline", "vs cpu"];

    /// <summary>A figure with 3 significant digits or more: 1234, 56.7, 0.0123 (the simulator's figures are tiny).</summary>
    public static string F1(double v) => v.ToString(v >= 100 ? "F0" : v >= 1 ? "F1" : "G3", Inv);

    private static string[] Row(BenchResults r, BenchItem i)
    {
        double? vsCpu = r.CpuFigure(i) is double c && c > 0 ? i.Value / c : null;
        return
        [
            i.Section, i.Label, i.Device, F1(i.Value), i.Unit,
            i.WarmupSeconds is double w ? w.ToString("F3", Inv) : "",
            i.Baseline ?? "", i.BaselineValue is double b ? F1(b) : "",
            i.Ratio is double q ? q.ToString("F2", Inv) + "×" : "",
            vsCpu is double s ? s.ToString("F1", Inv) + "×" : "",
        ];
    }

    /// <summary>Plain-text table (aligned columns), for redirected output and tests.</summary>
    public static void WriteText(BenchResults r, TextWriter w)
    {
        var rows = r.Items.Select(i => Row(r, i)).ToList();
        int[] width = Headers.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(row => row[c].Length))).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((s, c) => c is 3 or 5 or 7 or 8 or 9 ? s.PadLeft(width[c]) : s.PadRight(width[c]))).TrimEnd();
        w.WriteLine(Line(Headers));
        w.WriteLine(string.Join("  ", width.Select(n => new string('-', n))));
        foreach (var row in rows) w.WriteLine(Line(row));
        foreach (var (k, v) in r.Baselines) w.WriteLine($"baseline {k}: {v}");
        foreach (var note in r.Notes) w.WriteLine($"note: {note}");
    }

    /// <summary>Spectre.Console table on an interactive console.</summary>
    public static void WriteConsole(BenchResults r)
    {
        var t = new Table().Border(TableBorder.Rounded).Title($"scratchnet bench — {Markup.Escape(r.Date)}");
        foreach (var (h, c) in Headers.Select((h, c) => (h, c)))
            t.AddColumn(c is 3 or 5 or 7 or 8 or 9 ? new TableColumn(h).RightAligned() : new TableColumn(h));
        foreach (var i in r.Items)
        {
            var row = Row(r, i).Select(Markup.Escape).ToArray();
            if (i.Ratio is double q) row[8] = q >= 1 ? $"[green]{row[8]}[/]" : $"[yellow]{row[8]}[/]";
            t.AddRow(row);
        }
        AnsiConsole.Write(t);
        foreach (var (k, v) in r.Baselines) AnsiConsole.WriteLine($"baseline {k}: {v}");
        foreach (var note in r.Notes) AnsiConsole.WriteLine($"note: {note}");
    }

    /// <summary>The README performance section, generated from bench.json.</summary>
    public static string Markdown(BenchResults r, string title = "Performance", int level = 2)
    {
        var sb = new StringBuilder();
        string h = new('#', Math.Clamp(level, 1, 5));
        sb.AppendLine($"{h} {title}");
        sb.AppendLine();
        sb.AppendLine($"Measured on {r.Date} with `{r.Command}` on {r.Machine} ({r.Cpu}, {r.Cores} logical cores, {r.Os}, {r.Runtime}).");
        sb.AppendLine();
        foreach (var (k, v) in r.Devices) sb.AppendLine($"- device `{k}`: {v}");
        foreach (var (k, v) in r.Baselines) sb.AppendLine($"- baseline {k}: {v}");
        sb.AppendLine();
        sb.AppendLine("Higher is better everywhere except peak memory (lower is better). Figures: the best of several timed rounds; a baseline " +
                      "is measured in the same rounds, alternating with ours (ours, baseline, ours, baseline...). GEMM: square N×N×N SGEMM, 2·N³ flops. Conv: the AlexNet-CIFAR layers and the seed CNN's two, through the entry points training calls, 2·N·O·C·KH·KW·OH·OW flops " +
                      "for each of forward, backward-data, backward-weights. Memory: bytes read + written. Train: forward + backward + " +
                      "SGD (lr 0.01, momentum 0.9, weight decay 5e-4); infer: forward only. Warm-up: the first call (JIT), not in the figure. " +
                      "GEMM versions: the ILGPU kernel steps of kernels/gemm (v1 … v5). Conv algorithms: ILGPU's two ways to run a conv " +
                      "(kernels/conv); on a GPU the Convolutions table shows the one Auto picked by timing both (its warm-up includes that), on the CPU simulator im2col. Peak memory: device bytes in use while training " +
                      "(ours: the caching allocator's peak; PyTorch: torch.cuda.max_memory_allocated).");
        string[] known = ["gemm", "gemm-v", "conv", "conv-alg", "memory", "train", "infer", "infer-ort", "peak"];
        string[] titles = ["GEMM", "GEMM kernel versions (ILGPU)", "Convolutions (AlexNet-CIFAR, seed CNN)", "Conv algorithms (ILGPU): chunked im2col + GEMM vs implicit GEMM",
                           "Memory-bound kernels", "Training", "Inference", "Inference against ONNX Runtime (the model as `Onnx.ToOnnx` exports it)", "Peak memory (training)"];
        // Then the sections of `bench --op` (one per family: every version, checked, then timed), in the order they ran.
        var sections = known.Where(k => r.Items.Any(i => i.Section == k))
            .Concat(r.Items.Select(i => i.Section).Where(k => !known.Contains(k)).Distinct()).ToList();
        foreach (var section in sections)
        {
            int t = Array.IndexOf(known, section);
            var items = r.Items.Where(i => i.Section == section).ToList();
            sb.AppendLine();
            sb.AppendLine($"{h}# {(t >= 0 ? titles[t] : $"{section}: every version (`scratchnet bench --op {section}`)")}");
            sb.AppendLine();
            sb.AppendLine("| item | device | ours | unit | warm-up s | baseline | baseline figure | ours/baseline | vs cpu |");
            sb.AppendLine("|---|---|--:|---|--:|---|--:|--:|--:|");
            foreach (var i in items)
            {
                var c = Row(r, i);
                sb.AppendLine($"| {c[1]} | {c[2]} | {c[3]} | {c[4]} | {c[5]} | {c[6]} | {c[7]} | {c[8]} | {c[9]} |");
            }
        }
        if (r.Checks.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"{h}# Checks against the reference (the cpu device, --kernels reference)");
            sb.AppendLine();
            foreach (var c in r.Checks) sb.AppendLine($"- {c.Device} {c.Family} {c.Version}: {c.Verdict}");
        }
        if (r.Notes.Count > 0)
        {
            sb.AppendLine();
            foreach (var n in r.Notes) sb.AppendLine($"- note: {n}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// bench.png: one bar per item that has a comparison, as a ratio (1 = parity, dashed line): ours / baseline
    /// (OpenBLAS, PyTorch) and device / cpu for the other devices. Without any comparison (no baseline, one device)
    /// it shows the figures themselves, one bar per item, log scale.
    /// </summary>
    public static void Png(BenchResults r, string path)
    {
        var bars = new List<(string Label, double Value, Color Color)>();
        foreach (var i in r.Items)
        {
            if (i.Section == "peak") continue;   // lower is better: a ratio bar would read the wrong way
            if (i.Ratio is double q) bars.Add(($"{i.Device} {i.Section} {i.Label} vs {ShortName(i.Baseline!)}", q, q >= 1 ? Colors.SeaGreen : Colors.Orange));
            if (r.CpuFigure(i) is double c && c > 0) bars.Add(($"{i.Device} {i.Section} {i.Label} vs cpu", i.Value / c, Colors.SteelBlue));
        }
        var plt = new Plot();
        bool ratios = bars.Count > 0;
        if (!ratios)
            bars = r.Items.Select(i => ($"{i.Device} {i.Label} ({i.Unit})", Math.Log10(Math.Max(i.Value, 1e-3)), Colors.SteelBlue)).ToList();
        var list = bars.Select((b, k) => new Bar { Position = k, Value = b.Value, FillColor = b.Color }).ToList();
        plt.Add.Bars(list);
        plt.Axes.Bottom.SetTicks(bars.Select((_, k) => (double)k).ToArray(), bars.Select(b => b.Label).ToArray());
        plt.Axes.Bottom.TickLabelStyle.Rotation = 60;
        plt.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plt.Axes.Bottom.TickLabelStyle.FontSize = 11;
        float longest = bars.Count == 0 ? 10 : bars.Max(b => b.Label.Length);
        plt.Axes.Bottom.MinimumSize = Math.Min(420, 8 + longest * 6);
        if (ratios)
        {
            var one = plt.Add.HorizontalLine(1);
            one.LinePattern = LinePattern.Dashed;
            one.Color = Colors.Black;
            plt.YLabel("ratio (higher = ours / device faster)");
            plt.Title($"scratchnet bench {r.Date}: green/orange ours ÷ baseline, blue device ÷ cpu");
        }
        else
        {
            plt.YLabel("log10(figure)");
            plt.Title($"scratchnet bench {r.Date}: figures (log10 of GFLOP/s, GB/s, img/s)");
        }
        plt.SavePng(path, Math.Max(900, 60 + bars.Count * 28), 760);
    }

    private static string ShortName(string baseline) =>
        baseline.StartsWith("PyTorch", StringComparison.Ordinal) ? (baseline.Contains("CUDA") ? "torch-cuda" : "torch") : baseline;
}
