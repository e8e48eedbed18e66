using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using ScratchNet.data;

namespace ScratchNet.Tests;

/// <summary>DatasetDownloader with a fake network (a dictionary of URL → bytes): verify, extract, mismatch errors.</summary>
public class DownloaderTests
{
    private sealed class FakeWeb
    {
        public readonly Dictionary<string, byte[]> Files = new();
        public readonly List<string> Requests = new();
        public Stream Open(Uri url, CancellationToken _)
        {
            Requests.Add(url.ToString());
            if (!Files.TryGetValue(url.ToString(), out var bytes)) throw new HttpRequestException($"404 {url}");
            return new MemoryStream(bytes, writable: false);
        }
    }

    private static string Md5(byte[] b) => Convert.ToHexStringLower(MD5.HashData(b));

    /// <summary>A cifar-10-binary.tar.gz look-alike built from a fake cifar-10-batches-bin folder.</summary>
    private static byte[] FakeCifarArchive(TempDir dir)
    {
        string src = dir["src"];
        DataTests.WriteFakeCifar(Path.Combine(src, Cifar10.BatchFolder), 2, meta: true);
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, Cifar10.BatchFolder + "/"));
            foreach (var f in Directory.GetFiles(Path.Combine(src, Cifar10.BatchFolder)).Order())
                tar.WriteEntry(f, $"{Cifar10.BatchFolder}/{Path.GetFileName(f)}");
        }
        return ms.ToArray();
    }

    private static DatasetSpec CifarSpec(string md5, params string[] urls)
        => new("fake-cifar", "cifar-10", [new DatasetFile("cifar-10-binary.tar.gz", md5, urls)], Extract: true,
               RequiredFiles: [$"{Cifar10.BatchFolder}/{Cifar10.TestFile}", $"{Cifar10.BatchFolder}/data_batch_5.bin"]);

    [Fact]
    public void CifarArchiveIsDownloadedVerifiedAndExtracted()
    {
        using var dir = new TempDir();
        var archive = FakeCifarArchive(dir);
        var web = new FakeWeb();
        web.Files["https://data.test/cifar.tar.gz"] = archive;
        var logs = new List<string>();
        var downloader = new DatasetDownloader(web.Open, logs.Add);

        string folder = downloader.Download(CifarSpec(Md5(archive), "https://data.test/cifar.tar.gz"), dir["root"]);
        Assert.Equal(Path.Combine(dir["root"], "cifar-10"), folder);
        Assert.Equal(archive, File.ReadAllBytes(Path.Combine(folder, "cifar-10-binary.tar.gz")));
        var train = Cifar10.Load(folder, train: true);
        Assert.Equal(10, train.Count);
        Assert.Equal("c3", train.Classes[3]);
        Assert.Equal(2, Cifar10.Load(folder, train: false).Count);
        Assert.Contains(logs, l => l.Contains("MD5 verified"));

        // Present and verified: no second request.
        downloader.Download(CifarSpec(Md5(archive), "https://data.test/cifar.tar.gz"), dir["root"]);
        Assert.Single(web.Requests);
        // No temporary file is left behind.
        Assert.DoesNotContain(Directory.GetFiles(folder), f => f.Contains(".part-"));
    }

    [Fact]
    public void ChecksumMismatchIsAnErrorAndLeavesNoFile()
    {
        using var dir = new TempDir();
        var web = new FakeWeb();
        web.Files["https://data.test/cifar.tar.gz"] = FakeCifarArchive(dir);
        var downloader = new DatasetDownloader(web.Open);
        string wrong = "0123456789abcdef0123456789abcdef";
        var e = Assert.Throws<InvalidDataException>(() => downloader.Download(CifarSpec(wrong, "https://data.test/cifar.tar.gz"), dir["root"]));
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains(wrong, e.Message);
        Assert.Contains("cifar-10-binary.tar.gz", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir["root"], "cifar-10")));
    }

    [Fact]
    public void NextMirrorIsTriedAfterAFailureAndABadFileIsReplaced()
    {
        using var dir = new TempDir();
        var g = new Generator(1);
        var labels = new byte[] { 3, 1, 4, 1, 5 };
        var images = new byte[5 * 28 * 28];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)g.NextInt(256);
        Idx.WriteImages(dir["t10k-images-idx3-ubyte.gz"], images, 5, 28, 28);
        Idx.WriteLabels(dir["t10k-labels-idx1-ubyte.gz"], labels);
        var imgBytes = File.ReadAllBytes(dir["t10k-images-idx3-ubyte.gz"]);
        var labBytes = File.ReadAllBytes(dir["t10k-labels-idx1-ubyte.gz"]);

        var web = new FakeWeb();
        web.Files["https://mirror2.test/t10k-images-idx3-ubyte.gz"] = imgBytes;
        web.Files["https://mirror1.test/t10k-labels-idx1-ubyte.gz"] = labBytes;
        var spec = new DatasetSpec("fake-mnist", "mnist",
        [
            new DatasetFile("t10k-images-idx3-ubyte.gz", Md5(imgBytes), "https://mirror1.test/t10k-images-idx3-ubyte.gz", "https://mirror2.test/t10k-images-idx3-ubyte.gz"),
            new DatasetFile("t10k-labels-idx1-ubyte.gz", Md5(labBytes), "https://mirror1.test/t10k-labels-idx1-ubyte.gz"),
        ], Extract: false, RequiredFiles: ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]);

        // A stale, corrupted copy is already there: it must be fetched again.
        Directory.CreateDirectory(Path.Combine(dir["root"], "mnist"));
        File.WriteAllBytes(Path.Combine(dir["root"], "mnist", "t10k-labels-idx1-ubyte.gz"), [1, 2, 3]);

        string folder = new DatasetDownloader(web.Open).Download(spec, dir["root"]);
        Assert.Equal(["https://mirror1.test/t10k-images-idx3-ubyte.gz", "https://mirror2.test/t10k-images-idx3-ubyte.gz", "https://mirror1.test/t10k-labels-idx1-ubyte.gz"], web.Requests);
        var test = Datasets.Mnist(folder, train: false);
        Assert.Equal(labels.Select(b => (int)b), test.Labels);
        Assert.Equal(images[100] / 255f, test.Images[100]);
    }

    [Fact]
    public void AllMirrorsFailingIsReportedWithEachReason()
    {
        using var dir = new TempDir();
        var web = new FakeWeb();
        var spec = new DatasetSpec("x", "x", [new DatasetFile("a.gz", "00", "https://a.test/a.gz", "https://b.test/a.gz")], false, []);
        var e = Assert.Throws<InvalidDataException>(() => new DatasetDownloader(web.Open).Download(spec, dir.Path));
        Assert.Contains("https://a.test/a.gz: 404", e.Message);
        Assert.Contains("https://b.test/a.gz: 404", e.Message);
        Assert.Throws<ArgumentException>(() => new DatasetDownloader(web.Open).Download("imagenet", dir.Path));
    }

    [Fact]
    public void MissingRequiredFileAfterExtractionIsAnError()
    {
        using var dir = new TempDir();
        var archive = FakeCifarArchive(dir);
        var web = new FakeWeb();
        web.Files["https://data.test/c.tgz"] = archive;
        var spec = CifarSpec(Md5(archive), "https://data.test/c.tgz") with { RequiredFiles = ["cifar-10-batches-bin/data_batch_6.bin"] };
        var e = Assert.Throws<InvalidDataException>(() => new DatasetDownloader(web.Open).Download(spec, dir["root"]));
        Assert.Contains("data_batch_6.bin", e.Message);
    }

    [Fact]
    public void ExtractionRejectsPathsOutsideTheDestination()
    {
        using var dir = new TempDir();
        string archive = dir["evil.tar.gz"];
        using (var f = File.Create(archive))
        using (var gz = new GZipStream(f, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "../evil.txt") { DataStream = new MemoryStream([1, 2, 3]) };
            tar.WriteEntry(entry);
        }
        var e = Assert.Throws<DataFormatException>(() => DatasetDownloader.ExtractTarGz(archive, dir["out"]));
        Assert.Contains(archive, e.Message);
        Assert.Contains("outside", e.Message);
        Assert.False(File.Exists(dir["evil.txt"]));
    }

    [Fact]
    public void TruncatedArchiveNamesTheFile()
    {
        using var dir = new TempDir();
        var archive = FakeCifarArchive(dir);
        File.WriteAllBytes(dir["cut.tar.gz"], archive[..(archive.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => DatasetDownloader.ExtractTarGz(dir["cut.tar.gz"], dir["out"]));
        Assert.Contains(dir["cut.tar.gz"], e.Message);
    }

    [Fact]
    public void KnownDatasetsCarryThePublishedChecksums()
    {
        var cifar = DatasetDownloader.Known["cifar10"];
        Assert.Equal("c32a1d4ab5d03f1284b67883e8d87530", cifar.Files.Single().Md5);
        Assert.True(cifar.Extract);
        Assert.Equal("f68b3c2dcbeaaa9fbdd348bbdeb94873", DatasetDownloader.Known["mnist"].Files[0].Md5);
        Assert.Equal("8d4fb7e6c68d591d4c3dfef9ec88bf0d", DatasetDownloader.Known["fashion-mnist"].Files[0].Md5);
        foreach (var spec in DatasetDownloader.Known.Values)
            foreach (var file in spec.Files)
            {
                Assert.Matches("^[0-9a-f]{32}$", file.Md5);
                Assert.NotEmpty(file.Urls);
                Assert.All(file.Urls, u => Assert.EndsWith(file.FileName, u));
            }
        Assert.Equal(4, DatasetDownloader.Known["mnist"].Files.Length);
        Assert.Equal(4, DatasetDownloader.Known["fashion-mnist"].Files.Length);
    }
}
