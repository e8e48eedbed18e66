using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace ScratchNet.Tests;

/// <summary>
/// Format-aware mutations for <see cref="FuzzCase.Run"/>: they keep a file's container valid (chunk CRCs,
/// segment lengths) while changing what is inside, so cases get past the first checks.
/// </summary>
public static class ImageMutations
{
    /// <summary>PNG: a field inside a chunk with its CRC fixed; a whole chunk duplicated.</summary>
    public static Mutation[] Png => [PngChunkField, PngDuplicateChunk];

    /// <summary>JPEG: a 16-bit field inside a marker segment (SOF sizes half of the time); a segment duplicated.</summary>
    public static Mutation[] Jpeg => [JpegSegmentField, JpegDuplicateSegment];

    // PNG: chunks are length (4, big-endian), type (4), data, CRC-32 of type and data (4). A mutation inside
    // a chunk with the CRC recomputed gets past the decoder's CRC check to the code that uses the fields.

    /// <summary>CRC-32 (polynomial 0xEDB88320, reflected, initial and final XOR 0xFFFFFFFF), as in PNG and gzip.</summary>
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320 & (0u - (crc & 1)));
        }
        return ~crc;
    }

    private static List<(int At, int Length)> PngChunks(byte[] d)
    {
        var chunks = new List<(int, int)>();
        int pos = 8;
        while (pos + 12 <= d.Length)
        {
            uint n = BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(pos));
            if (n > d.Length - pos - 12) break;
            chunks.Add((pos, (int)n));
            pos += 12 + (int)n;
        }
        return chunks;
    }

    /// <summary>Changes a 4-byte field or one byte inside a chunk (IHDR half of the time) and recomputes the chunk's CRC.</summary>
    public static byte[] PngChunkField(Random rng, byte[] d, StringBuilder log)
    {
        var chunks = PngChunks(d).Where(c => c.Length >= 4).ToList();
        if (chunks.Count == 0) return d;
        // IHDR (width, height, depth, colour type...) half of the time.
        var (at, length) = rng.Next(2) == 0 ? chunks[0] : chunks[rng.Next(chunks.Count)];
        int field = at + 8 + rng.Next(length - 3) / 4 * 4;
        if (rng.Next(3) == 0) d[at + 8 + rng.Next(length)] = FuzzCase.InterestingBytes[rng.Next(4)];
        else BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(field), (uint)FuzzCase.InterestingSizes[rng.Next(FuzzCase.InterestingSizes.Length)]);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(at + 8 + length), Crc32(d.AsSpan(at + 4, 4 + length)));
        log.Append($"png chunk {Encoding.ASCII.GetString(d, at + 4, 4)} at {at} field {field - at - 8} changed, CRC fixed; ");
        return d;
    }

    /// <summary>Inserts a copy of a whole chunk before another chunk or at the end.</summary>
    public static byte[] PngDuplicateChunk(Random rng, byte[] d, StringBuilder log)
    {
        var chunks = PngChunks(d);
        if (chunks.Count == 0) return d;
        var (at, length) = chunks[rng.Next(chunks.Count)];
        var (to, _) = chunks[rng.Next(chunks.Count)];
        if (rng.Next(3) == 0) to = d.Length;
        log.Append($"png chunk {Encoding.ASCII.GetString(d, at + 4, 4)} at {at} duplicated at {to}; ");
        return [.. d.AsSpan(0, to), .. d.AsSpan(at, 12 + length), .. d.AsSpan(to)];
    }

    // JPEG: segments are FF, a marker, a big-endian length counting itself, then data; SOF holds precision,
    // height and width, DHT the Huffman tables, SOS the component selectors.

    private static List<(int At, int Length)> JpegSegments(byte[] d)
    {
        var segments = new List<(int, int)>();
        int pos = 2;
        while (pos + 4 <= d.Length && d[pos] == 0xFF && d[pos + 1] is not (0xD9 or 0xDA))
        {
            int n = (d[pos + 2] << 8) | d[pos + 3];
            if (n < 2 || pos + 2 + n > d.Length) break;
            segments.Add((pos, 2 + n));
            pos += 2 + n;
        }
        if (pos + 4 <= d.Length && d[pos] == 0xFF && d[pos + 1] == 0xDA) segments.Add((pos, 2 + ((d[pos + 2] << 8) | d[pos + 3])));
        return segments;
    }

    /// <summary>Writes an interesting 16-bit value inside a marker segment (SOF half of the time).</summary>
    public static byte[] JpegSegmentField(Random rng, byte[] d, StringBuilder log)
    {
        var segments = JpegSegments(d).Where(s => s.Length > 6 && s.At + s.Length <= d.Length).ToList();
        if (segments.Count == 0) return d;
        // SOF (FF C0..C2) half of the time: its size fields.
        var sof = segments.Where(s => d[s.At + 1] is 0xC0 or 0xC1 or 0xC2).ToList();
        var (at, length) = sof.Count > 0 && rng.Next(2) == 0 ? sof[0] : segments[rng.Next(segments.Count)];
        int field = at + 4 + rng.Next(length - 5);
        ushort v = (ushort)FuzzCase.InterestingSizes[rng.Next(FuzzCase.InterestingSizes.Length)];
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(field), v);
        log.Append($"jpeg segment FF {d[at + 1]:X2} at {at}: {v} written at +{field - at}; ");
        return d;
    }

    /// <summary>Inserts a copy of a whole marker segment before another one.</summary>
    public static byte[] JpegDuplicateSegment(Random rng, byte[] d, StringBuilder log)
    {
        var segments = JpegSegments(d).Where(s => s.At + s.Length <= d.Length).ToList();
        if (segments.Count == 0) return d;
        var (at, length) = segments[rng.Next(segments.Count)];
        int to = segments[rng.Next(segments.Count)].At;
        log.Append($"jpeg segment FF {d[at + 1]:X2} at {at} duplicated at {to}; ");
        return [.. d.AsSpan(0, to), .. d.AsSpan(at, length), .. d.AsSpan(to)];
    }
}

