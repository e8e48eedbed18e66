using System.Globalization;
using ScratchNet.io;
using ScratchNet.nn;

namespace ScratchNet.onnx;

// ONNX export and import (torch.onnx.export, and its inverse).
//
// Where things are: ProtoWire.cs (the protobuf wire format), OnnxModel.cs (the onnx.proto messages used, by field number),
// this file (Module → graph), OnnxImport.cs (graph → Module), OnnxConstants.cs (the shape arithmetic and elementwise
// sub-graphs exporters emit around layers).
//
// Why a hand-written protobuf: ScratchNet uses ~40 fields of 9 messages, and the wire format is four encodings (varint,
// fixed32, fixed64, length-delimited): the writer and reader are ~170 lines (ProtoWire.cs) and the messages ~430
// (OnnxModel.cs), readable next to onnx.proto's field numbers, against protoc's generated code for the whole schema plus the
// Google.Protobuf runtime as a second dependency of the engine package (it has one, ImageSharp). The reader checks every
// length against the bytes left and every tensor's size against its dims before allocating, so a fuzzed file is an error
// with a byte offset or a tensor name, never a crash or a huge allocation.
//
// The graph (opset 17, IR 8): input "input" [N, ...inputShape] with a symbolic batch dimension N, output "output" [N, ...].
// Each module becomes the nodes below, named "/" + its module path + "/" + the op (torch's naming: "/features.0/Conv"), and its
// parameters become initializers under their state-dict names (features.0.weight), so import gets the names back.
//
//   Conv2d            Conv (kernel_shape, strides, pads, dilations 1, group 1)      weight, bias
//   Linear            Gemm (transB = 1: y = x·Wᵀ + b)                               weight, bias
//   ReLU, Sigmoid, Tanh, LeakyReLU    Relu, Sigmoid, Tanh, LeakyRelu (alpha)
//   GELU              exact: 0.5·x·(1 + erf(x/√2)) as Div, Erf, Add, Mul, Mul (torch's form; Gelu is opset 20);
//                     tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) as Mul, Mul, Mul, Add, Mul, Tanh, Add, Mul, Mul
//   MaxPool2d, AvgPool2d              MaxPool, AveragePool (count_include_pad written out), ceil_mode
//   AdaptiveAvgPool2d GlobalAveragePool for 1×1; AveragePool when the input divides evenly (kernel = stride = in/out)
//   BatchNorm1d/2d    BatchNormalization (eval: running statistics; momentum_onnx = 1 − momentum_torch)
//   Flatten           Flatten (axis 1)
//   Dropout, Dropout2d  Dropout with its ratio (the identity at inference, training_mode false), kept so that import
//                     rebuilds the layer for fine-tuning
//   Identity          nothing
//   Softmax, LogSoftmax               Softmax, LogSoftmax (axis)
//   Sequential (any nesting, any subclass whose forward is its chain: checked on a random input)
//
// Normalisation is not folded into the graph: the input is what Module.Forward takes, already normalised, so ONNX Runtime,
// ScratchNet and a torch.onnx export of the same model agree on inputs and logits. What the run normalised with goes into
// metadata_props: scratchnet.normalize.mean / .std (per channel, JSON), with scratchnet.classes and scratchnet.input.

/// <summary>What <see cref="Onnx.Export(Module, int[], string, OnnxExportOptions?)"/> writes besides the graph.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>metadata_props of the model (e.g. scratchnet.classes, scratchnet.normalize.mean).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    /// <summary>The graph's name.</summary>
    public string GraphName { get; init; } = "scratchnet";
}

/// <summary>ONNX export and import of ScratchNet models (torch.onnx.export and its inverse). See the card in OnnxExport.cs.</summary>
public static partial class Onnx
{
    /// <summary>The opset exports use: 17, the newest torch 1.13 writes.</summary>
    public const int Opset = 17;
    /// <summary>The name of the graph's input.</summary>
    public const string InputName = "input";
    /// <summary>The name of the graph's output.</summary>
    public const string OutputName = "output";

