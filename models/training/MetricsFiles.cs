using System.Globalization;
using System.Text;
using System.Text.Json;
using ScratchNet.io;

namespace ScratchNet.Models.Training;

/// <summary>
/// metrics.csv and metrics.json of a run, rewritten whole after every epoch, each atomically (<see cref="AtomicFile"/>).
/// A value the format cannot hold never reaches it: JSON has no NaN or Infinity, so a diverged loss is written as
/// null there; CSV writes "NaN", "Infinity" and "-Infinity", which pandas and spreadsheets read back as floats.
/// </summary>
public static class MetricsFiles
{
    /// <summary>The file names in the run folder.</summary>
    public const string Csv = "metrics.csv", Json = "metrics.json";

    /// <summary>Writes both files from the run's history (one row per epoch).</summary>
    public static void Write(string dir, IReadOnlyList<EpochMetrics> history)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("epoch,steps,train_loss,train_acc,val_loss,val_acc,lr,seconds,img_per_s\n");
        foreach (var m in history)
            csv.AppendLine(string.Join(",", m.Epoch.ToString(inv), m.Steps.ToString(inv), m.TrainLoss.ToString("G6", inv), m.TrainAccuracy.ToString("G6", inv),
                m.ValLoss.ToString("G6", inv), m.ValAccuracy.ToString("G6", inv), m.LearningRate.ToString("G6", inv), m.Seconds.ToString("F2", inv), m.ImagesPerSecond.ToString("F1", inv)));
        AtomicFile.WriteAllText(Path.Combine(dir, Csv), csv.ToString());
        var json = JsonSerializer.Serialize(history.Select(m => new Dictionary<string, object?>
        {
            ["epoch"] = m.Epoch, ["steps"] = m.Steps, ["train_loss"] = Finite(m.TrainLoss), ["train_acc"] = Finite(m.TrainAccuracy),
            ["val_loss"] = Finite(m.ValLoss), ["val_acc"] = Finite(m.ValAccuracy), ["lr"] = Finite(m.LearningRate),
            ["seconds"] = Finite(Math.Round(m.Seconds, 2)), ["img_per_s"] = Finite(Math.Round(m.ImagesPerSecond, 1)),
        }), new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.WriteAllText(Path.Combine(dir, Json), json);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
