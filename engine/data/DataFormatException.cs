namespace ScratchNet.data;

/// <summary>
/// A data or checkpoint file that cannot be read as what it claims to be. The message always names the
/// file and, where it makes sense, the byte offset or the record index at which reading went wrong, so
/// that "wrong magic number", "truncated file" or "label 12 out of range" can be located with a hex dump.
/// </summary>
public sealed class DataFormatException : IOException
{
    public DataFormatException(string file, string problem, long? offset = null, long? record = null, Exception? inner = null)
        : base(Format(file, problem, offset, record), inner)
    {
        FilePath = file;
        Problem = problem;
        Offset = offset;
        Record = record;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
    /// <summary>Byte offset in the (decompressed) file where the problem was found, when known.</summary>
    public long? Offset { get; }
    /// <summary>Index of the record (image, label, tensor...) concerned, when known.</summary>
    public long? Record { get; }

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
