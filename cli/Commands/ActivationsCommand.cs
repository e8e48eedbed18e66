using System.CommandLine;
using ScottPlot;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet activations`: a PNG of step, sigmoid, tanh and ReLU (left) and their derivatives (right). Both curves
/// are computed by the engine on the chosen device: y = F.Op(x) on a grid, and dy/dx by autograd (y.Backward(1)).
/// </summary>
public sealed class ActivationsCommand : ICliCommand
{
    public int Order => 30;

    public Command Build()
    {
        var outFile = new Option<FileInfo>("--out", "-o") { Description = "PNG file to write", DefaultValueFactory = _ => new FileInfo("activations.png") };
        var device = CommonOptions.Device();
        var width = new Option<int>("--width") { Description = "Image width in pixels", DefaultValueFactory = _ => 1200 };
        var height = new Option<int>("--height") { Description = "Image height in pixels", DefaultValueFactory = _ => 500 };
        var cmd = new Command("activations", "Plot step, sigmoid, tanh and ReLU and their derivatives (computed by the engine and autograd) to a PNG")
        {
            outFile, device, width, height,
        };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var d = Device.Get(parse.GetValue(device)!);
            var path = parse.GetValue(outFile)!.FullName;
            int w = Check.Positive("activations", "--width", parse.GetValue(width));
            int h = Check.Positive("activations", "--height", parse.GetValue(height));
            if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"activations: --out must name a .png file, got '{path}'");
            var curves = Compute(d);
            Render(curves, path, w, h);
            output.WriteLine($"wrote {path} ({w}×{h}): step, sigmoid, tanh, ReLU and their derivatives on [−4, 4], computed on {d}");
            return 0;
        });
        return cmd;
    }

    /// <summary>One activation sampled on a grid: x, f(x), f'(x) (by autograd).</summary>
    public sealed record Curve(string Name, double[] X, double[] Y, double[] DyDx);

    /// <summary>Samples each activation and its autograd derivative on 401 points of [−4, 4].</summary>
    public static IReadOnlyList<Curve> Compute(Device device, int points = 401)
    {
        var xs = Enumerable.Range(0, points).Select(i => -4f + 8f * i / (points - 1)).ToArray();
        var ops = new (string Name, Func<Tensor, Tensor> Op)[]
        {
            ("step", F.Step), ("sigmoid", F.Sigmoid), ("tanh", F.Tanh), ("ReLU", F.Relu),
        };
        var curves = new List<Curve>();
        foreach (var (name, op) in ops)
        {
            using var scope = new TensorScope();
            var x = Tensor.FromArray(xs, device);
            x.RequiresGrad = true;
            var y = op(x);
            y.Backward(Tensor.Ones(y.Shape, device));   // x.Grad = dy/dx at every point (the ops are element-wise)
            curves.Add(new Curve(name, xs.Select(v => (double)v).ToArray(),
                                 y.ToArray().Select(v => (double)v).ToArray(),
                                 x.Grad!.ToArray().Select(v => (double)v).ToArray()));
        }
        return curves;
    }

    private static void Render(IReadOnlyList<Curve> curves, string path, int width, int height)
    {
        var multi = new Multiplot();
        multi.AddPlots(2);
        multi.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var (left, right) = (multi.GetPlot(0), multi.GetPlot(1));
        var colors = new[] { Colors.Black, Colors.C0, Colors.C1, Colors.C2 };
        for (int i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            var a = left.Add.ScatterLine(c.X, c.Y, colors[i]);
            a.LegendText = c.Name;
            a.LineWidth = 2;
            var b = right.Add.ScatterLine(c.X, c.DyDx, colors[i]);
            b.LegendText = c.Name == "step" ? "step (0; a Dirac δ at 0)" : c.Name;
            b.LineWidth = 2;
        }
        left.Title("Activations f(x)");
        right.Title("Derivatives f'(x) by autograd");
        foreach (var p in new[] { left, right })
        {
            p.XLabel("x");
            p.ShowLegend(Alignment.UpperLeft);
            p.Axes.SetLimits(-4, 4, -1.2, 1.5);
        }
        var dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        multi.SavePng(path, width, height);
    }
}
