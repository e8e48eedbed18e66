using System.Text.RegularExpressions;
using ScratchNet.nn;

namespace ScratchNet.onnx;

// The import's side computations: constants (initializers, Constant nodes, and the shape arithmetic exporters emit around a
// Reshape: Shape → Gather → Unsqueeze → Concat), elementwise sub-graphs recognised by what they compute (GELU as
// Div/Erf/Add/Mul/Mul), attribute reads, and the module tree rebuilt from the names.
public static partial class Onnx
{
    private sealed partial class Importer
    {
        // The batch dimension inside a shape computed by a Shape node: unknown until run time.
        private const long Batch = long.MinValue;

        // A constant value: float or integer elements (integers may hold Batch).
        private sealed record Cst(long[] Dims, float[]? F, long[]? L)
        {
            public long Numel => F?.Length ?? L!.Length;
        }

        private readonly Dictionary<string, Cst> _consts = new();
        private int _depth;

        // The constant `value` that node n takes as an input: evaluated through the nodes that compute it.
        private Cst Eval(OnnxNode n, string value)
        {
            if (_consts.TryGetValue(value, out var c)) return c;
            if (_inits.TryGetValue(value, out var t)) return _consts[value] = FromTensor(n, t);
            if (_act.Contains(value)) throw Bad(n, $"input '{value}' depends on the model's input; a constant is needed there");
            var p = _producer[value];
            if (++_depth > 256) throw Bad(p, "the constant expression is nested more than 256 nodes deep");
            try { return _consts[value] = Compute(p, value); }
            finally { _depth--; }
        }

        private Cst FromTensor(OnnxNode n, OnnxTensor t)
        {
            if (t.Floats is null && t.Longs is null) throw Bad(n, $"tensor '{t.Name}' has element type {t.DataType}; float32, int64 and int32 are supported");
            return new Cst(t.Dims, t.Floats, t.Longs);
        }

        private Cst Compute(OnnxNode p, string value)
        {
            switch (p.OpType)
            {
                case "Constant":
                {
                    if (p.Attributes.TryGetValue("value", out var a) && a.T is { } t) return FromTensor(p, t);
                    if (p.Attributes.TryGetValue("value_float", out a)) return new Cst([], [a.F], null);
                    if (p.Attributes.TryGetValue("value_floats", out a)) return new Cst([a.Floats.Count], a.Floats.ToArray(), null);
                    if (p.Attributes.TryGetValue("value_int", out a)) return new Cst([], null, [a.I]);
                    if (p.Attributes.TryGetValue("value_ints", out a)) return new Cst([a.Ints.Count], null, a.Ints.ToArray());
                    throw Bad(p, "has no value (value, value_float(s) or value_int(s))");
                }
                case "Identity": return Eval(p, p.Inputs[0]);
                case "Shape":
                {
                    if (p.Attributes.ContainsKey("start") || p.Attributes.ContainsKey("end")) throw Bad(p, "start and end are not supported");
                    if (!_shape.TryGetValue(p.Inputs[0], out var s)) throw Bad(p, $"the shape of '{p.Inputs[0]}' is not known here (not the chain's current value)");
                    return new Cst([s.Length], null, s.Select((d, i) => i == 0 ? Batch : d).ToArray());
                }
                case "Gather":
                {
                    var data = Ints1D(p, Eval(p, p.Inputs[0]), "data");
                    var idx = Eval(p, p.Inputs[1]);
                    if (Int(p, "axis", 0) != 0 || idx.L is null || idx.Dims.Length > 1) throw Bad(p, "only gathering from a 1-D integer constant along axis 0 is supported");
                    var r = idx.L.Select(i => i >= -data.Length && i < data.Length ? data[i < 0 ? i + data.Length : i] : throw Bad(p, $"index {i} out of range for {data.Length} values")).ToArray();
                    return new Cst(idx.Dims, null, r);
                }
                case "Unsqueeze":
                {
                    var data = Eval(p, p.Inputs[0]);
                    var axes = p.Inputs.Count > 1 ? Ints1D(p, Eval(p, p.Inputs[1]), "axes") : Ints(p, "axes") ?? throw Bad(p, "has no axes");
                    int rank = data.Dims.Length + axes.Length;
                    if (rank > 8) throw Bad(p, $"rank {rank}: constants of rank above 8 are not supported");
                    var dims = new List<long>(data.Dims);
                    foreach (long ax in axes.Select(a => a < 0 ? a + rank : a).Order())
                        if (ax < 0 || ax > dims.Count) throw Bad(p, $"axis out of range for rank {rank}"); else dims.Insert((int)ax, 1);
                    return data with { Dims = dims.ToArray() };
                }
                case "Concat":
                {
                    var parts = p.Inputs.Select(i => Eval(p, i)).ToList();
                    if (parts.Any(c => c.L is null || c.Dims.Length != 1)) throw Bad(p, "only concatenating 1-D integer constants is supported");
                    var all = parts.SelectMany(c => c.L!).ToArray();
                    return new Cst([all.Length], null, all);
                }
                case "Cast":
                {
                    var data = Eval(p, p.Inputs[0]);
                    long to = Int(p, "to", 0);
                    if (to == OnnxTensor.FLOAT) return new Cst(data.Dims, data.F ?? data.L!.Select(v => (float)v).ToArray(), null);
                    if (to is OnnxTensor.INT64 or OnnxTensor.INT32) return new Cst(data.Dims, null, data.L ?? data.F!.Select(v => (long)v).ToArray());
                    throw Bad(p, $"cast to element type {to} is not supported");
                }
                default:
                    throw Bad(p, $"operator {p.OpType} cannot be evaluated as a constant here (output '{value}')");
            }
        }

