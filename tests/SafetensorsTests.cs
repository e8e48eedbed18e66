using System.Buffers.Binary;
using System.Text;
using ScratchNet.data;
using ScratchNet.io;

namespace ScratchNet.Tests;

/// <summary>safetensors: the exact layout of the reference writer, round trips, atomic replace, corrupted files.</summary>
public class SafetensorsTests
{
    private static (string Header, byte[] Data) Split(byte[] file)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, (int)n), file[(8 + (int)n)..]);
    }

    /// <summary>Builds a file the way the Python package writes one: length, JSON, data.</summary>
    private static byte[] Build(string json, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    [Fact]
    public void LayoutFollowsTheReferenceWriter()
    {
        using var dir = new TempDir();
        var tensors = new Dictionary<string, SafeTensor>
        {
            ["b"] = SafeTensor.FromFloats([1f, 2f], 2),
            ["a"] = SafeTensor.FromFloats([3f, 4f], 1, 2),
            ["step"] = SafeTensor.FromLongs([7], 1),
            ["labels"] = SafeTensor.FromInts([5, 6, 7], 3),
        };
        Safetensors.Save(dir["m.safetensors"], tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var (header, data) = Split(File.ReadAllBytes(dir["m.safetensors"]));
        // Descending dtype alignment (I64, F32, I32), then name; __metadata__ first; compact JSON padded with spaces to 8.
        const string expected = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"step\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
            + "\"labels\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[24,36]}}";
        Assert.Equal(expected, header.TrimEnd(' '));
        Assert.Equal(0, header.Length % 8);
        Assert.True(header.Length - expected.Length < 8);
        // Little-endian data in that order.
        Assert.Equal(36, data.Length);
        Assert.Equal(7L, BinaryPrimitives.ReadInt64LittleEndian(data));
        Assert.Equal(3f, BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(8)));
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(20)));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(32)));
    }

    [Fact]
    public void RoundTripKeepsValuesShapesDtypesAndMetadata()
    {
        using var dir = new TempDir();
        var g = new Generator(5);
        var w = TestUtil.RandomArray(g, 6 * 5 * 3 * 3);
        var tensors = new Dictionary<string, SafeTensor>
        {
            ["features.0.weight"] = SafeTensor.FromFloats(w, 6, 5, 3, 3),
            ["features.0.bias"] = SafeTensor.FromFloats([float.NaN, float.PositiveInfinity, -0f, 1e-42f, float.MaxValue, -1f], 6),
            ["rng"] = SafeTensor.FromLongs([long.MinValue, -1, long.MaxValue], 3),
            ["ints"] = SafeTensor.FromInts([int.MinValue, 0, int.MaxValue, 3], 2, 2),
            ["scalar"] = SafeTensor.FromFloats([2.5f]),
            ["empty"] = SafeTensor.FromFloats([], 0, 4),
        };
        var meta = new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "ünïcode \"quoted\"" };
        string path = dir["ckpt.safetensors"];
        Safetensors.Save(path, tensors, meta);
        var file = Safetensors.Load(path);
        Assert.Equal(meta, file.Metadata);
        Assert.Equal(tensors.Keys.Order(), file.Tensors.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.DType, file[name].DType);
            Assert.Equal(t.Shape, file[name].Shape);
            Assert.Equal(t.Data, file[name].Data); // bit-exact, NaN and -0 included
        }
        Assert.Equal(w, file["features.0.weight"].ToFloatArray());
        Assert.Equal([long.MinValue, -1, long.MaxValue], file["rng"].ToLongArray());
        Assert.Equal([int.MinValue, 0, int.MaxValue, 3], file["ints"].ToIntArray());
        Assert.Empty(file["scalar"].Shape);
        Assert.Throws<KeyNotFoundException>(() => file["nope"]);
        Assert.Throws<InvalidOperationException>(() => file["rng"].ToFloatArray());
    }

    [Fact]
    public void ReadsAFileWrittenByHand()
    {
        // As safetensors.torch.save_file({"x": torch.tensor([[1., 2.], [3., 4.]])}) lays it out (its padding included).
        using var dir = new TempDir();
        var data = new byte[16];
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), i + 1);
        File.WriteAllBytes(dir["x.safetensors"], Build("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}   ", data));
        var file = Safetensors.Load(dir["x.safetensors"]);
        Assert.Equal([1f, 2f, 3f, 4f], file["x"].ToFloatArray());
        Assert.Equal([2L, 2L], file["x"].Shape);
        Assert.Empty(file.Metadata);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void TensorsSaveAndLoadIntoAModel(string device)
    {
        using var dir = new TempDir();
        var d = Device.Get(device);
        var g = new Generator(8);
        using var scope = new TensorScope();
        var weight = Tensor.Randn([4, 3], g, d); weight.Name = "fc.weight";
        var bias = Tensor.Randn([4], g, d); bias.Name = "fc.bias";
        var counts = Tensor.Labels([1, 2, 3], d); counts.Name = "counts";
        string path = dir["model.safetensors"];
        Safetensors.Save(path, [weight, bias, counts], new Dictionary<string, string> { ["step"] = "12" });

        var w2 = Tensor.Zeros([4, 3], d); w2.Name = "fc.weight";
        var b2 = Tensor.Zeros([4], d); b2.Name = "fc.bias";
        var c2 = Tensor.Labels([0, 0, 0], d); c2.Name = "counts";
        Safetensors.LoadInto(path, [w2, b2, c2]);
        Assert.Equal(weight.ToArray(), w2.ToArray());
        Assert.Equal(bias.ToArray(), b2.ToArray());
        Assert.Equal([1, 2, 3], c2.ToIntArray());
        Assert.Equal(weight.ToArray(), Safetensors.Load(path)["fc.weight"].ToTensor(d).ToArray());

        // Shape mismatch and missing / extra tensors name the file and the tensor.
        var wrong = Tensor.Zeros([3, 4], d); wrong.Name = "fc.weight";
        var e = Assert.Throws<DataFormatException>(() => Safetensors.LoadInto(path, [wrong, b2, c2]));
        Assert.Contains(path, e.Message);
        Assert.Contains("fc.weight", e.Message);
        e = Assert.Throws<DataFormatException>(() => Safetensors.LoadInto(path, [w2, b2]));
        Assert.Contains("counts", e.Message);
        var extra = Tensor.Zeros([2], d); extra.Name = "fc2.bias";
        e = Assert.Throws<DataFormatException>(() => Safetensors.LoadInto(path, [w2, b2, c2, extra]));
        Assert.Contains("fc2.bias", e.Message);
        Safetensors.LoadInto(path, [w2, extra], strict: false);
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, [Tensor.Zeros([1], d)])); // no Name
    }

    [Fact]
    public void AFailedWriteLeavesTheOldCheckpointIntact()
    {
        using var dir = new TempDir();
        string path = dir["ckpt.safetensors"];
        var a = Tensor.FromArray([1f, 2f, 3f]).Unscoped(); a.Name = "a";
        Safetensors.Save(path, [a]);
        var before = File.ReadAllBytes(path);

        // The second tensor is disposed: the write fails half-way, after the header and "a" went out.
        var b = Tensor.FromArray([4f, 5f]).Unscoped(); b.Name = "b";
        var c = Tensor.FromArray([6f]).Unscoped(); c.Name = "c";
        c.Dispose();
        Assert.ThrowsAny<Exception>(() => Safetensors.Save(path, [a, b, c]));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["ckpt.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));

        // A successful save replaces it.
        Safetensors.Save(path, [a, b]);
        Assert.Equal([4f, 5f], Safetensors.Load(path)["b"].ToFloatArray());
        Assert.Equal(["ckpt.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WriterRejectsBadNames()
    {
        using var dir = new TempDir();
        var t = SafeTensor.FromFloats([1f], 1);
        Assert.Throws<ArgumentException>(() => Safetensors.Save(dir["x"], new Dictionary<string, SafeTensor> { ["__metadata__"] = t }));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(dir["x"], new Dictionary<string, SafeTensor> { [""] = t }));
        var a = Tensor.FromArray([1f]); a.Name = "same";
        var b = Tensor.FromArray([2f]); b.Name = "same";
        Assert.Throws<ArgumentException>(() => Safetensors.Save(dir["x"], [a, b]));
        Assert.Throws<ArgumentException>(() => new SafeTensor("F32", [3], new byte[8]));
        Assert.Throws<ArgumentException>(() => new SafeTensor("Q4", [1], new byte[1]));
        Assert.False(File.Exists(dir["x"]));
    }

    public static IEnumerable<object[]> Corruptions()
    {
        var data16 = new byte[16];
        const string ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
        yield return ["short", new byte[] { 1, 2, 3 }, "truncated"];
        yield return ["header-too-long", Build(ok, data16)[..40], "truncated"];
        yield return ["huge-header", BitConverter.GetBytes((ulong)1 << 40).Concat(new byte[8]).ToArray(), "limit"];
        yield return ["not-json", Build("{\"x\": [1, 2", data16), "not valid JSON"];
        yield return ["not-object", Build("[1, 2, 3]", data16), "JSON object"];
        yield return ["data-truncated", Build(ok, data16[..12]), "out of range"];
        yield return ["offsets-out-of-range", Build(ok.Replace("[0,16]", "[0,32]"), data16), "data_offsets"];
        yield return ["offsets-gap", Build(ok.Replace("[0,16]", "[4,20]").Replace("[2,2]", "[2,2]"), new byte[20]), "gap"];
        yield return ["size-mismatch", Build(ok.Replace("[2,2]", "[3,2]"), data16), "needs 24"];
        yield return ["bad-dtype", Build(ok.Replace("F32", "Q4"), data16), "unknown dtype 'Q4'"];
        yield return ["negative-shape", Build(ok.Replace("[2,2]", "[-2,-2]"), data16), "non-negative"];
        yield return ["trailing-bytes", Build(ok, new byte[20]), "4 bytes after the last tensor"];
        yield return ["metadata-not-strings", Build("{\"__metadata__\":{\"a\":1}," + ok[1..], data16), "not a string"];
        yield return ["missing-offsets", Build("{\"x\":{\"dtype\":\"F32\",\"shape\":[4]}}", data16), "data_offsets"];
        yield return ["overlap", Build("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "overlap"];
    }

    [Fact]
    public void InvalidUtf8InTheHeaderIsRefusedWithItsOffset()
    {
        // JsonElement.GetString() used to throw InvalidOperationException on these (the JSON reader lets
        // them through inside strings): a lone 0xFF, an overlong '/', a UTF-16 surrogate, a cut sequence.
        using var dir = new TempDir();
        byte[][] bad = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82]];
        foreach (var b in bad)
        {
            byte[] header = [.. "{\"__metadata__\":{\"k\":\"ok "u8, .. b, .. "\"},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
            var file = new byte[8 + header.Length + 4];
            BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
            header.CopyTo(file, 8);
            string path = dir[$"utf8-{Convert.ToHexString(b)}.safetensors"];
            File.WriteAllBytes(path, file);
            var e = Assert.Throws<DataFormatException>(() => Safetensors.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("not valid UTF-8", e.Message);
            Assert.Equal(8 + "{\"__metadata__\":{\"k\":\"ok ".Length, e.Offset);
        }
    }

    [Fact]
    public void NamesWithControlCharactersGiveOneLineMessages()
    {
        // JSON escapes can put a newline, a NUL or a DEL in a tensor name; the message shows them escaped.
        using var dir = new TempDir();
        string path = dir["names.safetensors"];
        File.WriteAllBytes(path, Build("{\"a\\nb\\u0000c\u007f\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        var e = Assert.Throws<DataFormatException>(() => Safetensors.Load(path));
        Assert.Contains("tensor 'a\\nb\\u0000c\\u007F': missing \"dtype\"", e.Message);
        Assert.DoesNotContain(e.Message, char.IsControl);
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void CorruptedFilesGiveClearErrors(string name, byte[] bytes, string problem)
    {
        using var dir = new TempDir();
        string path = dir[name + ".safetensors"];
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }
}
