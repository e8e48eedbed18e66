using System.Text;
using ScratchNet.onnx;

namespace ScratchNet.Tests;

/// <summary>
/// Graph-aware mutations of an ONNX file for <see cref="FuzzCase.Run"/>: the file is parsed, one thing in the graph is changed
/// (an attribute's type or value, an op, an edge that closes a cycle, a missing initializer, a huge or negative size, a tensor's
/// element type, the opset), and it is written back, so the case gets past the protobuf reader to the importer.
/// </summary>
public static class OnnxMutations
{
    /// <summary>Every graph mutation.</summary>
    public static Mutation[] All => [Graph(AttributeType), Graph(AttributeValue), Graph(OpType), Graph(Cycle), Graph(MissingInitializer),
                                     Graph(HugeDims), Graph(TensorType), Graph(Opset), Graph(DropNode), Graph(InputShape)];

    private static Mutation Graph(Action<Random, OnnxModel, StringBuilder> change) => (rng, d, log) =>
    {
        OnnxModel m;
        try { m = OnnxModel.Parse(d); } catch (Exception) { return d; }
        if (m.Graph.Nodes.Count == 0) return d;
        change(rng, m, log);
        return m.ToBytes();
    };

    private static readonly long[] Sizes = [0, -1, -7, 1L << 31, 1L << 40, long.MaxValue, long.MinValue, 3, 100_000];
    private static readonly string[] Ops = ["Conv", "Gemm", "MatMul", "Relu", "MaxPool", "AveragePool", "Flatten", "Reshape", "Shape", "Gather",
                                            "Concat", "Unsqueeze", "Constant", "Mul", "Erf", "BatchNormalization", "Loop", "If", "Selu", "Pad", "Dropout", ""];

    private static T Pick<T>(Random rng, IList<T> list) => list[rng.Next(list.Count)];

    private static void AttributeType(Random rng, OnnxModel m, StringBuilder log)
    {
        var n = Pick(rng, m.Graph.Nodes);
        if (n.Attributes.Count == 0) return;
        var name = Pick(rng, n.Attributes.Keys.ToList());
        n.Attributes[name] = rng.Next(4) switch
        {
            0 => OnnxAttribute.Float(name, 2.5f), 1 => OnnxAttribute.Int(name, Pick(rng, Sizes)), 2 => OnnxAttribute.Str(name, "SAME_UPPER"),
            _ => OnnxAttribute.IntList(name, Enumerable.Range(0, rng.Next(6)).Select(_ => Pick(rng, Sizes)).ToArray()),
        };
        log.Append($"onnx node {n.Name} attribute {name} retyped; ");
    }

    private static void AttributeValue(Random rng, OnnxModel m, StringBuilder log)
    {
        var n = Pick(rng, m.Graph.Nodes);
        if (n.Attributes.Count == 0) return;
        var a = Pick(rng, n.Attributes.Values.ToList());
        if (a.Ints.Count > 0) a.Ints[rng.Next(a.Ints.Count)] = Pick(rng, Sizes);
        else if (a.Type == OnnxAttribute.INT) a.I = Pick(rng, Sizes);
        else if (a.Type == OnnxAttribute.FLOAT) a.F = Pick(rng, new[] { float.NaN, float.PositiveInfinity, -1f, 0f, 1e30f });
        log.Append($"onnx node {n.Name} attribute {a.Name} changed; ");
    }

    private static void OpType(Random rng, OnnxModel m, StringBuilder log)
    {
        var n = Pick(rng, m.Graph.Nodes);
        n.OpType = Pick(rng, Ops);
        log.Append($"onnx node {n.Name} op → {n.OpType}; ");
    }

    private static void Cycle(Random rng, OnnxModel m, StringBuilder log)
    {
        int i = rng.Next(m.Graph.Nodes.Count), j = rng.Next(i, m.Graph.Nodes.Count);
        var n = m.Graph.Nodes[i];
        if (n.Inputs.Count == 0 || m.Graph.Nodes[j].Outputs.Count == 0) return;
        n.Inputs[rng.Next(n.Inputs.Count)] = m.Graph.Nodes[j].Outputs[0];
        log.Append($"onnx node {n.Name} reads node {j}'s output; ");
    }

    private static void MissingInitializer(Random rng, OnnxModel m, StringBuilder log)
    {
        if (m.Graph.Initializers.Count == 0) return;
        int k = rng.Next(m.Graph.Initializers.Count);
        log.Append($"onnx initializer {m.Graph.Initializers[k].Name} removed; ");
        m.Graph.Initializers.RemoveAt(k);
    }

    private static void HugeDims(Random rng, OnnxModel m, StringBuilder log)
    {
        if (m.Graph.Initializers.Count == 0) return;
        var t = Pick(rng, m.Graph.Initializers);
        var dims = t.Dims.ToArray();
        if (dims.Length == 0) return;
        dims[rng.Next(dims.Length)] = Pick(rng, Sizes);
        t.Dims = dims;   // the data no longer fits the dims (or the dims are absurd): written as is
        log.Append($"onnx initializer {t.Name} dims [{string.Join(", ", dims)}]; ");
    }

    private static void TensorType(Random rng, OnnxModel m, StringBuilder log)
    {
        if (m.Graph.Initializers.Count == 0) return;
        var t = Pick(rng, m.Graph.Initializers);
        t.DataType = Pick(rng, new[] { 0, 2, 6, 7, 10, 11, 16, 999 });
        log.Append($"onnx initializer {t.Name} data type {t.DataType}; ");
    }

    private static void Opset(Random rng, OnnxModel m, StringBuilder log)
    {
        m.Opsets[""] = Pick(rng, new long[] { 0, 7, 12, 13, 21, 22, -1, long.MaxValue });
        log.Append($"onnx opset {m.Opsets[""]}; ");
    }

    private static void DropNode(Random rng, OnnxModel m, StringBuilder log)
    {
        int k = rng.Next(m.Graph.Nodes.Count);
        log.Append($"onnx node {m.Graph.Nodes[k].Name} removed; ");
        m.Graph.Nodes.RemoveAt(k);
    }

    private static void InputShape(Random rng, OnnxModel m, StringBuilder log)
    {
        var i = m.Graph.Inputs[0];
        if (i.Shape is null) return;
        var s = i.Shape.ToArray();
        int k = rng.Next(s.Length + 1);
        if (k == s.Length) { i.Shape = rng.Next(2) == 0 ? null : [.. s, 4]; }
        else { s[k] = rng.Next(3) == 0 ? null : Pick(rng, Sizes); i.Shape = s; }
        i.Symbols = i.Shape?.Select(_ => (string?)null).ToArray();
        log.Append($"onnx input shape [{string.Join(", ", i.Shape ?? [])}]; ");
    }
}
