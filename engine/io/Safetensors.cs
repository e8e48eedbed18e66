using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using ScratchNet.data;

namespace ScratchNet.io;

/// <summary>
/// One tensor of a safetensors file, on the host: its dtype name ("F32", "I32", "I64", ...), shape and raw
/// little-endian bytes.
/// </summary>
public sealed class SafeTensor
{
    public SafeTensor(string dtype, long[] shape, byte[] data)
    {
        if (!Safetensors.DTypeSizes.TryGetValue(dtype, out int size))
            throw new ArgumentException($"SafeTensor: unknown dtype '{dtype}'");
        long numel = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"SafeTensor: negative size in shape [{string.Join(", ", shape)}]");
            numel = checked(numel * d);
        }
        if (data.LongLength != numel * size)
            throw new ArgumentException($"SafeTensor: {data.LongLength} bytes for {dtype} shape [{string.Join(", ", shape)}] (expected {numel * size})");
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    public string DType { get; }
    public long[] Shape { get; }
    /// <summary>The elements, little-endian, row-major.</summary>
    public byte[] Data { get; }
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);

    public static SafeTensor FromFloats(float[] values, params long[] shape) => new("F32", shape, Safetensors.ToLittleEndian<float>(values));
    public static SafeTensor FromInts(int[] values, params long[] shape) => new("I32", shape, Safetensors.ToLittleEndian<int>(values));
    public static SafeTensor FromLongs(long[] values, params long[] shape) => new("I64", shape, Safetensors.ToLittleEndian<long>(values));

    public float[] ToFloatArray() => DType == "F32" ? Safetensors.FromLittleEndian<float>(Data) : throw new InvalidOperationException($"SafeTensor: dtype is {DType}, not F32");
    public int[] ToIntArray() => DType == "I32" ? Safetensors.FromLittleEndian<int>(Data) : throw new InvalidOperationException($"SafeTensor: dtype is {DType}, not I32");
    public long[] ToLongArray() => DType == "I64" ? Safetensors.FromLittleEndian<long>(Data) : throw new InvalidOperationException($"SafeTensor: dtype is {DType}, not I64");

    /// <summary>A new Float32 (from F32) or Int32 (from I32) tensor on <paramref name="device"/>.</summary>
    public Tensor ToTensor(Device? device = null)
    {
        int[] shape = Shape.Length == 0 ? [1] : Shape.Select(d => checked((int)d)).ToArray();
        return DType switch
        {
            "F32" => Tensor.FromArray(ToFloatArray(), shape, device),
            "I32" => IntTensor(shape, device),
            _ => throw new InvalidOperationException($"SafeTensor: no {DType} tensors in ScratchNet; read the values with ToLongArray()/Data"),
        };
    }

    private Tensor IntTensor(int[] shape, Device? device)
    {
        var t = Tensor.Empty(shape, device, Kernels.DType.Int32);
        t.Backend.Upload(ToIntArray(), t.Storage);
        return t;
    }

    public override string ToString() => $"{DType}[{string.Join(", ", Shape)}]";
}

/// <summary>The contents of a safetensors file: tensors by name and the optional string metadata.</summary>
public sealed class SafetensorsFile(IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string> metadata)
{
    public IReadOnlyDictionary<string, SafeTensor> Tensors { get; } = tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;
    public SafeTensor this[string name] => Tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"safetensors: no tensor named '{name}'");
}

