using System.Globalization;
using System.Net;
using System.Text;
using ScratchNet.io;
using ScratchNet.data;
using ScratchNet.Models.Training;
using ScratchNet.nn;

namespace ScratchNet.Cli.Report;

/// <summary>
/// Writes the pictures and the one-page report of a finished run into its folder:
/// loss.png, accuracy.png, predictions.png, gradcam.png, filters.png and report.html.
/// </summary>
public static class RunReport
{
    public static readonly string[] Files = ["metrics.csv", "metrics.json", "loss.png", "accuracy.png", "predictions.png", "gradcam.png", "filters.png", "report.html", Checkpoint.ModelFile, Checkpoint.StateFile];

    public static void Write(string dir, TrainOptions options, TrainResult result, ulong seed)
    {
        Plots.Curves(Path.Combine(dir, "loss.png"), result.History, result.StepLog, accuracy: false);
        Plots.Curves(Path.Combine(dir, "accuracy.png"), result.History, result.StepLog, accuracy: true);

        var data = result.Data;
        var model = result.Model;
        var gen = new Generator(seed + 99);
        var pick = gen.Permutation(data.Test.Count).Take(10).ToArray();
        var (images, c, h, w) = data.TestTransform.ApplyBatch(data.Test.Subset(pick).Images, pick.Length, data.Test.Channels, data.Test.Height, data.Test.Width, new Generator(0));
        int size = c * h * w;

        model.Eval();
        float[] probs;
        using (Tensor.NoGrad())
        using (var scope = new TensorScope())
            probs = F.Softmax(model.Forward(Tensor.FromArray(images, [pick.Length, c, h, w], result.Device))).ToArray();
        int classes = data.Classes.Count;
        var preds = new List<Pictures.Prediction>();
        for (int i = 0; i < pick.Length; i++)
        {
            var row = probs.AsSpan(i * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++) if (row[k] > row[best]) best = k;
            int truth = data.Test.Labels[pick[i]];
            preds.Add(new Pictures.Prediction(images.AsSpan(i * size, size).ToArray(), c, h, w, data.Classes[truth], data.Classes[best], row[best], best == truth));
        }
        Pictures.Predictions(Path.Combine(dir, "predictions.png"), preds);

        string? layer = null;
        if (GradCam.Leaves(model).Any(l => l.Module is Conv2d))
        {
            layer = GradCam.DefaultLayer(model);
            string layerName = $"{layer} ({GradCam.Leaves(model).First(l => l.Path == layer).Module.GetType().Name})";
            int n = Math.Min(5, pick.Length);
            using var scope = new TensorScope();
            var x = Tensor.FromArray(images.AsSpan(0, n * size).ToArray(), [n, c, h, w], result.Device);
            var cams = GradCam.Compute(model, x, layer);
            Pictures.GradCam(Path.Combine(dir, "gradcam.png"),
                cams.Select((r, i) => new Pictures.CamItem(preds[i].Image, c, h, w, r.Heatmap, $"pred: {data.Classes[r.TargetClass]}")).ToList(), layerName);
            var conv = (Conv2d)GradCam.Leaves(model).First(l => l.Module is Conv2d).Module;
            var wt = conv.Weight;
            Pictures.Filters(Path.Combine(dir, "filters.png"), wt.ToArray(), wt.Shape[0], wt.Shape[1], wt.Shape[2], wt.Shape[3]);
        }
        Html(dir, options, result, layer);
    }