    /// <summary>
    /// Writes <paramref name="model"/> as an ONNX file at <paramref name="path"/> (atomically), for inputs [N, ...<paramref name="inputShape"/>]
    /// with N dynamic. A module the exporter does not know is an ArgumentException naming it and its path in the model.
    /// </summary>
    public static void Export(Module model, int[] inputShape, string path, OnnxExportOptions? options = null)
    {
        var bytes = ToOnnx(model, inputShape, options).ToBytes();
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The ONNX model of <paramref name="model"/> for inputs [N, ...<paramref name="inputShape"/>] (see <see cref="Export"/>).</summary>
    public static OnnxModel ToOnnx(Module model, int[] inputShape, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (inputShape is null || inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentException($"onnx export: the input shape (without the batch) must be positive sizes, got [{string.Join(", ", inputShape ?? [])}]");
        options ??= new OnnxExportOptions();
        var training = model.NamedModules().Select(m => (m.Module, m.Module.Training)).ToList();
        model.Eval();
        try
        {
            var e = new Exporter();
            using (Tensor.NoGrad())
            {
                var x = Tensor.Uniform([1, .. inputShape], -1f, 1f, new Generator(7), model.Device);
                var (name, y) = e.Emit(model, "", InputName, x);
                var expected = model.Forward(x);
                CheckSame(expected, y);
                e.Rename(name, OutputName);
                var m = new OnnxModel { Producer = "ScratchNet", ProducerVersion = typeof(Onnx).Assembly.GetName().Version?.ToString(3) ?? "" };
                m.Opsets[""] = Opset;
                m.Graph.Name = options.GraphName;
                m.Graph.Nodes.AddRange(e.Nodes);
                m.Graph.Initializers.AddRange(e.Initializers);
                m.Graph.Inputs.Add(Info(InputName, inputShape));
                m.Graph.Outputs.Add(Info(OutputName, y.Shape[1..]));
                foreach (var (k, v) in options.Metadata ?? new Dictionary<string, string>()) m.Metadata.Add(new(k, v));
                return m;
            }
        }
        finally
        {
            foreach (var (m, t) in training) m.Training = t;
        }
    }

    private static OnnxValueInfo Info(string name, int[] shape) => new()
    {
        Name = name, ElemType = OnnxTensor.FLOAT,
        Shape = [null, .. shape.Select(d => (long?)d)], Symbols = ["N", .. shape.Select(_ => (string?)null)],
    };

    // A Sequential subclass whose Forward does more than its chain (a skip, a scale) would export wrong: the chain's output on a
    // random input must equal the model's.
    private static void CheckSame(Tensor expected, Tensor chain)
    {
        float[] a = expected.ToArray(), b = chain.ToArray();
        bool same = a.Length == b.Length && expected.Shape.SequenceEqual(chain.Shape);
        for (int i = 0; same && i < a.Length; i++) same = a[i] == b[i] || Math.Abs(a[i] - b[i]) <= 1e-5f * (1 + Math.Abs(a[i]));
        if (!same) throw new ArgumentException("onnx export: the model's Forward is not the chain of its layers (a Sequential subclass that adds to it?); export a model whose forward is its layers in order");
    }

    private sealed class Exporter
    {
        public readonly List<OnnxNode> Nodes = new();
        public readonly List<OnnxTensor> Initializers = new();
        private int _constants;

        // Emits the module at `path` applied to the value `input` (sample x, batch 1); returns the output value and sample.
        public (string Name, Tensor Sample) Emit(Module m, string path, string input, Tensor x)
        {
            if (m is Sequential seq)
            {
                foreach (var (name, child) in seq.NamedChildren())
                    (input, x) = Emit(child, path.Length == 0 ? name : path + "." + name, input, x);
                return (input, x);
            }
            Tensor y;
            try { y = m.Forward(x); }
            catch (ArgumentException e) { throw new ArgumentException($"onnx export: module '{Show(path)}' ({m.GetType().Name}) fails on its input {x.ShapeString}: {e.Message}", e); }
            string output = Layer(m, path, input, x, y);
            return (output, y);
        }

        private static string Show(string path) => path.Length == 0 ? "(the model)" : path;

        private string Layer(Module m, string path, string input, Tensor x, Tensor y)
        {
            string P(string p) => path.Length == 0 ? p : path + "." + p;
            switch (m)
            {
                case Conv2d c:
                    return Node("Conv", path, [input, Param(P("weight"), c.Weight), .. c.Bias is { } cb ? [Param(P("bias"), cb)] : Array.Empty<string>()],
                        OnnxAttribute.IntList("dilations", 1, 1), OnnxAttribute.Int("group", 1),
                        OnnxAttribute.IntList("kernel_shape", c.KernelSize, c.KernelSize),
                        OnnxAttribute.IntList("pads", c.Padding, c.Padding, c.Padding, c.Padding),
                        OnnxAttribute.IntList("strides", c.Stride, c.Stride));
                case Linear l:
                    return Node("Gemm", path, [input, Param(P("weight"), l.Weight), .. l.Bias is { } lb ? [Param(P("bias"), lb)] : Array.Empty<string>()],
                        OnnxAttribute.Float("alpha", 1f), OnnxAttribute.Float("beta", 1f), OnnxAttribute.Int("transB", 1));
                case ReLU: return Node("Relu", path, [input]);
                case Sigmoid: return Node("Sigmoid", path, [input]);
                case Tanh: return Node("Tanh", path, [input]);
                case LeakyReLU lr: return Node("LeakyRelu", path, [input], OnnxAttribute.Float("alpha", lr.NegativeSlope));
                case GELU g: return g.Approximate == "none" ? GeluExact(path, input) : GeluTanh(path, input);
                case MaxPool2d mp:
                    return Node("MaxPool", path, [input], OnnxAttribute.Int("ceil_mode", mp.CeilMode ? 1 : 0),
                        OnnxAttribute.IntList("kernel_shape", mp.KernelSize, mp.KernelSize),
                        OnnxAttribute.IntList("pads", mp.Padding, mp.Padding, mp.Padding, mp.Padding),
                        OnnxAttribute.IntList("strides", mp.Stride, mp.Stride));
                case AvgPool2d ap:
                    return Node("AveragePool", path, [input], OnnxAttribute.Int("ceil_mode", ap.CeilMode ? 1 : 0),
                        OnnxAttribute.Int("count_include_pad", ap.CountIncludePad ? 1 : 0),
                        OnnxAttribute.IntList("kernel_shape", ap.KernelSize, ap.KernelSize),
                        OnnxAttribute.IntList("pads", ap.Padding, ap.Padding, ap.Padding, ap.Padding),
                        OnnxAttribute.IntList("strides", ap.Stride, ap.Stride));
                case AdaptiveAvgPool2d aa:
                {
                    int h = x.Shape[2], w = x.Shape[3];
                    if (aa.OutputHeight == 1 && aa.OutputWidth == 1) return Node("GlobalAveragePool", path, [input]);
                    if (h % aa.OutputHeight != 0 || w % aa.OutputWidth != 0 || h / aa.OutputHeight != w / aa.OutputWidth)
                        throw new ArgumentException($"onnx export: module '{Show(path)}' (AdaptiveAvgPool2d) maps {h}×{w} to {aa.OutputHeight}×{aa.OutputWidth}, " +
                                                    "which is no square AveragePool; ONNX has no adaptive pooling (export at an input size that divides evenly)");
                    int k = h / aa.OutputHeight;
                    return Node("AveragePool", path, [input], OnnxAttribute.Int("ceil_mode", 0), OnnxAttribute.Int("count_include_pad", 1),
                        OnnxAttribute.IntList("kernel_shape", k, k), OnnxAttribute.IntList("pads", 0, 0, 0, 0), OnnxAttribute.IntList("strides", k, k));
                }
                case BatchNorm bn:
                {
                    if (!bn.TrackRunningStats)
                        throw new ArgumentException($"onnx export: module '{Show(path)}' ({bn.GetType().Name}) has no running statistics, so its evaluation uses each batch's: ONNX's BatchNormalization cannot");
                    string scale = bn.Weight is { } w ? Param(P("weight"), w) : Const(P("weight"), Enumerable.Repeat(1f, bn.NumFeatures).ToArray(), bn.NumFeatures);
                    string bias = bn.Bias is { } b ? Param(P("bias"), b) : Const(P("bias"), new float[bn.NumFeatures], bn.NumFeatures);
                    return Node("BatchNormalization", path, [input, scale, bias, Param(P("running_mean"), bn.RunningMean!), Param(P("running_var"), bn.RunningVar!)],
                        OnnxAttribute.Float("epsilon", bn.Eps), OnnxAttribute.Float("momentum", 1f - (bn.Momentum ?? 0.1f)));
                }
                case Flatten: return Node("Flatten", path, [input], OnnxAttribute.Int("axis", 1));
                case Dropout d: return Node("Dropout", path, [input, ConstNode(path, d.P)]);
                case Dropout2d d2: return Node("Dropout", path, [input, ConstNode(path, d2.P)]);
                case Identity: return input;
                case Softmax s: return Node("Softmax", path, [input], OnnxAttribute.Int("axis", s.Dim));
                case LogSoftmax ls: return Node("LogSoftmax", path, [input], OnnxAttribute.Int("axis", ls.Dim));
                default:
                    throw new ArgumentException($"onnx export: module '{Show(path)}' ({m.GetType().Name}) is not supported; the exporter knows Sequential, Conv2d, Linear, " +
                                                "ReLU, Sigmoid, Tanh, LeakyReLU, GELU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Flatten, Dropout, " +
                                                "Dropout2d, Identity, Softmax, LogSoftmax");
            }
        }

        // x/√2 → erf → +1 → ·x → ·½, as torch.onnx writes nn.GELU().
        private string GeluExact(string path, string x)
        {
            string a = Node("Div", path, [x, ConstNode(path, MathF.Sqrt(2f))]);
            string b = Node("Erf", path, [a]);
            string c = Node("Add", path, [b, ConstNode(path, 1f)]);
            string d = Node("Mul", path, [x, c]);
            return Node("Mul", path, [d, ConstNode(path, 0.5f)]);
        }

        private string GeluTanh(string path, string x)
        {
            string x2 = Node("Mul", path, [x, x]);
            string x3 = Node("Mul", path, [x2, x]);
            string a = Node("Mul", path, [x3, ConstNode(path, 0.044715f)]);
            string b = Node("Add", path, [x, a]);
            string c = Node("Mul", path, [b, ConstNode(path, MathF.Sqrt(2f / MathF.PI))]);
            string t = Node("Tanh", path, [c]);
            string e = Node("Add", path, [t, ConstNode(path, 1f)]);
            string f = Node("Mul", path, [x, e]);
            return Node("Mul", path, [f, ConstNode(path, 0.5f)]);
        }

        private readonly Dictionary<string, int> _opCount = new();

        private string Node(string op, string path, string[] inputs, params OnnxAttribute[] attributes)
        {
            string scope = path.Length == 0 ? "/" : "/" + path + "/";
            int k = _opCount.TryGetValue(scope + op, out int c) ? c : 0;
            _opCount[scope + op] = k + 1;
            string name = scope + op + (k == 0 ? "" : "_" + k.ToString(CultureInfo.InvariantCulture));
            var n = new OnnxNode { Name = name, OpType = op };
            n.Inputs.AddRange(inputs);
            n.Outputs.Add(name + "_output_0");
            foreach (var a in attributes) n.Attributes[a.Name] = a;
            Nodes.Add(n);
            return n.Outputs[0];
        }

        // A scalar float as a Constant node (kept out of the initializers, which are the state dict).
        private string ConstNode(string path, float value)
        {
            string scope = path.Length == 0 ? "/" : "/" + path + "/";
            string name = scope + "Constant_" + (_constants++).ToString(CultureInfo.InvariantCulture);
            var n = new OnnxNode { Name = name, OpType = "Constant" };
            n.Outputs.Add(name + "_output_0");
            n.Attributes["value"] = OnnxAttribute.Tensor("value", OnnxTensor.FromFloats("", [value]));
            Nodes.Add(n);
            return n.Outputs[0];
        }

        private string Param(string name, Tensor t)
        {
            Initializers.Add(OnnxTensor.FromFloats(name, t.ToArray(), t.Shape.Select(d => (long)d).ToArray()));
            return name;
        }

        private string Const(string name, float[] values, params long[] dims)
        {
            Initializers.Add(OnnxTensor.FromFloats(name, values, dims));
            return name;
        }

        // The last node's output becomes the graph's output name (an Identity when the model is empty or ends in Identity).
        public void Rename(string from, string to)
        {
            var last = Nodes.LastOrDefault(n => n.Outputs.Contains(from));
            if (last is null) { var n = new OnnxNode { Name = "/Identity", OpType = "Identity" }; n.Inputs.Add(from); n.Outputs.Add(to); Nodes.Add(n); return; }
            last.Outputs[last.Outputs.IndexOf(from)] = to;
            foreach (var n in Nodes) for (int i = 0; i < n.Inputs.Count; i++) if (n.Inputs[i] == from) n.Inputs[i] = to;
        }
    }
}
