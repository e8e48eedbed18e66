using System.Globalization;
using ScratchNet.data;
using ScratchNet.nn;

namespace ScratchNet.onnx;

/// <summary>A model read from an ONNX file by <see cref="Onnx.Import(string, Device?)"/>.</summary>
/// <param name="Model">The layers as a Sequential (nested as the node and parameter names say), in eval mode.</param>
/// <param name="InputShape">One sample's shape, without the batch dimension.</param>
/// <param name="Metadata">The file's metadata_props.</param>
/// <param name="Opset">The default domain's opset the file declares.</param>
/// <param name="Producer">producer_name (e.g. "pytorch", "ScratchNet").</param>
public sealed record OnnxImported(Sequential Model, int[] InputShape, IReadOnlyDictionary<string, string> Metadata, long Opset, string Producer);

public static partial class Onnx
{
    /// <summary>The opsets of the default domain import accepts (Softmax's axis semantics are those of opset 13 on).</summary>
    public const int MinImportOpset = 13, MaxImportOpset = 21;
    /// <summary>One input sample may have at most this many elements (a 2048×2048 RGB image); larger claims are refused before allocation.</summary>
    public const long MaxSampleElements = 3L * 2048 * 2048;

    /// <summary>
    /// Reads the ONNX file at <paramref name="path"/> as a ScratchNet model on <paramref name="device"/> (cpu when null). The graph
    /// must be a chain of the layers the exporter writes (see the card in OnnxExport.cs), in the forms torch.onnx writes them too:
    /// Conv, Gemm (either transB) or MatMul + Add, BatchNormalization, Relu, Sigmoid, Tanh, LeakyRelu, Gelu or its erf/tanh
    /// sub-graph, MaxPool, AveragePool, GlobalAveragePool, Flatten or a Reshape to [N, features] (also through Shape, Gather,
    /// Unsqueeze, Concat), Dropout, Identity, Softmax, LogSoftmax. Anything else, and any malformed file, is a
    /// <see cref="DataFormatException"/> naming the file and, where there is one, the node and its op.
    /// </summary>
    public static OnnxImported Import(string path, Device? device = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ONNX file", path);
        if (new FileInfo(path).Length > int.MaxValue)
            throw new DataFormatException(path, "is larger than 2 GiB; ONNX files that size keep their weights as external data, which is not supported");
        return Import(File.ReadAllBytes(path), path, device);
    }

    /// <summary>Reads an ONNX model from <paramref name="bytes"/>; <paramref name="path"/> names it in errors.</summary>
    public static OnnxImported Import(byte[] bytes, string path, Device? device = null)
    {
        OnnxModel model;
        try { model = OnnxModel.Parse(bytes); }
        catch (ProtoException e) { throw new DataFormatException(path, "not a valid ONNX (protobuf) file: " + e.Message, e.Offset); }
        catch (FormatException e) { throw new DataFormatException(path, e.Message); }
        return new Importer(path, model, device ?? Device.Cpu).Run();
    }

    private sealed partial class Importer(string path, OnnxModel model, Device device)
    {
        private readonly OnnxGraph _g = model.Graph;
        private readonly Dictionary<string, OnnxTensor> _inits = new();
        private readonly Dictionary<string, OnnxNode> _producer = new();
        private readonly Dictionary<string, List<OnnxNode>> _consumers = new();
        private readonly HashSet<OnnxNode> _done = new();
        private readonly HashSet<string> _act = new();                 // values computed from the input (not constants)
        private readonly Dictionary<string, int[]> _shape = new();     // their shapes at batch 1
        private readonly List<(string? Path, string Auto, Module Module)> _layers = new();
        private string _current = "";
        private Tensor _sample = null!;
        private string _input = "";

