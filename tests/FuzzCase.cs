using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using ScratchNet.data;

namespace ScratchNet.Tests;

/// <summary>
/// One mutation of a file: returns the changed bytes (a new array or <paramref name="input"/> changed in
/// place) and appends what it did to <paramref name="log"/>, so a failing case can be read and replayed.
/// </summary>
public delegate byte[] Mutation(Random rng, byte[] input, StringBuilder log);

/// <summary>What one <see cref="FuzzCase.Run"/> did; <paramref name="Reasons"/> counts the refusals by the start of their message.</summary>
public sealed record FuzzSummary(string Format, int Cases, int Loaded, int Refused, TimeSpan Elapsed, IReadOnlyDictionary<string, int> Reasons)
{
    public override string ToString()
        => $"{Format}: {Cases} cases, {Loaded} loaded, {Refused} refused, {Elapsed.TotalSeconds:F1} s; most common refusals: "
           + string.Join("; ", Reasons.OrderByDescending(kv => kv.Value).Take(6).Select(kv => $"{kv.Value}× {kv.Key}"));
}

/// <summary>
/// A mutation fuzzer for file loaders. Each case copies the seed file, applies one to three seeded
/// mutations (truncation, bit flips, "interesting" bytes, inserted/deleted/duplicated runs, header fields
/// overwritten with huge, negative or zero sizes, plus any format-specific mutations), writes it to a file
/// and loads it on a separate thread. The loader must either succeed or throw
/// <see cref="DataFormatException"/> / <see cref="FileNotFoundException"/> whose message names the file, within
/// <see cref="CaseLimit"/>; anything else fails the test, listing the seed and case numbers, what was
/// mutated, and where the input was saved.
///
/// Adding a format is one call: <c>FuzzCase.Run("myformat", seedBytes, ".ext", path => My.Load(path), FuzzCase.Cases(300), seed)</c>.
///
/// Environment: SCRATCHNET_FUZZ_CASES=N runs N cases per format instead of the default (the long campaign
/// is e.g. 10000); SCRATCHNET_FUZZ_SEED=S changes the base seed; SCRATCHNET_FUZZ_ONLY=format:case replays a
/// single case.
/// </summary>
public static class FuzzCase
{
    public const string CasesVariable = "SCRATCHNET_FUZZ_CASES";
    public const string SeedVariable = "SCRATCHNET_FUZZ_SEED";
    public const string OnlyVariable = "SCRATCHNET_FUZZ_ONLY";

    /// <summary>The time one case may take before it counts as a hang.</summary>
    public static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(5);

    /// <summary>Where failing inputs are kept for replay (not deleted with the test's temporary files).</summary>
    public static string FailureFolder => Path.Combine(Path.GetTempPath(), "scratchnet-fuzz-failures");

    /// <summary>Cases per format: SCRATCHNET_FUZZ_CASES when set, else <paramref name="fallback"/>.</summary>
    public static int Cases(int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(CasesVariable), out int n) && n > 0 ? n : fallback;

