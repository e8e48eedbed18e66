using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ScratchNet.onnx;

/// <summary>
/// The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that ScratchNet writes and reads, with
/// the field numbers of the official schema:
/// <code>
///   ModelProto    1 ir_version  2 producer_name  3 producer_version  7 graph  8 opset_import  14 metadata_props
///   GraphProto    1 node  2 name  5 initializer  11 input  12 output  13 value_info
///   NodeProto     1 input  2 output  3 name  4 op_type  5 attribute  7 domain
///   AttributeProto 1 name  2 f  3 i  4 s  5 t  7 floats  8 ints  20 type
///   TensorProto   1 dims  2 data_type  4 float_data  5 int32_data  7 int64_data  8 name  9 raw_data  14 data_location
///   ValueInfoProto 1 name  2 type → TypeProto 1 tensor_type → 1 elem_type  2 shape → 1 dim → 1 dim_value | 2 dim_param
///   OperatorSetIdProto 1 domain  2 version;   StringStringEntryProto 1 key  2 value
/// </code>
/// Every other field is skipped on reading. Tensors are float32, int64 or int32, stored inline (raw_data on writing);
/// external data is refused.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>The IR version written: 8, the one of ONNX 1.13–1.14 (opset 17–19).</summary>
    public const long IrVersion = 8;

    /// <summary>ir_version.</summary>
    public long Ir { get; set; } = IrVersion;
    /// <summary>producer_name.</summary>
    public string Producer { get; set; } = "";
    /// <summary>producer_version.</summary>
    public string ProducerVersion { get; set; } = "";
    /// <summary>opset_import: domain ("" is the default ai.onnx) → version.</summary>
    public Dictionary<string, long> Opsets { get; } = new();
    /// <summary>metadata_props, in order.</summary>
    public List<KeyValuePair<string, string>> Metadata { get; } = new();
    /// <summary>The main graph.</summary>
    public OnnxGraph Graph { get; set; } = new();

    /// <summary>The model as protobuf bytes.</summary>
    public byte[] ToBytes()
    {
        var w = new ProtoWriter();
        w.Int(1, Ir);
        if (Producer.Length > 0) w.String(2, Producer);
        if (ProducerVersion.Length > 0) w.String(3, ProducerVersion);
        w.Message(7, Graph.Write);
        foreach (var (domain, version) in Opsets)
            w.Message(8, o => { if (domain.Length > 0) o.String(1, domain); o.Int(2, version); });
        foreach (var (k, v) in Metadata)
            w.Message(14, o => { o.String(1, k); o.String(2, v); });
        return w.ToArray();
    }

    /// <summary>Parses a ModelProto; <see cref="ProtoException"/> or <see cref="FormatException"/> for a malformed one.</summary>
    public static OnnxModel Parse(byte[] bytes)
    {
        var m = new OnnxModel { Ir = 0 };
        var r = new ProtoReader(bytes);
        bool hasGraph = false;
        while (r.Next(out var f))
        {
            switch (f.Number, f.WireType)
            {
                case (1, 0): m.Ir = (long)f.Value; break;
                case (2, 2): m.Producer = r.Text(f); break;
                case (3, 2): m.ProducerVersion = r.Text(f); break;
                case (7, 2): m.Graph = OnnxGraph.Read(r.Sub(f)); hasGraph = true; break;
                case (8, 2):
                {
                    var s = r.Sub(f);
                    string domain = ""; long version = 0;
                    while (s.Next(out var g))
                        if (g is { Number: 1, WireType: 2 }) domain = s.Text(g);
                        else if (g is { Number: 2, WireType: 0 }) version = (long)g.Value;
                    m.Opsets[domain] = version;
                    break;
                }
                case (14, 2):
                {
                    var s = r.Sub(f);
                    string k = "", v = "";
                    while (s.Next(out var g))
                        if (g is { Number: 1, WireType: 2 }) k = s.Text(g);
                        else if (g is { Number: 2, WireType: 2 }) v = s.Text(g);
                    m.Metadata.Add(new(k, v));
                    break;
                }
            }
        }
        if (!hasGraph) throw new FormatException("the file holds no graph (is it an ONNX model?)");
        return m;
    }
}

/// <summary>A GraphProto: nodes in topological order, initializers (the weights), inputs and outputs.</summary>
public sealed class OnnxGraph
{
    /// <summary>name.</summary>
    public string Name { get; set; } = "";
    /// <summary>node.</summary>
    public List<OnnxNode> Nodes { get; } = new();
    /// <summary>initializer.</summary>
    public List<OnnxTensor> Initializers { get; } = new();
    /// <summary>input (initializers may also be listed here, as older exporters do).</summary>
    public List<OnnxValueInfo> Inputs { get; } = new();
    /// <summary>output.</summary>
    public List<OnnxValueInfo> Outputs { get; } = new();

