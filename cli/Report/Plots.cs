using ScottPlot;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Report;

/// <summary>loss.png and accuracy.png: train vs validation per epoch (ScottPlot).</summary>
public static class Plots
{
    public static void Curves(string path, IReadOnlyList<EpochMetrics> history, bool accuracy)
    {
        var plt = new Plot();
        double[] x = history.Select(m => (double)m.Epoch).ToArray();
        var train = plt.Add.Scatter(x, history.Select(m => accuracy ? m.TrainAccuracy : m.TrainLoss).ToArray(), Colors.C0);
        train.LegendText = "train";
        var val = plt.Add.Scatter(x, history.Select(m => accuracy ? m.ValAccuracy : m.ValLoss).ToArray(), Colors.C1);
        val.LegendText = "validation";
        plt.Title(accuracy ? "Accuracy" : "Cross-entropy loss");
        plt.XLabel("epoch");
        plt.YLabel(accuracy ? "accuracy" : "loss");
        plt.ShowLegend(accuracy ? Alignment.LowerRight : Alignment.UpperRight);
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (accuracy) plt.Axes.SetLimitsY(0, 1);
        if (history.Count == 1) plt.Axes.SetLimitsX(0, 2);
        plt.SavePng(path, 640, 420);
    }
}
