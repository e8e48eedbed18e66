using System.Buffers.Binary;
using System.Text;

namespace ScratchNet.onnx;

/// <summary>
/// Protocol Buffers' wire format, the part ONNX files use. A message is a sequence of fields, each a key varint
/// (field number · 8 + wire type) followed by its value: wire type 0 a varint (int32, int64, enums, bools; negative numbers
/// as ten-byte two's complement), 1 eight little-endian bytes (double), 2 a length-delimited run (strings, bytes, nested
/// messages, packed repeated scalars), 5 four little-endian bytes (float). Unknown fields are skipped by their wire type, so a
/// newer file still reads. https://protobuf.dev/programming-guides/encoding/
/// </summary>
public sealed class ProtoWriter
{
    private readonly MemoryStream _out = new();

    /// <summary>The bytes written so far.</summary>
    public byte[] ToArray() => _out.ToArray();

    private void Varint(ulong v)
    {
        while (v >= 0x80) { _out.WriteByte((byte)(v | 0x80)); v >>= 7; }
        _out.WriteByte((byte)v);
    }

    private void Key(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    /// <summary>A varint field (int32, int64, enum).</summary>
    public void Int(int field, long value) { Key(field, 0); Varint((ulong)value); }

    /// <summary>A 32-bit float field (wire type 5).</summary>
    public void Float(int field, float value)
    {
        Key(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _out.Write(b);
    }

    /// <summary>A length-delimited field of raw bytes.</summary>
    public void Bytes(int field, ReadOnlySpan<byte> value) { Key(field, 2); Varint((ulong)value.Length); _out.Write(value); }

    /// <summary>A UTF-8 string field.</summary>
    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A nested message, written by <paramref name="body"/> into its own writer, then length-prefixed.</summary>
    public void Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        Bytes(field, inner._out.GetBuffer().AsSpan(0, (int)inner._out.Length));
    }

    /// <summary>A packed repeated varint field (proto3's default for repeated scalars).</summary>
    public void PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (long v in values) inner.Varint((ulong)v);
        Bytes(field, inner._out.GetBuffer().AsSpan(0, (int)inner._out.Length));
    }
}

/// <summary>One field read by <see cref="ProtoReader"/>: its number, wire type, and value (a varint, fixed bits, or the
/// offset and length of a length-delimited run in the reader's buffer).</summary>
/// <param name="Number">The field number.</param>
/// <param name="WireType">0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.</param>
/// <param name="Value">The varint or the fixed bits (types 0, 1, 5).</param>
/// <param name="Offset">Where the run starts (type 2), absolute in the buffer.</param>
/// <param name="Length">The run's length in bytes (type 2).</param>
public readonly record struct ProtoField(int Number, int WireType, ulong Value, int Offset, int Length);

/// <summary>
/// Reads the fields of one message from a byte range, checking every length against the range: a truncated or corrupt file
/// raises <see cref="ProtoException"/> with the byte offset, never reads outside the buffer or loops.
/// </summary>
public sealed class ProtoReader
{
    private int _pos;
    private readonly int end;

    /// <summary>A reader over the bytes [start, end) of <paramref name="buffer"/>.</summary>
    public ProtoReader(byte[] buffer, int start, int end)
    {
        Buffer = buffer;
        _pos = start;
        this.end = end;
    }

    /// <summary>The buffer the fields point into.</summary>
    public byte[] Buffer { get; }

    /// <summary>A reader over the whole buffer.</summary>
    public ProtoReader(byte[] buffer) : this(buffer, 0, buffer.Length) { }

    /// <summary>The next field, or false at the end of the message.</summary>
    public bool Next(out ProtoField field)
    {
        field = default;
        if (_pos >= end) return false;
        int at = _pos;
        ulong key = Varint();
        int number = (int)(key >> 3), wire = (int)(key & 7);
        if (number <= 0 || key >> 3 > int.MaxValue) throw new ProtoException($"invalid field number {key >> 3}", at);
        switch (wire)
        {
            case 0: field = new(number, 0, Varint(), 0, 0); break;
            case 1: Need(8, at); field = new(number, 1, BinaryPrimitives.ReadUInt64LittleEndian(Buffer.AsSpan(_pos)), 0, 0); _pos += 8; break;
            case 5: Need(4, at); field = new(number, 5, BinaryPrimitives.ReadUInt32LittleEndian(Buffer.AsSpan(_pos)), 0, 0); _pos += 4; break;
            case 2:
                ulong len = Varint();
                if (len > (ulong)(end - _pos)) throw new ProtoException($"field {number} claims {len} bytes, {end - _pos} remain (truncated file?)", at);
                field = new(number, 2, 0, _pos, (int)len);
                _pos += (int)len;
                break;
            default: throw new ProtoException($"field {number} has unsupported wire type {wire}", at);
        }
        return true;
    }

    private void Need(int n, int at)
    {
        if (end - _pos < n) throw new ProtoException($"truncated: {n} bytes needed, {end - _pos} remain", at);
    }

    private ulong Varint()
    {
        ulong v = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= end) throw new ProtoException("truncated varint", _pos);
            byte b = Buffer[_pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw new ProtoException("varint longer than 10 bytes", _pos);
    }

    /// <summary>A reader over a length-delimited field's bytes (a nested message).</summary>
    public ProtoReader Sub(ProtoField f) => new(Buffer, f.Offset, f.Offset + f.Length);

    /// <summary>A length-delimited field as UTF-8 text.</summary>
    public string Text(ProtoField f) => Encoding.UTF8.GetString(Buffer, f.Offset, f.Length);

    /// <summary>A varint field, or each element of a packed one, appended to <paramref name="into"/>.</summary>
    public void Ints(ProtoField f, List<long> into)
    {
        if (f.WireType == 0) { into.Add((long)f.Value); return; }
        if (f.WireType != 2) throw new ProtoException($"field {f.Number}: expected integers, got wire type {f.WireType}", f.Offset);
        var sub = new ProtoReader(Buffer, f.Offset, f.Offset + f.Length);
        while (sub._pos < sub.end) into.Add((long)sub.Varint());
    }

    /// <summary>A fixed32 float field, or each element of a packed one, appended to <paramref name="into"/>.</summary>
    public void Floats(ProtoField f, List<float> into)
    {
        if (f.WireType == 5) { into.Add(BitConverter.Int32BitsToSingle((int)(uint)f.Value)); return; }
        if (f.WireType != 2 || f.Length % 4 != 0) throw new ProtoException($"field {f.Number}: expected floats, got wire type {f.WireType} of {f.Length} bytes", f.Offset);
        for (int i = 0; i < f.Length; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(Buffer.AsSpan(f.Offset + i)));
    }
}

/// <summary>A malformed protobuf message: what is wrong and the byte offset where it was found.</summary>
public sealed class ProtoException(string message, long offset) : Exception(message)
{
    /// <summary>The byte offset in the file.</summary>
    public long Offset { get; } = offset;
}