        private long[] Ints1D(OnnxNode n, Cst c, string what) =>
            c.L is not null && c.Dims.Length <= 1 ? c.L : throw Bad(n, $"{what} is not a 1-D integer constant");

        // Input `index` of n as a float constant of `rank` dimensions (-1: any rank), named `what` in errors.
        private Cst FloatConst(OnnxNode n, int index, string what, int rank)
        {
            if (n.Inputs.Count <= index || n.Inputs[index].Length == 0) throw Bad(n, $"has no {what} input");
            var c = Eval(n, n.Inputs[index]);
            if (c.F is null) throw Bad(n, $"{what} '{n.Inputs[index]}' is not a float32 tensor");
            if (rank >= 0 && c.Dims.Length != rank) throw Bad(n, $"{what} '{n.Inputs[index]}' has shape [{string.Join(", ", c.Dims)}], expected rank {rank}");
            return c;
        }

        private int Dim(OnnxNode n, long d) => d is >= 1 and <= int.MaxValue ? (int)d : throw Bad(n, $"size {d} out of range");

        // ---------------------------------------------------------------- attributes

        private OnnxAttribute? Attr(OnnxNode n, string name, int type)
        {
            if (!n.Attributes.TryGetValue(name, out var a)) return null;
            if (a.Type != 0 && a.Type != type) throw Bad(n, $"attribute '{name}' has type {a.Type}, expected {type}");
            return a;
        }

        private long Int(OnnxNode n, string name, long def) => Attr(n, name, OnnxAttribute.INT)?.I ?? def;
        private float Float(OnnxNode n, string name, float def) => Attr(n, name, OnnxAttribute.FLOAT)?.F ?? def;
        private string Str(OnnxNode n, string name, string def) => Attr(n, name, OnnxAttribute.STRING)?.S ?? def;
        private long[]? Ints(OnnxNode n, string name) => Attr(n, name, OnnxAttribute.INTS)?.Ints.ToArray();

        // ---------------------------------------------------------------- Reshape

        // A Reshape of [N, d1, d2, ...] to [N, d1·d2·...] is a Flatten (x.view(x.size(0), -1) in torch); to its own shape, nothing.
        private void Reshape(OnnxNode n, string? scope)
        {
            var target = Ints1D(n, Eval(n, n.Inputs.Count > 1 ? n.Inputs[1] : throw Bad(n, "has no shape input")), "shape");
            var s = _sample.Shape;
            long features = s.Skip(1).Aggregate(1L, (a, b) => a * b);
            bool batchFirst = target.Length > 0 && target[0] is Batch or 0;
            bool flatten = target.Length == 2 && ((batchFirst && target[1] is -1 || target[1] == features) || (target[0] == -1 && target[1] == features));
            bool same = target.Length == s.Length && batchFirst && target.Skip(1).Select((d, i) => d == s[i + 1] || (d == 0 && Int(n, "allowzero", 0) == 0)).All(b => b);
            if (same) Add(n, null, scope, "reshape");
            else if (flatten) Add(n, new Flatten(), scope, "flatten");
            else throw Bad(n, $"reshapes [N, {string.Join(", ", s.Skip(1))}] to [{string.Join(", ", target.Select(d => d == Batch ? "N" : d.ToString()))}]; only flattening to [N, features] is supported");
        }