        private DataFormatException Bad(string problem) => new(path, problem);
        private DataFormatException Bad(OnnxNode n, string problem) =>
            new(path, $"node '{(n.Name.Length > 0 ? n.Name : $"#{_g.Nodes.IndexOf(n)}, unnamed")}' ({n.OpType}): {problem}");

        public OnnxImported Run()
        {
            long opset = model.Opsets.TryGetValue("", out long v) ? v : model.Opsets.TryGetValue("ai.onnx", out long v2) ? v2 : -1;
            if (opset < MinImportOpset || opset > MaxImportOpset)
                throw Bad(opset < 0 ? "declares no opset of the default domain" : $"opset {opset}: ScratchNet imports opsets {MinImportOpset} to {MaxImportOpset} (re-export with opset_version=17)");
            foreach (var t in _g.Initializers)
                if (!_inits.TryAdd(t.Name, t)) throw Bad($"initializer '{t.Name}' is defined twice");
            var inputs = _g.Inputs.Where(i => !_inits.ContainsKey(i.Name)).ToList();
            if (inputs.Count != 1) throw Bad($"the graph has {inputs.Count} inputs besides its initializers ({string.Join(", ", inputs.Select(i => i.Name))}); ScratchNet imports models with one input");
            if (_g.Outputs.Count != 1) throw Bad($"the graph has {_g.Outputs.Count} outputs; ScratchNet imports models with one output");
            int[] inputShape = InputShape(inputs[0]);
            _input = _current = inputs[0].Name;
            _act.Add(_input);
            var order = TopologicalOrder();
            using (Tensor.NoGrad())
            {
                _sample = Tensor.Zeros([1, .. inputShape], device);
                _shape[_input] = _sample.Shape;
                foreach (var n in order)
                {
                    if (_done.Contains(n)) continue;
                    if (!n.Inputs.Any(_act.Contains) || n.OpType == "Shape") continue;   // a constant: evaluated where it is used
                    try { Layer(n); }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException or IndexOutOfRangeException or FormatException)
                    {
                        throw Bad(n, e.Message);
                    }
                }
            }
            string output = _g.Outputs[0].Name;
            if (output != _current)
                throw Bad($"the graph's output '{output}' is not the end of the chain of layers ('{_current}'); ScratchNet imports chains of layers");
            var seq = BuildTree();
            seq.Eval();
            var meta = new Dictionary<string, string>();
            foreach (var (k, val) in model.Metadata) meta[k] = val;
            return new OnnxImported(seq, inputShape, meta, opset, model.Producer);
        }

        private int[] InputShape(OnnxValueInfo input)
        {
            string what = $"input '{input.Name}'";
            if (input.ElemType != OnnxTensor.FLOAT) throw Bad($"{what} has element type {input.ElemType}; ScratchNet imports float32 (1) inputs");
            if (input.Shape is not { Length: >= 2 } s) throw Bad($"{what} has {(input.Shape is null ? "no shape" : $"rank {input.Shape.Length}")}; expected [N, features] or [N, C, H, W]");
            long numel = 1;
            var dims = new int[s.Length - 1];
            for (int i = 1; i < s.Length; i++)
            {
                if (s[i] is not { } d || d <= 0) throw Bad($"{what}: dimension {i} is {(s[i] is null ? "symbolic" : s[i]!.Value.ToString(CultureInfo.InvariantCulture))}; every dimension but the batch must be a positive size");
                if (d > MaxSampleElements || (numel *= d) > MaxSampleElements)
                    throw Bad($"{what}: one sample of [{string.Join(", ", s.Skip(1))}] exceeds {MaxSampleElements} elements");
                dims[i - 1] = (int)d;
            }
            return dims;
        }