    internal void Write(ProtoWriter w)
    {
        foreach (var n in Nodes) w.Message(1, n.Write);
        w.String(2, Name);
        foreach (var t in Initializers) w.Message(5, t.Write);
        foreach (var i in Inputs) w.Message(11, i.Write);
        foreach (var o in Outputs) w.Message(12, o.Write);
    }

    internal static OnnxGraph Read(ProtoReader r)
    {
        var g = new OnnxGraph();
        while (r.Next(out var f))
        {
            if (f.WireType != 2) continue;
            switch (f.Number)
            {
                case 1: g.Nodes.Add(OnnxNode.Read(r.Sub(f))); break;
                case 2: g.Name = r.Text(f); break;
                case 5: g.Initializers.Add(OnnxTensor.Read(r.Sub(f))); break;
                case 11: g.Inputs.Add(OnnxValueInfo.Read(r.Sub(f))); break;
                case 12: g.Outputs.Add(OnnxValueInfo.Read(r.Sub(f))); break;
            }
        }
        return g;
    }
}

/// <summary>A NodeProto: one operator applied to named inputs, giving named outputs.</summary>
public sealed class OnnxNode
{
    /// <summary>name.</summary>
    public string Name { get; set; } = "";
    /// <summary>op_type, e.g. "Conv".</summary>
    public string OpType { get; set; } = "";
    /// <summary>domain ("" or "ai.onnx": the standard operators).</summary>
    public string Domain { get; set; } = "";
    /// <summary>input names ("" for an omitted optional input).</summary>
    public List<string> Inputs { get; } = new();
    /// <summary>output names.</summary>
    public List<string> Outputs { get; } = new();
    /// <summary>attributes by name.</summary>
    public Dictionary<string, OnnxAttribute> Attributes { get; } = new();

    internal void Write(ProtoWriter w)
    {
        foreach (var i in Inputs) w.String(1, i);
        foreach (var o in Outputs) w.String(2, o);
        w.String(3, Name);
        w.String(4, OpType);
        foreach (var a in Attributes.Values) w.Message(5, a.Write);
        if (Domain.Length > 0) w.String(7, Domain);
    }

    internal static OnnxNode Read(ProtoReader r)
    {
        var n = new OnnxNode();
        while (r.Next(out var f))
        {
            if (f.WireType != 2) continue;
            switch (f.Number)
            {
                case 1: n.Inputs.Add(r.Text(f)); break;
                case 2: n.Outputs.Add(r.Text(f)); break;
                case 3: n.Name = r.Text(f); break;
                case 4: n.OpType = r.Text(f); break;
                case 5: var a = OnnxAttribute.Read(r.Sub(f)); n.Attributes[a.Name] = a; break;
                case 7: n.Domain = r.Text(f); break;
            }
        }
        return n;
    }
}

/// <summary>An AttributeProto of the kinds the supported operators use: float, int, string, tensor, floats, ints.</summary>
public sealed class OnnxAttribute
{
    /// <summary>AttributeProto.AttributeType values.</summary>
    public const int FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5, FLOATS = 6, INTS = 7;

    /// <summary>name.</summary>
    public string Name { get; set; } = "";
    /// <summary>type (0 when the file leaves it out: then the field that is present decides).</summary>
    public int Type { get; set; }
    /// <summary>f.</summary>
    public float F { get; set; }
    /// <summary>i.</summary>
    public long I { get; set; }
    /// <summary>s, as UTF-8 text.</summary>
    public string S { get; set; } = "";
    /// <summary>t.</summary>
    public OnnxTensor? T { get; set; }
    /// <summary>floats.</summary>
    public List<float> Floats { get; } = new();
    /// <summary>ints.</summary>
    public List<long> Ints { get; } = new();

    /// <summary>An INT attribute.</summary>
    public static OnnxAttribute Int(string name, long v) => new() { Name = name, Type = INT, I = v };
    /// <summary>A FLOAT attribute.</summary>
    public static OnnxAttribute Float(string name, float v) => new() { Name = name, Type = FLOAT, F = v };
    /// <summary>A STRING attribute.</summary>
    public static OnnxAttribute Str(string name, string v) => new() { Name = name, Type = STRING, S = v };
    /// <summary>A TENSOR attribute.</summary>
    public static OnnxAttribute Tensor(string name, OnnxTensor v) => new() { Name = name, Type = TENSOR, T = v };
    /// <summary>An INTS attribute.</summary>
    public static OnnxAttribute IntList(string name, params long[] v)
    {
        var a = new OnnxAttribute { Name = name, Type = INTS };
        a.Ints.AddRange(v);
        return a;
    }

