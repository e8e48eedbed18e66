using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ScratchNet.Models.Training;

/// <summary>metrics.csv and metrics.json of a run (rewritten whole after every epoch, atomically).</summary>
public static class MetricsFiles
{
    public const string Csv = "metrics.csv", Json = "metrics.json";

    public static void Write(string dir, IReadOnlyList<EpochMetrics> history)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("epoch,steps,train_loss,train_acc,val_loss,val_acc,lr,seconds,img_per_s\n");
        foreach (var m in history)
            csv.AppendLine(string.Join(",", m.Epoch.ToString(inv), m.Steps.ToString(inv), m.TrainLoss.ToString("G6", inv), m.TrainAccuracy.ToString("G6", inv),
                m.ValLoss.ToString("G6", inv), m.ValAccuracy.ToString("G6", inv), m.LearningRate.ToString("G6", inv), m.Seconds.ToString("F2", inv), m.ImagesPerSecond.ToString("F1", inv)));
        AtomicFile.WriteAllText(Path.Combine(dir, Csv), csv.ToString());
        var json = JsonSerializer.Serialize(history.Select(m => new Dictionary<string, object>
        {
            ["epoch"] = m.Epoch, ["steps"] = m.Steps, ["train_loss"] = Finite(m.TrainLoss), ["train_acc"] = Finite(m.TrainAccuracy),
            ["val_loss"] = Finite(m.ValLoss), ["val_acc"] = Finite(m.ValAccuracy), ["lr"] = m.LearningRate,
            ["seconds"] = Math.Round(m.Seconds, 2), ["img_per_s"] = Math.Round(m.ImagesPerSecond, 1),
        }), new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.WriteAllText(Path.Combine(dir, Json), json);
    }

    private static object Finite(double v) => double.IsFinite(v) ? v : "NaN";
}

/// <summary>Writes through a temporary file in the same folder and renames it over the target, so a crash never leaves half a file.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
