using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace ScratchNet.data;

/// <summary>One file of a data set: its name on disk, its published MD5 and the URLs to try in order.</summary>
/// <param name="FileName">Name of the file in the data set's folder, as published (e.g. train-images-idx3-ubyte.gz).</param>
/// <param name="Md5">The published MD5 of the file, 32 hex digits (compared case-insensitively).</param>
/// <param name="Urls">Mirrors to try in order until one gives a file with that MD5.</param>
public sealed record DatasetFile(string FileName, string Md5, params string[] Urls);

/// <summary>
/// A downloadable data set: the files go to root/<see cref="Folder"/>; the ones ending in .tar.gz are
/// extracted there when <see cref="Extract"/> is set; <see cref="RequiredFiles"/> (relative to that folder)
/// must exist afterwards.
/// </summary>
/// <param name="Name">The data set's name, as <c>scratchnet download</c> takes it (cifar10, mnist, fashion-mnist).</param>
/// <param name="Folder">The folder under the download root that receives the files.</param>
/// <param name="Files">The files to fetch and verify.</param>
/// <param name="Extract">Whether the .tar.gz files are extracted into the folder.</param>
/// <param name="RequiredFiles">Paths, relative to the folder, that must exist at the end (what the loaders read).</param>
public sealed record DatasetSpec(string Name, string Folder, DatasetFile[] Files, bool Extract, string[] RequiredFiles);

/// <summary>
/// Downloads CIFAR-10, MNIST and Fashion-MNIST from their official locations and verifies them against
/// the published MD5 checksums (those torchvision lists; Fashion-MNIST's are also in its README).
///
/// Each file is streamed to a temporary file in the target folder while its MD5 is computed; only a file
/// whose checksum matches is renamed to its final name, so an interrupted or corrupted download never
/// looks complete. A file already present with the right checksum is not downloaded again. The network
/// access is the <c>open</c> function given to the constructor, so tests can serve local bytes.
/// </summary>
public sealed class DatasetDownloader
{
    private readonly Func<Uri, CancellationToken, Stream> _open;
    private readonly Action<string> _log;

    /// <param name="open">Opens a URL for reading (default: HTTP GET with HttpClient).</param>
    /// <param name="log">Progress messages (default: none).</param>
    public DatasetDownloader(Func<Uri, CancellationToken, Stream>? open = null, Action<string>? log = null)
    {
        _open = open ?? HttpOpen;
        _log = log ?? (_ => { });
    }

    private const string MnistOssci = "https://ossci-datasets.s3.amazonaws.com/mnist/";
    private const string MnistLecun = "http://yann.lecun.com/exdb/mnist/";
    private const string FashionS3 = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    private static DatasetSpec IdxSpec(string name, string folder, string[] mirrors, (string File, string Md5)[] files)
        => new(name, folder, files.Select(f => new DatasetFile(f.File, f.Md5, mirrors.Select(m => m + f.File).ToArray())).ToArray(),
               Extract: false, RequiredFiles: files.Select(f => f.File).ToArray());