        // Kahn's algorithm over the values: every input must come from an initializer, the graph input or some node; what is left
        // when no node is ready is a cycle.
        private List<OnnxNode> TopologicalOrder()
        {
            var known = new HashSet<string>(_inits.Keys) { _input };
            foreach (var n in _g.Nodes)
            {
                if (n.Domain is not ("" or "ai.onnx")) throw Bad(n, $"domain '{n.Domain}' is not the standard one; ScratchNet imports ai.onnx operators");
                foreach (var o in n.Outputs.Where(o => o.Length > 0))
                    if (known.Contains(o) || !_producer.TryAdd(o, n)) throw Bad(n, $"output '{o}' is also {(known.Contains(o) ? "an initializer or the input" : $"the output of node '{_producer[o].Name}'")}");
            }
            var pending = new Dictionary<OnnxNode, int>();
            foreach (var n in _g.Nodes)
            {
                int count = 0;
                foreach (var i in n.Inputs.Where(i => i.Length > 0).Distinct())
                {
                    if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = new();
                    list.Add(n);
                    if (_producer.ContainsKey(i)) count++;
                    else if (!known.Contains(i)) throw Bad(n, $"input '{i}' is no initializer, graph input or node output (a missing initializer?)");
                }
                pending[n] = count;
            }
            var ready = new Queue<OnnxNode>(_g.Nodes.Where(n => pending[n] == 0));
            var order = new List<OnnxNode>(_g.Nodes.Count);
            while (ready.Count > 0)
            {
                var n = ready.Dequeue();
                order.Add(n);
                foreach (var o in n.Outputs.Where(o => o.Length > 0))
                    foreach (var c in _consumers.GetValueOrDefault(o) ?? [])
                        if (--pending[c] == 0) ready.Enqueue(c);
            }
            if (order.Count < _g.Nodes.Count)
            {
                var stuck = _g.Nodes.First(n => pending[n] > 0);
                throw Bad(stuck, "is part of a cycle (its inputs depend on its own output)");
            }
            // Which values depend on the input.
            foreach (var n in order)
                if (n.OpType != "Shape" && n.Inputs.Any(_act.Contains))
                    foreach (var o in n.Outputs) _act.Add(o);
            return order;
        }

        // The nodes that read a value; a Shape node reads only its shape, which is known, so it does not count as a branch.
        private List<OnnxNode> Consumers(string value) =>
            _consumers.TryGetValue(value, out var l) ? l.Where(n => n.OpType != "Shape").ToList() : [];

        private void Layer(OnnxNode n)
        {
            var acts = n.Inputs.Where(_act.Contains).Distinct().ToList();
            if (Elementwise.Contains(n.OpType) || Consumers(_current).Count > 1)
            {
                if (!acts.Contains(_current)) throw Bad(n, $"input '{acts[0]}' is not the previous layer's output '{_current}'; ScratchNet imports chains of layers");
                ElementwiseRegion(n);
                return;
            }
            if (acts.Count != 1 || acts[0] != _current || n.Inputs.Count == 0 || n.Inputs[0] != _current)
                throw Bad(n, $"its input is not the previous layer's output '{_current}' alone; ScratchNet imports chains of layers (no branches, no second input)");
            string? scope = ScopeOf(n);
            switch (n.OpType)
            {
                case "Conv": Add(n, Conv(n), ParamPath(n, 1) ?? scope, "conv"); break;
                case "Gemm": Add(n, Gemm(n), ParamPath(n, 1) ?? scope, "linear"); break;
                case "MatMul": MatMul(n, scope); break;
                case "BatchNormalization": Add(n, BatchNorm(n), ParamPath(n, 1) ?? scope, "bn"); break;
                case "Relu": Add(n, new ReLU(), scope, "relu"); break;
                case "Sigmoid": Add(n, new Sigmoid(), scope, "sigmoid"); break;
                case "Tanh": Add(n, new Tanh(), scope, "tanh"); break;
                case "LeakyRelu": Add(n, new LeakyReLU(Float(n, "alpha", 0.01f)), scope, "leakyrelu"); break;
                case "Gelu": Add(n, new GELU(Str(n, "approximate", "none")), scope, "gelu"); break;
                case "MaxPool": Add(n, Pool(n, max: true), scope, "maxpool"); break;
                case "AveragePool": Add(n, Pool(n, max: false), scope, "avgpool"); break;
                case "GlobalAveragePool": Add(n, new AdaptiveAvgPool2d(1), scope, "avgpool"); break;
                case "Flatten":
                    if (Int(n, "axis", 1) != 1) throw Bad(n, $"axis {Int(n, "axis", 1)}: only Flatten with axis 1 ([N, features]) is supported");
                    Add(n, new Flatten(), scope, "flatten");
                    break;
                case "Reshape": Reshape(n, scope); break;
                case "Pad": Pad(n, scope); break;
                case "Softmax": Add(n, new Softmax((int)Int(n, "axis", -1)), scope, "softmax"); break;
                case "LogSoftmax": Add(n, new LogSoftmax((int)Int(n, "axis", -1)), scope, "logsoftmax"); break;
                case "Dropout": Add(n, Dropout(n), scope, "dropout"); break;
                case "Identity": Add(n, null, scope, "identity"); break;
                default:
                    throw Bad(n, $"operator {n.OpType} is not supported; ScratchNet imports Conv, Gemm, MatMul+Add, BatchNormalization, Relu, Sigmoid, Tanh, " +
                                 "LeakyRelu, Gelu (or its Erf/Tanh sub-graph), MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape to [N, features], " +
                                 "Softmax, LogSoftmax, Dropout, Identity");
            }
        }

