using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ScratchNet.data;

namespace ScratchNet.Models.Training;

/// <summary>
/// Typed, validated reads of a checkpoint's string metadata (the safetensors "__metadata__" object). Every value
/// is checked for type, range and size before anything is built from it, and every failure is a
/// <see cref="DataFormatException"/> naming the file and the field: a checkpoint that someone edited, truncated or
/// fuzzed must never reach the model code as a null, a negative size or a 100000×100000 image.
/// </summary>
public sealed class CheckpointMetadata(string path, IReadOnlyDictionary<string, string> values)
{
    /// <summary>JSON as the checkpoint writes it: NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"
    /// (a diverged epoch's loss), which plain JSON cannot hold as numbers.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        MaxDepth = 16,
    };

    /// <summary>The file the metadata came from.</summary>
    public string Path { get; } = path;

    /// <summary>The raw values.</summary>
    public IReadOnlyDictionary<string, string> Values { get; } = values;

    /// <summary>An error naming the file and the field.</summary>
    public DataFormatException Bad(string key, string problem) => new(Path, $"metadata field '{key}' {problem}");

    /// <summary>Whether the field is there.</summary>
    public bool Has(string key) => Values.ContainsKey(key);

    /// <summary>A required string field.</summary>
    public string String(string key) =>
        Values.TryGetValue(key, out var v) ? v : throw Bad(key, "is missing (was this file written by `scratchnet train`?)");

    /// <summary>A required string field that must be one of <paramref name="allowed"/>.</summary>
    public string OneOf(string key, IEnumerable<string> allowed)
    {
        string v = String(key);
        var list = allowed.ToList();
        return list.Contains(v) ? v : throw Bad(key, $"is '{Printable(v)}', expected one of: {string.Join(", ", list)}");
    }

    /// <summary>A required integer field in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long Long(string key, long min, long max)
    {
        string v = String(key);
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x))
            throw Bad(key, $"is '{Printable(v)}', not an integer");
        if (x < min || x > max) throw Bad(key, $"is {x}, out of range [{min}, {max}]");
        return x;
    }

    /// <summary>A required integer field in [<paramref name="min"/>, <paramref name="max"/>] that fits an int.</summary>
    public int Int(string key, int min, int max) => (int)Long(key, min, max);

    /// <summary>A required JSON field deserialised as <typeparamref name="T"/>; null, a wrong type or malformed JSON is an error.</summary>
    public T Parse<T>(string key) where T : class
    {
        string v = String(key);
        try
        {
            return JsonSerializer.Deserialize<T>(v, Json) ?? throw Bad(key, "is null");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            throw Bad(key, $"is not valid JSON for {Describe(typeof(T))}: {Printable(e.Message)}");
        }
    }

    /// <summary>Shows at most 60 characters of a value, with control characters escaped, inside a one-line message.</summary>
    public static string Printable(string s)
    {
        var t = new string(s.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return s.Length > 60 ? t + "…" : t;
    }

    private static string Describe(Type t) =>
        t == typeof(List<string>) ? "a list of strings" :
        t == typeof(int[]) ? "a list of integers" :
        t == typeof(List<EpochMetrics>) ? "a list of epoch metrics" :
        t == typeof(Dictionary<string, ulong[]>) ? "an object of [seed, step] pairs" :
        t.Name;
}