/// <summary>
/// The safetensors checkpoint format (https://github.com/huggingface/safetensors), readable by PyTorch with
/// safetensors.torch.load_file:
/// <code>
///   8 bytes   N, the header length, unsigned 64-bit little-endian
///   N bytes   JSON: {"__metadata__": {"k": "v", ...},
///                    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
///             padded with spaces to a multiple of 8
///   rest      the tensor data, little-endian, row-major; offsets are relative to the start of this part
/// </code>
/// As the reference writer does, tensors are laid out by descending dtype alignment, then by name (byte
/// order), with no gaps, and the header lists __metadata__ first and then the tensors in data order.
///
/// Writing never loses an existing checkpoint: the file is written through <see cref="AtomicFile"/> (a temporary
/// file in the same folder, flushed to disk, then renamed over the old one).
/// </summary>
public static class Safetensors
{
    /// <summary>Element sizes of the dtypes we accept, in the reference implementation's alignment order (ascending).</summary>
    internal static readonly IReadOnlyDictionary<string, int> DTypeSizes = new Dictionary<string, int>
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8,
    };

    private static readonly string[] AlignmentOrder = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    /// <summary>The reference implementation refuses headers above 100 MB.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    // ---------------------------------------------------------------- writing

    /// <summary>Writes host tensors by name, with optional string metadata.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
                            Action<FileEvent>? onEvent = null)
        => Write(path, tensors.Select(kv => (kv.Key, kv.Value.DType, kv.Value.Shape, (Func<byte[]>)(() => kv.Value.Data))).ToList(), metadata, onEvent);

    /// <summary>
    /// Writes device tensors under their names (Float32 → F32, Int32 → I32). Each tensor is downloaded only
    /// when its turn comes, so a large model is never held twice in host memory.
    /// </summary>
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null,
                            Action<FileEvent>? onEvent = null)
        => Write(path, tensors.Select(nt => (nt.Name, nt.Tensor.DType == Kernels.DType.Float32 ? "F32" : "I32",
                                             nt.Tensor.Shape.Select(d => (long)d).ToArray(), (Func<byte[]>)(() => TensorBytes(nt.Tensor)))).ToList(), metadata, onEvent);

    /// <summary>Writes tensors under their <see cref="Tensor.Name"/> (parameters carry their module path).</summary>
    public static void Save(string path, IEnumerable<Tensor> namedTensors, IReadOnlyDictionary<string, string>? metadata = null)
        => Save(path, namedTensors.Select(t => (t.Name ?? throw new ArgumentException($"Safetensors.Save: tensor {t} has no Name"), t)), metadata);

    private static byte[] TensorBytes(Tensor t)
        => t.DType == Kernels.DType.Float32 ? ToLittleEndian<float>(t.ToArray()) : ToLittleEndian<int>(t.ToIntArray());

    private static void Write(string path, List<(string Name, string DType, long[] Shape, Func<byte[]> Data)> entries, IReadOnlyDictionary<string, string>? metadata,
                              Action<FileEvent>? onEvent)
    {
        const string op = "Safetensors.Save";
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (e.Name.Length == 0 || e.Name == "__metadata__") throw new ArgumentException($"{op}: invalid tensor name '{e.Name}'");
            if (!names.Add(e.Name)) throw new ArgumentException($"{op}: two tensors are named '{e.Name}'");
        }

        // Layout: descending dtype alignment, then name compared as UTF-8 bytes (Rust's str ordering).
        var order = entries.OrderByDescending(e => Array.IndexOf(AlignmentOrder, e.DType))
                           .ThenBy(e => e.Name, Utf8Order.Instance).ToList();
        var offsets = new List<(long Begin, long End)>();
        long offset = 0;
        foreach (var e in order)
        {
            long n = e.Shape.Aggregate(1L, (a, b) => checked(a * b)) * DTypeSizes[e.DType];
            offsets.Add((offset, offset + n));
            offset += n;
        }

        byte[] header = BuildHeader(order.Select((e, i) => (e.Name, e.DType, e.Shape, offsets[i])).ToList(), metadata);

        AtomicFile.Write(path, f =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            f.Write(len);
            f.Write(header);
            for (int i = 0; i < order.Count; i++)
            {
                byte[] data = order[i].Data();
                long expected = offsets[i].End - offsets[i].Begin;
                if (data.LongLength != expected)
                    throw new InvalidOperationException($"{op}: tensor '{order[i].Name}' gave {data.LongLength} bytes, expected {expected}");
                f.Write(data);
            }
        }, onEvent);
    }

    private static byte[] BuildHeader(List<(string Name, string DType, long[] Shape, (long Begin, long End) Offsets)> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, Utf8Order.Instance)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType);
                w.WriteStartArray("shape");
                foreach (long d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Offsets.Begin);
                w.WriteNumberValue(e.Offsets.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    // ---------------------------------------------------------------- reading

    /// <summary>Reads and validates only the header of a safetensors file and returns its __metadata__ (no tensor data is read).</summary>
    public static IReadOnlyDictionary<string, string> LoadMetadata(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var f = File.OpenRead(path);
        var (header, _) = ReadHeaderBytes(path, f);
        return ParseHeader(path, header).Item2;
    }

    // The 8-byte length and the JSON header, checked against the file's size; returns the header and where the data starts.
    private static (byte[] Header, long DataStart) ReadHeaderBytes(string path, FileStream f)
    {
        long fileLength = f.Length;
        if (fileLength < 8)
            throw new DataFormatException(path, $"truncated safetensors file: {fileLength} bytes, the header length alone needs 8", offset: fileLength);
        Span<byte> len = stackalloc byte[8];
        f.ReadExactly(len);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > MaxHeaderBytes) throw new DataFormatException(path, $"header length {n} is larger than the {MaxHeaderBytes}-byte limit (not a safetensors file?)", offset: 0);
        if (8 + (long)n > fileLength)
            throw new DataFormatException(path, $"truncated safetensors file: the header claims {n} bytes but the file has only {fileLength - 8} after the length", offset: fileLength);
        var header = new byte[n];
        f.ReadExactly(header);
        return (header, 8 + (long)n);
    }

    /// <summary>Reads and validates a whole safetensors file.</summary>
    public static SafetensorsFile Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var f = File.OpenRead(path);
        long fileLength = f.Length;
        var (header, dataStart) = ReadHeaderBytes(path, f);
        long dataLength = fileLength - dataStart;

        var (infos, metadata) = ParseHeader(path, header);

        // The data must be covered exactly, in order, with no gaps or overlaps (as the reference validates).
        var sorted = infos.OrderBy(i => i.Begin).ThenBy(i => i.End).ToList();
        long expectedBegin = 0;
        foreach (var info in sorted)
        {
            if (info.Begin != expectedBegin)
                throw new DataFormatException(path, $"tensor '{info.Name}': data_offsets [{info.Begin}, {info.End}] {(info.Begin < expectedBegin ? "overlap the previous tensor" : "leave a gap")} (expected to begin at {expectedBegin})", offset: dataStart + Math.Min(info.Begin, dataLength));
            if (info.End > dataLength)
                throw new DataFormatException(path, $"tensor '{info.Name}': data_offsets [{info.Begin}, {info.End}] out of range: the data part has {dataLength} bytes (truncated file?)", offset: dataStart + dataLength);
            if (info.End - info.Begin > Array.MaxLength)
                throw new DataFormatException(path, $"tensor '{info.Name}' has {info.End - info.Begin:N0} bytes, more than one array can hold ({Array.MaxLength:N0})", offset: dataStart + info.Begin);
            expectedBegin = info.End;
        }
        if (expectedBegin != dataLength)
            throw new DataFormatException(path, $"{dataLength - expectedBegin} bytes after the last tensor are not described by the header", offset: dataStart + expectedBegin);

        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var info in sorted)
        {
            var data = new byte[info.End - info.Begin];
            f.Position = dataStart + info.Begin;
            f.ReadExactly(data);
            tensors[info.Name] = new SafeTensor(info.DType, info.Shape, data);
        }
        return new SafetensorsFile(tensors, metadata);
    }

    private sealed record Info(string Name, string DType, long[] Shape, long Begin, long End);

    private static (List<Info>, Dictionary<string, string>) ParseHeader(string path, byte[] header)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
            throw new DataFormatException(path, "the header is not a JSON object (it must start with '{')", offset: 8);
        // JSON text is UTF-8 (RFC 8259). The JSON reader does not check the bytes inside strings, and
        // JsonElement.GetString() would fail on them later with an InvalidOperationException: check first.
        if (!Utf8.IsValid(header))
            throw new DataFormatException(path, "the header is not valid UTF-8", offset: 8 + FirstInvalidUtf8(header));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' '), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"the header is not valid JSON: {e.Message}", offset: 8, inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFormatException(path, "the header is not a JSON object", offset: 8);
            var infos = new List<Info>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw new DataFormatException(path, $"the header names '{prop.Name}' twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new DataFormatException(path, "__metadata__ must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new DataFormatException(path, $"__metadata__ value of '{m.Name}' is not a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                infos.Add(ParseInfo(path, prop.Name, prop.Value));
            }
            return (infos, metadata);
        }
    }

    /// <summary>The offset of the first byte that does not start or continue a valid UTF-8 sequence.</summary>
    private static long FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[1024];
        int done = 0;
        while (done < bytes.Length)
        {
            var status = Utf8.ToUtf16(bytes[done..], chars, out int read, out _, replaceInvalidSequences: false);
            done += read;
            if (status != OperationStatus.DestinationTooSmall) break;
        }
        return done;
    }

    private static Info ParseInfo(string path, string name, JsonElement e)
    {
        [DoesNotReturn] void Bad(string what) => throw new DataFormatException(path, $"tensor '{name}': {what}");
        if (e.ValueKind != JsonValueKind.Object) Bad("its entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) Bad("missing \"dtype\" string");
        string dtype = dt.GetString()!;
        if (!DTypeSizes.TryGetValue(dtype, out int size)) Bad($"unknown dtype '{dtype}'");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) Bad("missing \"shape\" array");
        var shape = new List<long>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0) Bad($"shape {sh.GetRawText()} has an entry that is not a non-negative integer");
            shape.Add(d.GetInt64());
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2) Bad("missing \"data_offsets\" [begin, end]");
        long[] be = new long[2];
        int k = 0;
        foreach (var o in off.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out be[k]) || be[k] < 0) Bad($"data_offsets {off.GetRawText()} are not non-negative integers");
            k++;
        }
        if (be[1] < be[0]) Bad($"data_offsets {off.GetRawText()} end before they begin");
        long numel = 1;
        try { foreach (long d in shape) numel = checked(numel * d); numel = checked(numel * size); }
        catch (OverflowException) { Bad($"shape {sh.GetRawText()} is too large"); }
        if (be[1] - be[0] != numel)
            Bad($"data_offsets {off.GetRawText()} hold {be[1] - be[0]} bytes but {dtype} shape {sh.GetRawText()} needs {numel}");
        return new Info(name, dtype, shape.ToArray(), be[0], be[1]);
    }

    /// <summary>
    /// Copies the values of a checkpoint into existing tensors with the same names (model.load_state_dict):
    /// shapes and dtypes must match. With <paramref name="strict"/>, a tensor missing from the file or a
    /// file tensor with no counterpart is an error.
    /// </summary>
    public static void LoadInto(string path, IEnumerable<(string Name, Tensor Tensor)> targets, bool strict = true)
        => LoadInto(Load(path), path, targets, strict);

    /// <summary>
    /// <see cref="LoadInto(string, IEnumerable{ValueTuple{string, Tensor}}, bool)"/> from a file already read: target
    /// <c>name</c> takes the file's tensor <c>prefix + name</c>, and <paramref name="strict"/> looks only at the file's
    /// tensors under that prefix (a training state holds "model.*" weights next to the optimizer's "state.*").
    /// With <paramref name="requireFinite"/>, a Float32 tensor holding NaN or ±Inf is refused, naming it.
    /// </summary>
    public static void LoadInto(SafetensorsFile file, string path, IEnumerable<(string Name, Tensor Tensor)> targets, bool strict = true,
                                string prefix = "", bool requireFinite = false)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (shortName, t) in targets)
        {
            string name = prefix + shortName;
            if (!file.Tensors.TryGetValue(name, out var st))
            {
                if (strict) throw new DataFormatException(path, $"has no tensor '{name}' (expected {t.DType} {t.ShapeString})");
                continue;
            }
            used.Add(name);
            if (!st.Shape.SequenceEqual(t.Shape.Select(d => (long)d)))
                throw new DataFormatException(path, $"tensor '{name}' has shape [{string.Join(", ", st.Shape)}], the model expects {t.ShapeString}");
            if (t.DType == Kernels.DType.Float32)
            {
                if (st.DType != "F32") throw new DataFormatException(path, $"tensor '{name}' is {st.DType}, the model expects F32");
                var values = st.ToFloatArray();
                if (requireFinite) RequireFinite(path, name, st.Shape, values);
                t.CopyFrom(values);
            }
            else if (st.DType == "I64")
            {
                // PyTorch keeps integer buffers (BatchNorm's num_batches_tracked) as int64; ours are Int32.
                var longs = st.ToLongArray();
                var ints = new int[longs.Length];
                for (int i = 0; i < longs.Length; i++)
                    ints[i] = longs[i] is >= int.MinValue and <= int.MaxValue ? (int)longs[i]
                        : throw new DataFormatException(path, $"tensor '{name}' holds {longs[i]} at element {i}, outside the Int32 range of the model's tensor");
                t.Backend.Upload(ints, t.Storage);
            }
            else
            {
                if (st.DType != "I32") throw new DataFormatException(path, $"tensor '{name}' is {st.DType}, the model expects I32 (or I64)");
                t.Backend.Upload(st.ToIntArray(), t.Storage);
            }
        }
        if (strict)
        {
            var extra = file.Tensors.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !used.Contains(k)).ToArray();
            if (extra.Length > 0) throw new DataFormatException(path, $"has tensors the model does not: {string.Join(", ", extra)}");
        }
    }

    /// <summary>Throws a DataFormatException naming the file, the tensor and the first element that is NaN or ±Inf.</summary>
    public static void RequireFinite(string path, string name, long[] shape, ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            // Row-major index of element i: the last dimension varies fastest.
            var index = new long[shape.Length];
            long rest = i;
            for (int d = shape.Length - 1; d >= 0; d--) { if (shape[d] > 0) { index[d] = rest % shape[d]; rest /= shape[d]; } }
            int bad = 0;
            foreach (float v in values) if (!float.IsFinite(v)) bad++;
            throw new DataFormatException(path, $"tensor '{name}' holds {values[i]} at [{string.Join(", ", index)}] ({bad} of {values.Length} values are NaN or infinite): these weights are broken (did the training diverge?)");
        }
    }

    /// <summary>LoadInto for tensors that carry their <see cref="Tensor.Name"/>.</summary>
    public static void LoadInto(string path, IEnumerable<Tensor> namedTensors, bool strict = true)
        => LoadInto(path, namedTensors.Select(t => (t.Name ?? throw new ArgumentException($"Safetensors.LoadInto: tensor {t} has no Name"), t)), strict);

    // ---------------------------------------------------------------- little-endian helpers

    internal static byte[] ToLittleEndian<T>(T[] values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEach(bytes, Marshal.SizeOf<T>());
        return bytes;
    }

    internal static T[] FromLittleEndian<T>(byte[] data) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        var values = new T[data.Length / size];
        var dst = MemoryMarshal.AsBytes(values.AsSpan());
        data.AsSpan(0, dst.Length).CopyTo(dst);
        if (!BitConverter.IsLittleEndian) ReverseEach(dst, size);
        return values;
    }

    private static void ReverseEach(Span<byte> bytes, int size)
    {
        for (int i = 0; i + size <= bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }

    /// <summary>Orders strings by their UTF-8 bytes, as Rust compares str.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();
        public int Compare(string? a, string? b) => Encoding.UTF8.GetBytes(a ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b ?? ""));
    }
}