        // Records a layer (null: the identity), runs it on the batch-1 sample to learn its output shape, and moves on.
        private void Add(OnnxNode n, Module? m, string? pathHint, string auto, OnnxNode? last = null)
        {
            last ??= n;
            foreach (var extra in last.Outputs.Skip(1).Where(o => o.Length > 0))
                if (Consumers(extra).Count > 0 || _g.Outputs.Any(o => o.Name == extra))
                    throw Bad(last, $"its output '{extra}' is used; only the first output of a layer can be");
            if (m is not null)
            {
                m.Eval();
                try { _sample = m.Forward(_sample); }
                catch (ArgumentException e) { throw Bad(n, $"cannot run on its input [N, {string.Join(", ", _sample.Shape.Skip(1))}]: {e.Message}"); }
                _layers.Add((pathHint, auto, m));
            }
            _done.Add(n);
            _done.Add(last);
            _current = last.Outputs[0];
            _shape[_current] = _sample.Shape;
        }

        // ---------------------------------------------------------------- layers

        private Conv2d Conv(OnnxNode n)
        {
            var w = FloatConst(n, 1, "weight", 4);
            var k = Ints(n, "kernel_shape") ?? [w.Dims[2], w.Dims[3]];
            var strides = Ints(n, "strides") ?? [1, 1];
            var pads = Ints(n, "pads") ?? [0, 0, 0, 0];
            var dil = Ints(n, "dilations") ?? [1, 1];
            if (Int(n, "group", 1) != 1) throw Bad(n, $"group {Int(n, "group", 1)}: grouped convolutions are not supported");
            if (Str(n, "auto_pad", "NOTSET") is not ("NOTSET" or "")) throw Bad(n, $"auto_pad {Str(n, "auto_pad", "")} is not supported (explicit pads only)");
            if (dil.Any(d => d != 1)) throw Bad(n, $"dilations [{string.Join(", ", dil)}] are not supported");
            if (w.Dims[2] != w.Dims[3] || k.Length != 2 || k[0] != w.Dims[2] || k[1] != w.Dims[3]) throw Bad(n, $"kernel [{string.Join(", ", w.Dims)}]: only square 2-D kernels matching kernel_shape are supported");
            if (strides.Length != 2 || strides[0] != strides[1]) throw Bad(n, $"strides [{string.Join(", ", strides)}]: only equal strides are supported");
            if (pads.Length != 4 || pads.Distinct().Count() != 1) throw Bad(n, $"pads [{string.Join(", ", pads)}]: only the same padding on every side is supported");
            var b = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? FloatConst(n, 2, "bias", 1) : null;
            int outC = Dim(n, w.Dims[0]), inC = Dim(n, w.Dims[1]);
            if (b is not null && b.Dims[0] != outC) throw Bad(n, $"bias has {b.Dims[0]} values for {outC} output channels");
            if (pads[0] < 0 || pads[0] > int.MaxValue) throw Bad(n, $"padding {pads[0]} out of range");
            var conv = new Conv2d(inC, outC, Dim(n, w.Dims[2]), Dim(n, strides[0]), (int)pads[0], bias: b is not null, device: device);
            conv.Weight.CopyFrom(w.F!);
            conv.Bias?.CopyFrom(b!.F!);
            return conv;
        }

        private Linear Gemm(OnnxNode n)
        {
            if (Int(n, "transA", 0) != 0) throw Bad(n, "transA 1 is not supported");
            float alpha = Float(n, "alpha", 1f), beta = Float(n, "beta", 1f);
            var w = FloatConst(n, 1, "B", 2);
            bool transB = Int(n, "transB", 0) != 0;
            var c = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? FloatConst(n, 2, "C", -1) : null;
            return MakeLinear(n, w, transB, c, alpha, beta);
        }