        // ---------------------------------------------------------------- elementwise sub-graphs

        private static readonly HashSet<string> Elementwise = ["Div", "Mul", "Add", "Sub", "Pow", "Sqrt", "Erf", "Neg", "Reciprocal"];
        private static readonly HashSet<string> InRegion = [.. Elementwise, "Tanh", "Sigmoid"];
        private static readonly double[] Probe = [-4, -2.5, -1.3, -0.7, -0.2, 0, 0.15, 0.6, 1.1, 1.9, 3.2];

        // Starting at the node that first uses the current value, takes the elementwise nodes that follow (inputs: the current
        // value, scalar constants, each other) and ends them where a single value carries everything on; the longest such run
        // whose function of x is a known activation becomes that layer. GELU: torch's Div/Erf/Add/Mul/Mul, or the tanh form.
        private void ElementwiseRegion(OnnxNode first)
        {
            string start = _current;
            var uses = new Dictionary<string, int> { [start] = Consumers(start).Count };
            var region = new List<OnnxNode>();
            (int Count, string Output, GELU Module)? match = null;
            var node = first;
            while (node is not null && region.Count < 32)
            {
                if (!InRegion.Contains(node.OpType) || node.Inputs.Any(i => _act.Contains(i) && !uses.ContainsKey(i))) break;
                if (node.OpType is "Tanh" or "Sigmoid" && uses.Count == 1) break;   // a layer of its own
                region.Add(node);
                foreach (var i in node.Inputs.Where(uses.ContainsKey).Distinct().ToList()) if (--uses[i] == 0) uses.Remove(i);
                string o = node.Outputs[0];
                uses[o] = Consumers(o).Count + (_g.Outputs.Any(x => x.Name == o) ? 1 : 0);
                if (uses.Count == 1 && Identify(region, start, o) is { } m) match = (region.Count, o, m);
                // Next: a consumer of an open value, every input of which is ready.
                node = uses.Keys.SelectMany(Consumers).Distinct()
                    .FirstOrDefault(c => !region.Contains(c) && c.Inputs.Where(_act.Contains).All(i => uses.ContainsKey(i)));
            }
            if (region.Count == 0)
                throw Bad(first, $"its input '{start}' also feeds {string.Join(", ", Consumers(start).Where(c => c != first).Select(c => $"'{c.Name}' ({c.OpType})"))}; " +
                                 "ScratchNet imports chains of layers (no branches)");
            if (match is not { } mm)
                throw Bad(first, $"elementwise arithmetic on the layer's output ({string.Join(", ", region.Select(r => r.OpType).DefaultIfEmpty(first.OpType))}) " +
                                 "that is not a supported activation (GELU's Div/Erf/Add/Mul/Mul); ScratchNet imports chains of layers");
            var nodes = region.Take(mm.Count).ToList();
            foreach (var r in nodes) _done.Add(r);
            var lastNode = nodes[^1];
            Add(first, mm.Module, ScopeOf(first), "gelu", lastNode);
        }