    /// <summary>The base seed: SCRATCHNET_FUZZ_SEED when set, else <paramref name="fallback"/>.</summary>
    public static int Seed(int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), out int s) ? s : fallback;

    /// <summary>Runs <paramref name="cases"/> mutated copies of <paramref name="seedFile"/> through <paramref name="load"/>; fails the test on any bad outcome.</summary>
    public static FuzzSummary Run(string format, byte[] seedFile, string extension, Action<string> load, int cases, int seed, params Mutation[] extraMutations)
    {
        var (onlyFormat, onlyCase) = ParseOnly();
        var mutations = Generic.Concat(extraMutations).ToArray();
        string dir = Path.Combine(Path.GetTempPath(), $"scratchnet-fuzz-{format}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var failures = new List<string>();
        var reasons = new Dictionary<string, int>();
        int loaded = 0, refused = 0, run = 0;
        var sw = Stopwatch.StartNew();
        try
        {
            for (int k = 0; k < cases; k++)
            {
                if (onlyFormat is not null && (onlyFormat != format || onlyCase != k)) continue;
                run++;
                var rng = new Random(CaseSeed(seed, format, k));
                var log = new StringBuilder();
                byte[] data = Mutate(rng, seedFile, mutations, log);
                // One file per case: a loader abandoned after a timeout may still be reading its file.
                string path = Path.Combine(dir, $"{format}-{k}{extension}");
                File.WriteAllBytes(path, data);
                var (finished, error, elapsed) = RunWithLimit(() => load(path), CaseLimit);
                string? problem = !finished ? $"no answer after {CaseLimit.TotalSeconds:0.#} s (hang?)"
                    : error is null ? null
                    : error is not (DataFormatException or FileNotFoundException) ? $"{error.GetType().Name}: {error.Message}\n{error.StackTrace}"
                    : !error.Message.Contains(path) ? $"the message does not name the file: {error.Message}"
                    : error.Message.Any(c => char.IsControl(c)) ? $"the message has control characters: {error.Message}"
                    : null;
                if (problem is null)
                {
                    if (error is null) loaded++;
                    else
                    {
                        refused++;
                        string reason = Reason(error);
                        reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                    }
                    if (finished) File.Delete(path);
                    continue;
                }
                Directory.CreateDirectory(FailureFolder);
                string kept = Path.Combine(FailureFolder, $"{format}-seed{seed}-case{k}{extension}");
                File.WriteAllBytes(kept, data);
                failures.Add($"{format}, seed {seed}, case {k} ({log.ToString().TrimEnd(';', ' ')}; {elapsed.TotalMilliseconds:F0} ms): {problem}\n"
                    + $"  input kept as {kept}; replay with {SeedVariable}={seed} {OnlyVariable}={format}:{k}");
                if (failures.Count >= 10) break;
            }
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        if (failures.Count > 0)
            Assert.Fail($"{failures.Count} fuzz case(s) of {format} failed:\n" + string.Join("\n", failures));
        return new FuzzSummary(format, run, loaded, refused, sw.Elapsed, reasons);
    }

    /// <summary>The kind of a refusal: its problem up to the first colon, parenthesis or quote, numbers blanked.</summary>
    private static string Reason(Exception e)
    {
        string text = e is DataFormatException d ? d.Problem : e.GetType().Name;
        int cut = text.IndexOfAny([':', '(', '\'', ',']);
        if (cut > 0) text = text[..cut].TrimEnd();
        if (e.InnerException is { } inner) text += $" [{inner.GetType().Name}]";
        return new string(text.Select(c => char.IsDigit(c) ? '#' : c).ToArray());
    }

    /// <summary>Runs <paramref name="action"/> on its own thread; a hang leaves that (background) thread behind instead of the test.</summary>
    public static (bool Finished, Exception? Error, TimeSpan Elapsed) RunWithLimit(Action action, TimeSpan limit)
    {
        Exception? error = null;
        var sw = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { error = e; }
        }, maxStackSize: 16 << 20) { IsBackground = true, Name = "fuzz case" };
        thread.Start();
        bool finished = thread.Join(limit);
        return (finished, finished ? error : null, sw.Elapsed);
    }

    private static (string?, int) ParseOnly()
    {
        string? only = Environment.GetEnvironmentVariable(OnlyVariable);
        int colon = only?.LastIndexOf(':') ?? -1;
        return colon > 0 && int.TryParse(only![(colon + 1)..], out int k) ? (only[..colon], k) : (null, -1);
    }

    /// <summary>A seed per (base seed, format, case), stable across runs and .NET versions (FNV-1a, then SplitMix64).</summary>
    private static int CaseSeed(int seed, string format, int k)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in format) h = (h ^ c) * 1099511628211UL;
        ulong z = h + (ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)k * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    private static byte[] Mutate(Random rng, byte[] seed, Mutation[] mutations, StringBuilder log)
    {
        byte[] data = (byte[])seed.Clone();
        // Mostly one mutation, so that most cases stay close to valid and reach deep into the parser.
        int count = rng.Next(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < count; i++) data = mutations[rng.Next(mutations.Length)](rng, data, log);
        return data;
    }

    // ------------------------------------------------------------------ generic mutations

    /// <summary>Bytes that sit on boundaries of signed and unsigned ranges.</summary>
    public static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80];

    /// <summary>Sizes that break size arithmetic: zero, one, negative, the edges of 16/32/64-bit ranges, powers of two.</summary>
    public static readonly long[] InterestingSizes =
    [
        0, 1, -1, 2, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, int.MaxValue, int.MinValue, uint.MaxValue,
        1L << 30, 1L << 31, 1L << 32, 1L << 40, long.MaxValue, long.MinValue, 20000, 30000, 100_000_000,
    ];

    /// <summary>The mutations every format gets.</summary>
    public static readonly Mutation[] Generic = [Truncate, FlipBits, InterestingByte, InsertRun, DeleteRun, OverwriteField, DuplicateRun];

    public static byte[] Truncate(Random rng, byte[] d, StringBuilder log)
    {
        int n = d.Length == 0 ? 0 : rng.Next(d.Length);
        log.Append($"truncate to {n}; ");
        return d[..n];
    }

    public static byte[] FlipBits(Random rng, byte[] d, StringBuilder log)
    {
        if (d.Length == 0) return d;
        int flips = 1 + rng.Next(8);
        log.Append("flip bits");
        for (int i = 0; i < flips; i++)
        {
            int at = rng.Next(d.Length), bit = rng.Next(8);
            d[at] ^= (byte)(1 << bit);
            log.Append($" {at}.{bit}");
        }
        log.Append("; ");
        return d;
    }

    public static byte[] InterestingByte(Random rng, byte[] d, StringBuilder log)
    {
        if (d.Length == 0) return d;
        int n = 1 + rng.Next(4);
        log.Append("set bytes");
        for (int i = 0; i < n; i++)
        {
            int at = HeaderBiased(rng, d.Length);
            d[at] = InterestingBytes[rng.Next(InterestingBytes.Length)];
            log.Append($" [{at}]=0x{d[at]:X2}");
        }
        log.Append("; ");
        return d;
    }

    public static byte[] InsertRun(Random rng, byte[] d, StringBuilder log)
    {
        int at = rng.Next(d.Length + 1), n = 1 + rng.Next(64);
        var run = new byte[n];
        if (rng.Next(2) == 0) rng.NextBytes(run);
        else Array.Fill(run, InterestingBytes[rng.Next(InterestingBytes.Length)]);
        log.Append($"insert {n} bytes at {at}; ");
        return [.. d.AsSpan(0, at), .. run, .. d.AsSpan(at)];
    }

    public static byte[] DeleteRun(Random rng, byte[] d, StringBuilder log)
    {
        if (d.Length == 0) return d;
        int at = rng.Next(d.Length), n = Math.Min(1 + rng.Next(64), d.Length - at);
        log.Append($"delete {n} bytes at {at}; ");
        return [.. d.AsSpan(0, at), .. d.AsSpan(at + n)];
    }

    /// <summary>Overwrites 2, 4 or 8 bytes, big- or little-endian, with an interesting size, mostly in the first 64 bytes (where headers are).</summary>
    public static byte[] OverwriteField(Random rng, byte[] d, StringBuilder log)
    {
        int width = rng.Next(3) switch { 0 => 2, 1 => 4, _ => 8 };
        if (d.Length < width) return d;
        int at = rng.Next(4) == 0 ? rng.Next(d.Length - width + 1) : rng.Next(Math.Min(64, d.Length - width + 1));
        if (rng.Next(2) == 0) at &= ~(width - 1); // aligned, as header fields usually are
        long v = rng.Next(5) == 0 ? rng.NextInt64() : InterestingSizes[rng.Next(InterestingSizes.Length)];
        bool big = rng.Next(2) == 0;
        var span = d.AsSpan(at, width);
        switch (width)
        {
            case 2: if (big) BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)v); else BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)v); break;
            case 4: if (big) BinaryPrimitives.WriteUInt32BigEndian(span, (uint)v); else BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)v); break;
            default: if (big) BinaryPrimitives.WriteInt64BigEndian(span, v); else BinaryPrimitives.WriteInt64LittleEndian(span, v); break;
        }
        log.Append($"write {v} as {width} bytes {(big ? "BE" : "LE")} at {at}; ");
        return d;
    }

    /// <summary>Copies a run of the file (a chunk, a segment, a record...) and inserts it elsewhere or right after itself.</summary>
    public static byte[] DuplicateRun(Random rng, byte[] d, StringBuilder log)
    {
        if (d.Length == 0) return d;
        int from = rng.Next(d.Length), n = Math.Min(1 + rng.Next(256), d.Length - from);
        int to = rng.Next(2) == 0 ? from + n : rng.Next(d.Length + 1);
        log.Append($"duplicate {n} bytes from {from} at {to}; ");
        return [.. d.AsSpan(0, to), .. d.AsSpan(from, n), .. d.AsSpan(to)];
    }

    private static int HeaderBiased(Random rng, int length) => rng.Next(2) == 0 ? rng.Next(Math.Min(length, 64)) : rng.Next(length);

    // ------------------------------------------------------------------ helpers for format-specific mutations

    /// <summary>A mutation applied to the decompressed content of a gzip file, which is then compressed again.</summary>
    public static Mutation InsideGzip(Mutation inner) => (rng, d, log) =>
    {
        byte[] raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(d), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            raw = ms.ToArray();
        }
        catch (InvalidDataException) { return d; } // an earlier mutation broke the gzip stream
        log.Append("inside gzip: ");
        raw = inner(rng, raw, log);
        return Gzip(raw);
    };

    public static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>Mutations of the decompressed content, for gzip-wrapped formats.</summary>
    public static Mutation[] AllInsideGzip() => Generic.Select(InsideGzip).ToArray();
}