        // y = alpha·x·W' + beta·c, W' = Bᵀ (transB) or B: a Linear with weight alpha·W' [out, in] and bias beta·c [out].
        private Linear MakeLinear(OnnxNode n, Cst w, bool transB, Cst? c, float alpha, float beta)
        {
            int outF = Dim(n, transB ? w.Dims[0] : w.Dims[1]), inF = Dim(n, transB ? w.Dims[1] : w.Dims[0]);
            if (c is not null && c.Numel != outF && c.Numel != 1) throw Bad(n, $"bias of shape [{string.Join(", ", c.Dims)}] for {outF} outputs");
            var weight = new float[(long)outF * inF];
            for (int o = 0; o < outF; o++)
                for (int i = 0; i < inF; i++)
                    weight[(long)o * inF + i] = alpha * (transB ? w.F![(long)o * inF + i] : w.F![(long)i * outF + o]);
            var lin = new Linear(inF, outF, bias: c is not null, device: device);
            lin.Weight.CopyFrom(weight);
            if (c is not null) lin.Bias!.CopyFrom(Enumerable.Range(0, outF).Select(o => beta * c.F![c.Numel == 1 ? 0 : o]).ToArray());
            return lin;
        }

        // MatMul by a constant [in, out] matrix, with the Add of a constant [out] that follows it (torch's Linear on 3-D inputs).
        private void MatMul(OnnxNode n, string? scope)
        {
            var w = FloatConst(n, 1, "B", 2);
            var next = Consumers(n.Outputs[0]);
            Cst? bias = null;
            OnnxNode? add = null;
            if (next.Count == 1 && next[0].OpType == "Add" && next[0].Inputs.Count == 2)
            {
                string other = next[0].Inputs[0] == n.Outputs[0] ? next[0].Inputs[1] : next[0].Inputs[0];
                if (!_act.Contains(other)) { add = next[0]; bias = Eval(add, other); }
            }
            if (bias is not null && bias.F is null) throw Bad(add!, "the bias is not a float tensor");
            Add(n, MakeLinear(n, w, false, bias, 1f, 1f), ParamPath(n, 1) ?? scope, "linear", add);
        }

        private BatchNorm BatchNorm(OnnxNode n)
        {
            if (Int(n, "training_mode", 0) != 0) throw Bad(n, "training_mode 1: only inference BatchNormalization (running statistics) is supported");
            if (n.Inputs.Count != 5) throw Bad(n, $"has {n.Inputs.Count} inputs, expected 5 (X, scale, B, mean, var)");
            var p = Enumerable.Range(1, 4).Select(i => FloatConst(n, i, i switch { 1 => "scale", 2 => "B", 3 => "mean", _ => "var" }, 1)).ToArray();
            int c = Dim(n, p[0].Dims[0]);
            if (p.Any(t => t.Dims[0] != c)) throw Bad(n, $"scale, B, mean and var must all have {c} values, got {string.Join(", ", p.Select(t => t.Dims[0]))}");
            if (_sample.Dim is < 2 or > 4 || _sample.Shape[1] != c) throw Bad(n, $"input [N, {string.Join(", ", _sample.Shape.Skip(1))}] does not have {c} channels in dimension 1");
            if (p[3].F!.Any(v => !(v >= 0))) throw Bad(n, "running variance has a negative or NaN value");
            float eps = Float(n, "epsilon", 1e-5f), momentum = (float)Math.Round(1.0 - Float(n, "momentum", 0.9f), 6);
            if (!(momentum >= 0 && momentum <= 1)) momentum = 0.1f;
            BatchNorm bn = _sample.Dim == 4 ? new BatchNorm2d(c, eps, momentum, device: device) : new BatchNorm1d(c, eps, momentum, device: device);
            bn.Weight!.CopyFrom(p[0].F!);
            bn.Bias!.CopyFrom(p[1].F!);
            bn.RunningMean!.CopyFrom(p[2].F!);
            bn.RunningVar!.CopyFrom(p[3].F!);
            return bn;
        }

