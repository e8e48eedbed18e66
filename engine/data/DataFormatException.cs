using System.Globalization;
using System.Text;

namespace ScratchNet.data;

/// <summary>
/// A data or checkpoint file that cannot be read as what it claims to be. The message always names the
/// file and, where it makes sense, the byte offset or the record index at which reading went wrong, so
/// that "wrong magic number", "truncated file" or "label 12 out of range" can be located with a hex dump.
/// </summary>
public sealed class DataFormatException : IOException
{
    /// <summary>What is wrong with <paramref name="file"/>, where (byte offset, record index) when known.</summary>
    public DataFormatException(string file, string problem, long? offset = null, long? record = null, Exception? inner = null)
        : base(Format(file, Printable(problem), offset, record), inner)
    {
        FilePath = file;
        Problem = Printable(problem);
        Offset = offset;
        Record = record;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
    /// <summary>What is wrong, without the location; control characters escaped (see <see cref="Printable"/>).</summary>
    public string Problem { get; }
    /// <summary>Byte offset in the (decompressed) file where the problem was found, when known.</summary>
    public long? Offset { get; }
    /// <summary>Index of the record (image, label, tensor...) concerned, when known.</summary>
    public long? Record { get; }

    /// <summary>
    /// The problem as one printable line: text taken from a file (a tensor name with a newline or a DEL in
    /// it, JSON with line breaks) or from a library (messages ending in NULs) has its control characters and
    /// line/paragraph separators written as escapes: \n, \r, \t, \u00XX.
    /// </summary>
    public static string Printable(string text)
    {
        static bool Bad(char c) => char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
        if (!text.Any(Bad)) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (!Bad(c)) sb.Append(c);
            else sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:X4}" });
        }
        return sb.ToString();
    }

    private static string Format(string file, string problem, long? offset, long? record)
    {
        var where = (offset, record) switch
        {
            (long o, long r) => $" (record {r}, byte offset {o})",
            (long o, null) => $" (byte offset {o})",
            (null, long r) => $" (record {r})",
            _ => "",
        };
        return $"{file}: {problem}{where}";
    }
}
