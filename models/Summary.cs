using System.Text;
using ScratchNet.nn;

namespace ScratchNet.Models;

/// <summary>One layer of a summary: its module path, what it is, its output shape (batch dimension dropped) and parameters.</summary>
/// <param name="Name">The module path, e.g. features.0 (the class name for a model that is one layer).</param>
/// <param name="Layer">The module's description, the first line of its ToString(), e.g. Conv2d(1, 8, kernel_size=5).</param>
/// <param name="OutputShape">The layer's output shape for one sample.</param>
/// <param name="Weights">Elements of its parameters other than biases.</param>
/// <param name="Biases">Elements of its bias parameters.</param>
public sealed record SummaryRow(string Name, string Layer, int[] OutputShape, long Weights, long Biases)
{
    /// <summary>Weights + Biases.</summary>
    public long Parameters => Weights + Biases;
    /// <summary>The lecture's notation: H×W×C for feature maps, the size for vectors.</summary>
    public string Output => Summary.FormatShape(OutputShape);
}

/// <summary>A model's layer table; ToString() prints it.</summary>
public sealed class ModelSummary(string model, int[] inputShape, IReadOnlyList<SummaryRow> rows)
{
    /// <summary>The model's name, as the table's title prints it.</summary>
    public string Model { get; } = model;
    /// <summary>One sample's shape, without the batch dimension.</summary>
    public int[] InputShape { get; } = inputShape;
    /// <summary>The leaf layers in execution order.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; } = rows;
    /// <summary>Sum of every row's weights (parameters other than biases).</summary>
    public long TotalWeights => Rows.Sum(r => r.Weights);
    /// <summary>Sum of every row's biases.</summary>
    public long TotalBiases => Rows.Sum(r => r.Biases);
    /// <summary>All parameters: TotalWeights + TotalBiases.</summary>
    public long Total => TotalWeights + TotalBiases;

    /// <summary>The table: a title line with the input shape, one line per layer (name, layer, output in H×W×C, weights, biases;
    /// 0 left blank), the totals, and the total parameter count.</summary>
    public override string ToString()
    {
        int nw = Math.Max(5, Rows.Max(r => r.Name.Length));
        int lw = Math.Max(5, Rows.Max(r => r.Layer.Length));
        int ow = Math.Max(6, Rows.Max(r => r.Output.Length));
        var sb = new StringBuilder();
        sb.AppendLine($"{Model}: input {Summary.FormatShape(InputShape)}");
        string header = $"{"name".PadRight(nw)}  {"layer".PadRight(lw)}  {"output".PadRight(ow)}  {"weights",12}  {"biases",8}";
        sb.AppendLine(header);
        sb.AppendLine(new string('-', header.Length));
        foreach (var r in Rows)
            sb.AppendLine($"{r.Name.PadRight(nw)}  {r.Layer.PadRight(lw)}  {r.Output.PadRight(ow)}  {Count(r.Weights),12}  {Count(r.Biases),8}");
        sb.AppendLine(new string('-', header.Length));
        sb.AppendLine($"{"total".PadRight(nw)}  {"".PadRight(lw)}  {"".PadRight(ow)}  {TotalWeights,12:N0}  {TotalBiases,8:N0}");
        sb.Append($"total parameters: {Total:N0}");
        return sb.ToString();
    }

    private static string Count(long n) => n == 0 ? "" : n.ToString("N0");
}

/// <summary>
/// Runs a forward pass of a dummy batch (zeros, batch 1, no gradient, evaluation mode) through a model and records,
/// for every leaf layer in order, its output shape and its weights and biases. Sequential containers (and models
/// built on Sequential, like SeedCnn and AlexNet) are walked child by child; any other module is one row.
/// </summary>
public static class Summary
{
    /// <summary>The summary of the registered model <paramref name="modelName"/>, built with its registered input shape,
    /// <paramref name="classes"/> outputs (its default when null) and weights from Generator(0), on <paramref name="device"/>.</summary>
    public static ModelSummary Of(string modelName, Device? device = null, int? classes = null)
    {
        var info = ModelRegistry.Get(modelName);
        var model = info.Create(classes, new Generator(0), device);
        return Of(model, info.InputShape, info.Name);
    }

    /// <summary>Runs one zero sample through <paramref name="model"/> in eval mode without gradients and records each leaf
    /// layer; every module's training mode is restored afterwards.</summary>
    /// <param name="model">The model, on its device.</param>
    /// <param name="inputShape">One sample's shape without the batch dimension, e.g. [1, 28, 28].</param>
    /// <param name="name">The title of the table; the model's class name when null.</param>
    public static ModelSummary Of(Module model, int[] inputShape, string? name = null)
    {
        Check.Shape("Summary", inputShape);
        var modes = model.NamedModules().Select(m => (m.Module, m.Module.Training)).ToList();
        var rows = new List<SummaryRow>();
        try
        {
            model.Eval();
            using var scope = new TensorScope();
            using var noGrad = Tensor.NoGrad();
            var x = Tensor.Zeros([1, .. inputShape], model.Device);
            Walk(model, "", x, rows);
        }
        finally
        {
            foreach (var (m, training) in modes) m.Training = training;
        }
        return new ModelSummary(name ?? model.GetType().Name, inputShape, rows);
    }

    private static Tensor Walk(Module m, string path, Tensor x, List<SummaryRow> rows)
    {
        if (m is Sequential seq && seq.Count > 0)
        {
            foreach (var (name, child) in seq.NamedChildren())
                x = Walk(child, path.Length == 0 ? name : path + "." + name, x, rows);
            return x;
        }
        var y = m.Forward(x);
        long weights = 0, biases = 0;
        foreach (var (pname, p) in m.NamedParameters())
        {
            if (pname == "bias" || pname.EndsWith(".bias")) biases += p.Numel;
            else weights += p.Numel;
        }
        rows.Add(new SummaryRow(path.Length == 0 ? m.GetType().Name : path, m.ToString().Split('\n')[0], y.Shape[1..], weights, biases));
        return y;
    }

    /// <summary>[C, H, W] → "H×W×C" (the lecture's notation), [F] → "F", anything else → "[a, b, ...]".</summary>
    public static string FormatShape(int[] shape) => shape.Length switch
    {
        1 => shape[0].ToString(),
        3 => $"{shape[1]}×{shape[2]}×{shape[0]}",
        _ => Check.Fmt(shape),
    };
}