    internal void Write(ProtoWriter w)
    {
        w.String(1, Name);
        switch (Type)
        {
            case FLOAT: w.Float(2, F); break;
            case INT: w.Int(3, I); break;
            case STRING: w.String(4, S); break;
            case TENSOR when T is not null: w.Message(5, T.Write); break;
            case FLOATS: foreach (var x in Floats) w.Float(7, x); break;
            case INTS: foreach (var x in Ints) w.Int(8, x); break;
        }
        w.Int(20, Type);
    }

    internal static OnnxAttribute Read(ProtoReader r)
    {
        var a = new OnnxAttribute();
        while (r.Next(out var f))
        {
            switch (f.Number)
            {
                case 1 when f.WireType == 2: a.Name = r.Text(f); break;
                case 2 when f.WireType == 5: a.F = BitConverter.Int32BitsToSingle((int)(uint)f.Value); break;
                case 3 when f.WireType == 0: a.I = (long)f.Value; break;
                case 4 when f.WireType == 2: a.S = r.Text(f); break;
                case 5 when f.WireType == 2: a.T = OnnxTensor.Read(r.Sub(f)); break;
                case 6 or 11 when f.WireType == 2: a.Type = a.Type == 0 ? GRAPH : a.Type; break;
                case 7: r.Floats(f, a.Floats); break;
                case 8: r.Ints(f, a.Ints); break;
                case 20 when f.WireType == 0: a.Type = (int)Math.Min(f.Value, 1000); break;
            }
        }
        return a;
    }
}

/// <summary>A TensorProto: an initializer or a constant, float32, int64 or int32, held on the host.</summary>
public sealed class OnnxTensor
{
    /// <summary>TensorProto.DataType values.</summary>
    public const int FLOAT = 1, INT32 = 6, INT64 = 7;

    /// <summary>The most elements one tensor may claim (2^31 − 1, what a .NET array holds).</summary>
    public const long MaxElements = int.MaxValue;

    /// <summary>name.</summary>
    public string Name { get; set; } = "";
    /// <summary>data_type.</summary>
    public int DataType { get; set; }
    /// <summary>dims.</summary>
    public long[] Dims { get; set; } = [];
    /// <summary>The values of a FLOAT tensor (null otherwise).</summary>
    public float[]? Floats { get; set; }
    /// <summary>The values of an INT64 or INT32 tensor (null otherwise).</summary>
    public long[]? Longs { get; set; }

    /// <summary>Number of elements, the product of the dims.</summary>
    public long Numel => Dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>A FLOAT tensor.</summary>
    public static OnnxTensor FromFloats(string name, float[] values, params long[] dims) => new() { Name = name, DataType = FLOAT, Dims = dims, Floats = values };
    /// <summary>An INT64 tensor.</summary>
    public static OnnxTensor FromLongs(string name, long[] values, params long[] dims) => new() { Name = name, DataType = INT64, Dims = dims, Longs = values };

    internal void Write(ProtoWriter w)
    {
        w.PackedInts(1, Dims);
        w.Int(2, DataType);
        w.String(8, Name);
        if (Floats is { } f) w.Bytes(9, MemoryMarshal.AsBytes(f.AsSpan()));
        else if (Longs is { } l) w.Bytes(9, MemoryMarshal.AsBytes(l.AsSpan()));
    }