        private Module Pool(OnnxNode n, bool max)
        {
            var k = Ints(n, "kernel_shape") ?? throw Bad(n, "has no kernel_shape");
            var strides = Ints(n, "strides") ?? [1, 1];
            var pads = Ints(n, "pads") ?? [0, 0, 0, 0];
            if (k.Length != 2 || k[0] != k[1]) throw Bad(n, $"kernel_shape [{string.Join(", ", k)}]: only square 2-D windows are supported");
            if (strides.Length != 2 || strides[0] != strides[1]) throw Bad(n, $"strides [{string.Join(", ", strides)}]: only equal strides are supported");
            if (pads.Length != 4 || pads.Distinct().Count() != 1) throw Bad(n, $"pads [{string.Join(", ", pads)}]: only the same padding on every side is supported");
            if ((Ints(n, "dilations") ?? [1, 1]).Any(d => d != 1)) throw Bad(n, "dilations other than 1 are not supported");
            if (Str(n, "auto_pad", "NOTSET") is not ("NOTSET" or "")) throw Bad(n, "auto_pad is not supported (explicit pads only)");
            if (Int(n, "storage_order", 0) != 0) throw Bad(n, "storage_order 1 is not supported");
            if (pads[0] < 0 || pads[0] > int.MaxValue) throw Bad(n, $"padding {pads[0]} out of range");
            int kk = Dim(n, k[0]), s = Dim(n, strides[0]), p = (int)pads[0];
            bool ceil = Int(n, "ceil_mode", 0) != 0;
            return max ? new MaxPool2d(kk, s, p, ceil) : new AvgPool2d(kk, s, p, ceil, Int(n, "count_include_pad", 0) != 0);
        }

        // A zero Pad is nothing; a spatial zero Pad followed by an unpadded AveragePool is an AvgPool2d with that padding counted
        // in the divisor (how torch.onnx writes AvgPool2d with count_include_pad, its default).
        private void Pad(OnnxNode n, string? scope)
        {
            if (Str(n, "mode", "constant") != "constant") throw Bad(n, $"mode '{Str(n, "mode", "")}': only constant padding is supported");
            var pads = n.Inputs.Count > 1 ? Ints1D(n, Eval(n, n.Inputs[1]), "pads") : Ints(n, "pads") ?? [];
            if (n.Inputs.Count > 2 && n.Inputs[2].Length > 0 && Eval(n, n.Inputs[2]) is { } v && (v.F?.Any(f => f != 0) ?? v.L!.Any(l => l != 0)))
                throw Bad(n, "only padding with zeros is supported");
            if (n.Inputs.Count > 3 && n.Inputs[3].Length > 0) throw Bad(n, "the axes input is not supported");
            if (pads.All(p => p == 0)) { Add(n, null, scope, "pad"); return; }
            var next = Consumers(n.Outputs[0]);
            bool spatial = pads.Length == 8 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 && new[] { pads[2], pads[3], pads[6], pads[7] }.Distinct().Count() == 1;
            if (!spatial || next.Count != 1 || next[0].OpType != "AveragePool" || (Ints(next[0], "pads") ?? [0]).Any(p => p != 0))
                throw Bad(n, $"pads [{string.Join(", ", pads)}]: only zero padding or a square zero padding before an AveragePool is supported");
            var pool = (AvgPool2d)Pool(next[0], max: false);
            Add(n, new AvgPool2d(pool.KernelSize, pool.Stride, (int)Math.Min(pads[2], int.MaxValue), pool.CeilMode, countIncludePad: true), ScopeOf(next[0]) ?? scope, "avgpool", next[0]);
        }

        private Module Dropout(OnnxNode n)
        {
            float p = 0.5f;
            if (n.Inputs.Count > 1 && n.Inputs[1].Length > 0)
            {
                var r = Eval(n, n.Inputs[1]);
                if (r.F is not { Length: 1 }) throw Bad(n, "ratio is not a float scalar");
                p = r.F[0];
            }
            if (n.Inputs.Count > 2 && n.Inputs[2].Length > 0)
            {
                var t = Eval(n, n.Inputs[2]);
                if (t.Numel != 1 || (t.L?[0] ?? (long)t.F![0]) != 0) throw Bad(n, "training_mode is not the constant false");
            }
            return new Dropout(p);
        }
    }
}
