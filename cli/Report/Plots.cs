using ScottPlot;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Report;

/// <summary>loss.png and accuracy.png: train vs validation per epoch (ScottPlot).</summary>
public static class Plots
{
    /// <summary>
    /// x = optimizer step. Training: every step's batch value as a faint line and its moving average over 25
    /// steps; train and validation averages of each epoch as markers at the step where the epoch (or the budget)
    /// ended. A budget run that ends inside its first epoch still shows the whole learning curve.
    /// </summary>
    public static void Curves(string path, IReadOnlyList<EpochMetrics> history, IReadOnlyList<StepMetrics> steps, bool accuracy)
    {
        var plt = new Plot();
        if (steps.Count > 0)
        {
            double[] sx = steps.Select(s => (double)s.Step).ToArray();
            double[] sy = steps.Select(s => accuracy ? s.Accuracy : s.Loss).ToArray();
            var raw = plt.Add.ScatterLine(sx, sy, Colors.C0.WithAlpha(0.25));
            raw.LegendText = "train (batch)";
            const int window = 25;
            var avg = new double[sy.Length];
            double run = 0;
            for (int i = 0; i < sy.Length; i++)
            {
                run += sy[i];
                if (i >= window) run -= sy[i - window];
                avg[i] = run / Math.Min(i + 1, window);
            }
            var smooth = plt.Add.ScatterLine(sx, avg, Colors.C0);
            smooth.LineWidth = 2;
            smooth.LegendText = $"train (mean of {window} steps)";
        }
        var ends = history.Where(m => m.GlobalStep > 0).ToList();
        if (ends.Count > 0)
        {
            double[] ex = ends.Select(m => (double)m.GlobalStep).ToArray();
            var val = plt.Add.ScatterPoints(ex, ends.Select(m => accuracy ? m.ValAccuracy : m.ValLoss).ToArray(), Colors.C1);
            val.MarkerSize = 10;
            val.LegendText = "validation (end of epoch)";
            var tr = plt.Add.ScatterPoints(ex, ends.Select(m => accuracy ? m.TrainAccuracy : m.TrainLoss).ToArray(), Colors.C2);
            tr.MarkerSize = 8;
            tr.LegendText = "train (epoch mean)";
        }
        plt.Title(accuracy ? "Accuracy" : "Cross-entropy loss");
        plt.XLabel("step");
        plt.YLabel(accuracy ? "accuracy" : "loss");
        plt.ShowLegend(accuracy ? Alignment.LowerRight : Alignment.UpperRight);
        if (accuracy) plt.Axes.SetLimitsY(0, 1);
        plt.SavePng(path, 720, 440);
    }
}