/// <summary>
/// Safetensors header mutations: structural JSON edits (shapes, dtypes, offsets, metadata, keys, nesting),
/// invalid UTF-8 inside strings, and a header length that disagrees with the header. Checkpoint formats
/// built on safetensors can pass <see cref="All"/> to <see cref="FuzzCase.Run"/> as their extra mutations.
/// </summary>
public static class SafetensorsMutations
{
    /// <summary>The header mutations, the JSON edits weighted three times.</summary>
    public static Mutation[] All => [HeaderEdit, HeaderEdit, HeaderEdit, InvalidUtf8InString, HeaderLength];

    /// <summary>Splits a safetensors file into its JSON header and data; null when the length field does not fit the file.</summary>
    public static (string Json, byte[] Data)? SplitSafetensors(byte[] d)
    {
        if (d.Length < 8) return null;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(d);
        if (n > (ulong)(d.Length - 8)) return null;
        return (Encoding.UTF8.GetString(d, 8, (int)n), d[(8 + (int)n)..]);
    }

    /// <summary>Puts a header and data back together, padding the header with spaces to a multiple of 8.</summary>
    public static byte[] JoinSafetensors(byte[] header, byte[] data)
    {
        int padded = (header.Length + 7) / 8 * 8;
        var file = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + padded);
        return file;
    }

    private static readonly JsonNode?[] BadShapes =
    [
        new JsonArray(1L << 62, 1L << 62), new JsonArray(-1), new JsonArray(1.5), new JsonArray("3"), new JsonArray(),
        new JsonArray(int.MaxValue, int.MaxValue, int.MaxValue), new JsonArray(0), new JsonArray(long.MaxValue),
        new JsonArray(Enumerable.Range(0, 40).Select(_ => (JsonNode?)JsonValue.Create(2)).ToArray()), JsonValue.Create(6), null, new JsonObject(),
    ];

    private static readonly JsonNode?[] BadDtypes =
    [
        JsonValue.Create("F33"), JsonValue.Create("f32"), JsonValue.Create(""), JsonValue.Create(4), null,
        JsonValue.Create("F64"), JsonValue.Create("BOOL"), JsonValue.Create("I64"), new JsonArray("F32"),
    ];

    private static readonly JsonNode?[] BadMetadata =
    [
        JsonValue.Create(5), JsonValue.Create("pt"), new JsonArray(), null, new JsonObject { ["k"] = 1 },
        new JsonObject { ["k"] = null }, new JsonObject { ["k"] = new JsonObject { ["x"] = "y" } }, new JsonObject { ["k"] = new JsonArray("a") },
        new JsonObject { ["k"] = true },
    ];

    /// <summary>One structural edit of the JSON header: shapes, dtypes, offsets, metadata, keys.</summary>
    public static byte[] HeaderEdit(Random rng, byte[] d, StringBuilder log)
    {
        if (SplitSafetensors(d) is not { } split) return d;
        var (json, data) = split;
        JsonObject root;
        List<string> tensors;
        try
        {
            root = JsonNode.Parse(json.TrimEnd(' ')) as JsonObject ?? throw new FormatException();
            tensors = root.Where(kv => kv.Key != "__metadata__" && kv.Value is JsonObject).Select(kv => kv.Key).ToList();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            return d; // an earlier mutation left no JSON object with unique keys to edit
        }
        string? name = tensors.Count > 0 ? tensors[rng.Next(tensors.Count)] : null;
        var t = name is null ? null : (JsonObject)root[name]!;
        switch (rng.Next(9))
        {
            case 0 when t is not null:
                var shape = BadShapes[rng.Next(BadShapes.Length)]?.DeepClone();
                t["shape"] = shape;
                log.Append($"shape of {name} = {shape?.ToJsonString() ?? "null"}; ");
                break;
            case 1 when t is not null:
                var dtype = BadDtypes[rng.Next(BadDtypes.Length)]?.DeepClone();
                t["dtype"] = dtype;
                log.Append($"dtype of {name} = {dtype?.ToJsonString() ?? "null"}; ");
                break;
            case 2 when t is not null && tensors.Count > 1:
                // Overlapping offsets: another tensor's range, or one that covers everything.
                string other = tensors[(tensors.IndexOf(name!) + 1 + rng.Next(tensors.Count - 1)) % tensors.Count];
                t["data_offsets"] = rng.Next(2) == 0 ? root[other]?["data_offsets"]?.DeepClone() : new JsonArray(0, data.Length);
                log.Append($"data_offsets of {name} = {t["data_offsets"]?.ToJsonString() ?? "null"}; ");
                break;
            case 3 when t is not null:
                JsonNode?[] offsets = [new JsonArray(-8, 0), new JsonArray(8, 0), new JsonArray(0, long.MaxValue), new JsonArray(long.MaxValue - 4, long.MaxValue),
                                       new JsonArray(0, 4, 8), new JsonArray(0), new JsonArray("0", "4"), new JsonArray(0.0, 4.5), JsonValue.Create(0), null];
                t["data_offsets"] = offsets[rng.Next(offsets.Length)]?.DeepClone();
                log.Append($"data_offsets of {name} = {t["data_offsets"]?.ToJsonString() ?? "null"}; ");
                break;
            case 4:
                var meta = BadMetadata[rng.Next(BadMetadata.Length)]?.DeepClone();
                root["__metadata__"] = meta;
                log.Append($"__metadata__ = {meta?.ToJsonString() ?? "null"}; ");
                break;
            case 5 when t is not null:
                string key = new[] { "dtype", "shape", "data_offsets" }[rng.Next(3)];
                t.Remove(key);
                log.Append($"{key} of {name} removed; ");
                break;
            case 6 when t is not null:
                root[name!] = rng.Next(2) == 0 ? JsonValue.Create(1) : new JsonArray(t.DeepClone());
                log.Append($"entry {name} replaced by a non-object; ");
                break;
            case 7:
                // Nesting deeper than the reader's limit.
                JsonNode deep = JsonValue.Create(1);
                for (int i = 0; i < 20; i++) deep = new JsonArray(deep);
                root["deep"] = deep;
                log.Append("20-deep array added; ");
                break;
            default:
                // A duplicate key, written textually (JsonObject cannot hold one).
                if (name is null) return d;
                string entry = $"\"{name}\":{t!.ToJsonString()}";
                string text = root.ToJsonString();
                log.Append($"entry {name} duplicated; ");
                return JoinSafetensors(Encoding.UTF8.GetBytes(text.Insert(1, entry + ",")), data);
        }
        return JoinSafetensors(Encoding.UTF8.GetBytes(root.ToJsonString()), data);
    }

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xC3, 0x28], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFE, 0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ];

    /// <summary>Invalid UTF-8 bytes right after the opening quote of some string in the header (a name, a dtype, metadata).</summary>
    public static byte[] InvalidUtf8InString(Random rng, byte[] d, StringBuilder log)
    {
        if (SplitSafetensors(d) is not { } split) return d;
        var (json, data) = split;
        byte[] header = Encoding.UTF8.GetBytes(json.TrimEnd(' '));
        var quotes = Enumerable.Range(0, header.Length).Where(i => header[i] == (byte)'"').ToList();
        if (quotes.Count == 0) return d;
        int at = quotes[rng.Next(quotes.Count)] + 1;
        byte[] bad = InvalidUtf8[rng.Next(InvalidUtf8.Length)];
        log.Append($"invalid UTF-8 {Convert.ToHexString(bad)} inserted at header byte {at}; ");
        return JoinSafetensors([.. header.AsSpan(0, at), .. bad, .. header.AsSpan(at)], data);
    }

    /// <summary>A header length that disagrees with the header: off by a little, or huge.</summary>
    public static byte[] HeaderLength(Random rng, byte[] d, StringBuilder log)
    {
        if (d.Length < 8) return d;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(d);
        ulong[] values = [n + 1, n - 1, n + 8, n - 8, 0, 1, (ulong)d.Length, (ulong)d.Length - 7, ulong.MaxValue, 1UL << 63, 100_000_001];
        ulong v = values[rng.Next(values.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(d, v);
        log.Append($"header length = {v}; ");
        return d;
    }
}