    internal static OnnxTensor Read(ProtoReader r)
    {
        var t = new OnnxTensor();
        var dims = new List<long>();
        var floats = new List<float>();
        var ints = new List<long>();
        ProtoField? raw = null;
        bool external = false;
        while (r.Next(out var f))
        {
            switch (f.Number)
            {
                case 1: r.Ints(f, dims); break;
                case 2 when f.WireType == 0: t.DataType = (int)Math.Min(f.Value, 1000); break;
                case 4: r.Floats(f, floats); break;
                case 5 or 7: r.Ints(f, ints); break;
                case 8 when f.WireType == 2: t.Name = r.Text(f); break;
                case 9 when f.WireType == 2: raw = f; break;
                case 13: external = true; break;
                case 14 when f.WireType == 0: external |= f.Value == 1; break;
            }
        }
        t.Dims = dims.ToArray();
        string what = $"tensor '{t.Name}'";
        if (external) throw new FormatException($"{what} keeps its data in an external file, which is not supported");
        long numel = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0) throw new FormatException($"{what} has a negative dimension in [{string.Join(", ", t.Dims)}]");
            if (d > 0 && numel > MaxElements / d) throw new FormatException($"{what} claims [{string.Join(", ", t.Dims)}], more than {MaxElements} elements");
            numel *= d;
        }
        int size = t.DataType switch { FLOAT => 4, INT32 => 4, INT64 => 8, _ => 0 };
        if (size == 0) return t;   // another element type: kept without values; an error where it is used
        if (raw is { } rf)
        {
            if (rf.Length != numel * size) throw new FormatException($"{what}: raw_data holds {rf.Length} bytes, dims [{string.Join(", ", t.Dims)}] need {numel * size}");
            var span = r.Buffer.AsSpan(rf.Offset, rf.Length);
            if (t.DataType == FLOAT)
            {
                t.Floats = new float[numel];
                for (int i = 0; i < numel; i++) t.Floats[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]);
            }
            else
            {
                t.Longs = new long[numel];
                for (int i = 0; i < numel; i++)
                    t.Longs[i] = size == 8 ? BinaryPrimitives.ReadInt64LittleEndian(span[(8 * i)..]) : BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]);
            }
        }
        else if (t.DataType == FLOAT)
        {
            if (floats.Count != numel) throw new FormatException($"{what}: float_data holds {floats.Count} values, dims [{string.Join(", ", t.Dims)}] need {numel}");
            t.Floats = floats.ToArray();
        }
        else
        {
            if (ints.Count != numel) throw new FormatException($"{what}: holds {ints.Count} integers, dims [{string.Join(", ", t.Dims)}] need {numel}");
            t.Longs = t.DataType == INT32 ? ints.Select(v => (long)(int)v).ToArray() : ints.ToArray();
        }
        return t;
    }
}

/// <summary>A ValueInfoProto of a tensor: name, element type and shape, each dimension a number or a symbol ("N").</summary>
public sealed class OnnxValueInfo
{
    /// <summary>name.</summary>
    public string Name { get; set; } = "";
    /// <summary>elem_type (TensorProto.DataType), 0 when not given.</summary>
    public int ElemType { get; set; }
    /// <summary>The dimensions: a size, or null for a symbolic or unknown one; null for no shape at all.</summary>
    public long?[]? Shape { get; set; }
    /// <summary>The symbols of the symbolic dimensions (same length as Shape; null where the size is known).</summary>
    public string?[]? Symbols { get; set; }

    internal void Write(ProtoWriter w)
    {
        w.String(1, Name);
        w.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, ElemType);
            if (Shape is null) return;
            tensor.Message(2, shape =>
            {
                for (int i = 0; i < Shape.Length; i++)
                {
                    long? size = Shape[i];
                    string? sym = Symbols is { } names && i < names.Length ? names[i] : null;
                    shape.Message(1, d => { if (size is { } s) d.Int(1, s); else if (sym is not null) d.String(2, sym); });
                }
            });
        }));
    }

    internal static OnnxValueInfo Read(ProtoReader r)
    {
        var v = new OnnxValueInfo();
        while (r.Next(out var f))
        {
            if (f is { Number: 1, WireType: 2 }) v.Name = r.Text(f);
            else if (f is { Number: 2, WireType: 2 })
            {
                var type = r.Sub(f);
                while (type.Next(out var tf))
                {
                    if (tf is not { Number: 1, WireType: 2 }) continue;
                    var tensor = type.Sub(tf);
                    while (tensor.Next(out var xf))
                    {
                        if (xf is { Number: 1, WireType: 0 }) v.ElemType = (int)Math.Min(xf.Value, 1000);
                        else if (xf is { Number: 2, WireType: 2 })
                        {
                            var dims = new List<long?>();
                            var syms = new List<string?>();
                            var shape = tensor.Sub(xf);
                            while (shape.Next(out var df))
                            {
                                if (df is not { Number: 1, WireType: 2 }) continue;
                                var dim = shape.Sub(df);
                                long? size = null; string? sym = null;
                                while (dim.Next(out var ef))
                                    if (ef is { Number: 1, WireType: 0 }) size = (long)ef.Value;
                                    else if (ef is { Number: 2, WireType: 2 }) sym = dim.Text(ef);
                                dims.Add(size); syms.Add(size is null ? sym : null);
                            }
                            v.Shape = dims.ToArray(); v.Symbols = syms.ToArray();
                        }
                    }
                }
            }
        }
        return v;
    }
}