    /// <summary>The data sets known by name: "cifar10", "mnist", "fashion-mnist".</summary>
    public static readonly IReadOnlyDictionary<string, DatasetSpec> Known = new Dictionary<string, DatasetSpec>
    {
        ["cifar10"] = new("cifar10", "cifar-10",
            [new DatasetFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")],
            Extract: true,
            RequiredFiles: [.. Cifar10.TrainFiles.Select(f => $"{Cifar10.BatchFolder}/{f}"), $"{Cifar10.BatchFolder}/{Cifar10.TestFile}"]),
        ["mnist"] = IdxSpec("mnist", "mnist", [MnistOssci, MnistLecun],
        [
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ]),
        ["fashion-mnist"] = IdxSpec("fashion-mnist", "fashion-mnist", [FashionS3],
        [
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        ]),
    };

    /// <summary>Downloads (if needed), verifies and extracts a known data set under <paramref name="root"/>; returns its folder.</summary>
    public string Download(string name, string root, CancellationToken cancel = default)
    {
        if (!Known.TryGetValue(name, out var spec))
            throw new ArgumentException($"DatasetDownloader: unknown data set '{name}'; known: {string.Join(", ", Known.Keys)}");
        return Download(spec, root, cancel);
    }

    /// <summary>Makes <paramref name="spec"/>'s files present under root/<see cref="DatasetSpec.Folder"/>: a file already there
    /// with the right MD5 is kept, anything else is downloaded (each URL in turn) and verified; .tar.gz files are extracted when
    /// the spec says so. Returns the folder; InvalidDataException when a required file is still missing.</summary>
    public string Download(DatasetSpec spec, string root, CancellationToken cancel = default)
    {
        string folder = Path.GetFullPath(Path.Combine(root, spec.Folder));
        Directory.CreateDirectory(folder);
        foreach (var file in spec.Files)
        {
            string path = Path.Combine(folder, file.FileName);
            if (File.Exists(path))
            {
                string have = Md5Of(path);
                if (Md5Equal(have, file.Md5)) { _log($"{path}: present, MD5 verified"); }
                else
                {
                    _log($"{path}: MD5 {have} differs from {file.Md5}; downloading again");
                    Fetch(file, path, cancel);
                }
            }
            else Fetch(file, path, cancel);

            if (spec.Extract && file.FileName.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase))
            {
                _log($"extracting {path}");
                ExtractTarGz(path, folder);
            }
        }
        var missing = spec.RequiredFiles.Where(f => !File.Exists(Path.Combine(folder, f))).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"DatasetDownloader: {spec.Name} in {folder} lacks {string.Join(", ", missing)} after download and extraction");
        return folder;
    }

    private void Fetch(DatasetFile file, string path, CancellationToken cancel)
    {
        if (file.Urls.Length == 0) throw new ArgumentException($"DatasetDownloader: no URL for {file.FileName}");
        var errors = new List<string>();
        foreach (var url in file.Urls)
        {
            string temp = $"{path}.part-{Guid.NewGuid():N}";
            try
            {
                _log($"downloading {url}");
                string md5;
                using (var source = _open(new Uri(url), cancel))
                using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5))
                {
                    var buffer = new byte[1 << 16];
                    int n;
                    while ((n = source.Read(buffer)) > 0)
                    {
                        cancel.ThrowIfCancellationRequested();
                        hash.AppendData(buffer, 0, n);
                        target.Write(buffer, 0, n);
                    }
                    target.Flush(flushToDisk: true);
                    md5 = Convert.ToHexStringLower(hash.GetHashAndReset());
                }
                if (!Md5Equal(md5, file.Md5))
                {
                    errors.Add($"{url}: checksum mismatch, expected MD5 {file.Md5}, got {md5}");
                    continue;
                }
                File.Move(temp, path, overwrite: true);
                _log($"{path}: MD5 verified");
                return;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or UnauthorizedAccessException or TaskCanceledException && !cancel.IsCancellationRequested)
            {
                errors.Add($"{url}: {e.Message}");
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }
        throw new InvalidDataException($"DatasetDownloader: could not get a verified {file.FileName}:\n  " + string.Join("\n  ", errors));
    }

    /// <summary>
    /// Extracts a .tar.gz archive into <paramref name="destination"/>. Only regular files and folders are
    /// written; an entry whose path would land outside the destination (absolute or with "..") is an error.
    /// </summary>
    public static void ExtractTarGz(string archive, string destination)
    {
        string dest = Path.GetFullPath(destination);
        Directory.CreateDirectory(dest);
        string destPrefix = dest.EndsWith(Path.DirectorySeparatorChar) ? dest : dest + Path.DirectorySeparatorChar;
        try
        {
            using var file = File.OpenRead(archive);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            int count = 0;
            while (tar.GetNextEntry() is { } entry)
            {
                string target = Path.GetFullPath(Path.Combine(dest, entry.Name));
                if (!target.StartsWith(destPrefix, StringComparison.Ordinal) && target != dest)
                    throw new DataFormatException(archive, $"entry '{entry.Name}' would be extracted outside {dest}", record: count);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        entry.ExtractToFile(target, overwrite: true);
                        break;
                    default:
                        break; // links, devices, metadata entries: not part of a data set, skipped
                }
                count++;
            }
            if (count == 0) throw new DataFormatException(archive, "the archive is empty");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new DataFormatException(archive, $"corrupt or truncated .tar.gz ({e.Message})", inner: e);
        }
    }

    /// <summary>The MD5 of a file as lower-case hex.</summary>
    public static string Md5Of(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(f));
    }

    private static bool Md5Equal(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static readonly Lazy<HttpClient> Http = new(() => new HttpClient { Timeout = TimeSpan.FromHours(1) });

    private static Stream HttpOpen(Uri url, CancellationToken cancel)
    {
        var response = Http.Value.Send(new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead, cancel);
        response.EnsureSuccessStatusCode();
        return response.Content.ReadAsStream(cancel);
    }
}