    private static void Html(string dir, TrainOptions o, TrainResult r, string? camLayer)
    {
        string E(object? v) => WebUtility.HtmlEncode(Convert.ToString(v, CultureInfo.InvariantCulture) ?? "");
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append($$"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ScratchNet run: {{E(o.Model)}} on {{E(o.Data)}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 10px; text-align: right; }
th { background: #f3f3f3; } td.k { text-align: left; font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 16px; } img { max-width: 100%; border: 1px solid #eee; }
.big { font-size: 1.3em; }
</style></head><body>
<h1>ScratchNet training run: {{E(o.Model)}} on {{E(o.Data)}}</h1>
<p class="big">Test accuracy <b>{{r.TestAccuracy.ToString("P2", inv)}}</b>, test loss {{r.TestLoss.ToString("F4", inv)}}, after {{r.Steps}} steps on <b>{{E(r.Device.Name)}}</b> ({{E(r.Device.Backend.Description)}}).{{(r.StoppedByBudget ? " Training stopped at the step/time budget." : "")}}</p>
<h2>Settings</h2>
<table>
""");
        void Row(string k, object? v) => sb.Append($"<tr><td class=\"k\">{E(k)}</td><td>{E(v)}</td></tr>\n");
        Row("model", o.Model); Row("data", $"{o.Data} ({r.Data.Source}): {r.Data.Train.Count} train / {r.Data.Test.Count} test images, {r.Data.Classes.Count} classes");
        Row("input", string.Join("×", r.Data.InputShape)); Row("epochs", o.Epochs); Row("batch size", o.BatchSize);
        Row("optimizer", $"SGD lr {o.LearningRate.ToString(inv)}, momentum {o.Momentum.ToString(inv)}, weight decay {o.WeightDecay.ToString(inv)}");
        Row("lr schedule", o.LrStep > 0 ? $"StepLR every {o.LrStep} epochs × {o.LrGamma.ToString(inv)}" : "constant");
        Row("augmentation", o.Augment ? "random horizontal flip, rotation ±15°, translation ±10%; normalise 0.5/0.5" : "none; normalise 0.5/0.5");
        Row("budget", o.MaxSteps is int ms ? $"at most {ms} steps" + (o.TimeLimit is { } tl ? $", {tl.TotalMinutes:F1} min" : "") : o.TimeLimit is { } t2 ? $"{t2.TotalMinutes:F1} min" : "none");
        Row("seed", o.Seed); Row("parameters", r.Model.ParameterCount.ToString("N0", inv));
        sb.Append("</table>\n<h2>Curves</h2>\n<div class=\"row\"><img src=\"loss.png\" alt=\"loss\"><img src=\"accuracy.png\" alt=\"accuracy\"></div>\n");
        sb.Append("<h2>Per epoch</h2>\n<table><tr><th>epoch</th><th>steps</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val acc</th><th>lr</th><th>seconds</th><th>img/s</th></tr>\n");
        foreach (var m in r.History)
            sb.Append($"<tr><td>{m.Epoch}</td><td>{m.Steps}</td><td>{m.TrainLoss.ToString("F4", inv)}</td><td>{m.TrainAccuracy.ToString("P2", inv)}</td><td>{m.ValLoss.ToString("F4", inv)}</td><td>{m.ValAccuracy.ToString("P2", inv)}</td><td>{m.LearningRate.ToString("G4", inv)}</td><td>{m.Seconds.ToString("F1", inv)}</td><td>{m.ImagesPerSecond.ToString("F1", inv)}</td></tr>\n");
        sb.Append("</table>\n<h2>Predictions</h2>\n<img src=\"predictions.png\" alt=\"predictions\">\n");
        if (camLayer is not null)
        {
            sb.Append($"<h2>Grad-CAM ({E(camLayer)})</h2>\n<p>Where the evidence for the predicted class lies: ReLU(Σ<sub>k</sub> α<sub>k</sub>A<sub>k</sub>), α<sub>k</sub> = mean gradient of the class score over channel k of {E(camLayer)}.</p>\n<img src=\"gradcam.png\" alt=\"gradcam\">\n");
            sb.Append("<h2>First-layer filters</h2>\n<img src=\"filters.png\" alt=\"filters\">\n");
        }
        sb.Append($"<h2>Files</h2>\n<p>metrics.csv, metrics.json, {Checkpoint.ModelFile} (PyTorch state_dict names), {Checkpoint.StateFile} (for --resume).</p>\n</body></html>\n");
        AtomicFile.WriteAllText(Path.Combine(dir, "report.html"), sb.ToString());
    }
}