        // The activation the region computes from x, if it is one: probed at a few points in double precision.
        private GELU? Identify(List<OnnxNode> region, string x, string output)
        {
            var results = new double[Probe.Length];
            for (int k = 0; k < Probe.Length; k++)
            {
                var v = new Dictionary<string, double> { [x] = Probe[k] };
                foreach (var n in region)
                {
                    double In(int i)
                    {
                        if (v.TryGetValue(n.Inputs[i], out double d)) return d;
                        var c = Eval(n, n.Inputs[i]);
                        if (c.Numel != 1) throw Bad(n, $"constant '{n.Inputs[i]}' is not a scalar; elementwise ops take scalar constants here");
                        return c.F?[0] ?? c.L![0];
                    }
                    if (n.Inputs.Count == 0) return null;
                    v[n.Outputs[0]] = n.OpType switch
                    {
                        "Div" => In(0) / In(1), "Mul" => In(0) * In(1), "Add" => In(0) + In(1), "Sub" => In(0) - In(1),
                        "Pow" => Math.Pow(In(0), In(1)), "Sqrt" => Math.Sqrt(In(0)), "Erf" => Erf(In(0)), "Neg" => -In(0),
                        "Reciprocal" => 1 / In(0), "Tanh" => Math.Tanh(In(0)), _ => 1 / (1 + Math.Exp(-In(0))),
                    };
                }
                if (!v.TryGetValue(output, out results[k])) return null;
            }
            bool Near(Func<double, double> f) => Probe.Select((p, k) => Math.Abs(f(p) - results[k]) <= 2e-6 * (1 + Math.Abs(results[k]))).All(b => b);
            if (Near(p => 0.5 * p * (1 + Erf(p / Math.Sqrt(2))))) return new GELU("none");
            if (Near(p => 0.5 * p * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (p + 0.044715 * p * p * p))))) return new GELU("tanh");
            return null;
        }

        // erf to ~1e-7 (Numerical Recipes' erfcc, the fit kernels/activation uses), in double.
        private static double Erf(double x)
        {
            double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
            double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
                       t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
            return x >= 0 ? 1 - r : r - 1;
        }

        // ---------------------------------------------------------------- names and the module tree

        private static readonly Regex PathRe = new(@"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$", RegexOptions.CultureInvariant);

        // "features.0" from the layer's weight initializer "features.0.weight" (state-dict names), when it has that form.
        private string? ParamPath(OnnxNode n, int index)
        {
            if (n.Inputs.Count <= index) return null;
            string w = n.Inputs[index];
            if (!w.EndsWith(".weight", StringComparison.Ordinal) || !_inits.ContainsKey(w)) return null;
            string p = w[..^".weight".Length];
            return PathRe.IsMatch(p) ? p : null;
        }

        // "features.0" from a node named "/features/features.0/Conv" (torch.onnx's scopes) or "/features.0/Conv" (ours).
        private static string? ScopeOf(OnnxNode n)
        {
            if (!n.Name.StartsWith('/')) return null;
            var parts = n.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 2 && PathRe.IsMatch(parts[^2]) ? parts[^2] : null;
        }

        // Nests the layers as their paths say (features.0, features.1, classifier.1 → Sequential(features: ..., classifier: ...)); any
        // conflict (a path used twice, a layer both leaf and parent, a group split by another) names every layer by its position.
        private Sequential BuildTree()
        {
            var used = new HashSet<string>();
            var items = new List<(string[] Segs, Module M)>();
            foreach (var (p, auto, m) in _layers)
            {
                string name = p ?? auto;
                if (p is null) { int k = 1; while (used.Contains(name)) name = auto + "_" + k++; }
                used.Add(name);
                items.Add((name.Split('.'), m));
            }
            try { return Build(items, 0); }
            catch (InvalidOperationException) { return new Sequential(_layers.Select(l => l.Module).ToArray()); }
        }

        private static Sequential Build(List<(string[] Segs, Module M)> items, int depth)
        {
            var children = new List<(string, Module)>();
            var names = new HashSet<string>();
            for (int i = 0; i < items.Count;)
            {
                string key = items[i].Segs[depth];
                int j = i;
                while (j < items.Count && items[j].Segs.Length > depth && items[j].Segs[depth] == key) j++;
                if (j == i) throw new InvalidOperationException("a path ends above its siblings");
                var group = items.GetRange(i, j - i);
                Module child = group is [{ Segs.Length: var len } only] && len == depth + 1 ? only.M
                    : group.All(g => g.Segs.Length > depth + 1) ? Build(group, depth + 1)
                    : throw new InvalidOperationException("conflicting paths");
                if (!names.Add(key)) throw new InvalidOperationException("a name used twice");
                children.Add((key, child));
                i = j;
            }
            return new Sequential(children.ToArray());
        }
    }
}
