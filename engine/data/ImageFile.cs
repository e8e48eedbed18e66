using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SharpImage = SixLabors.ImageSharp.Image;

namespace ScratchNet.data;

/// <summary>Limits that keep a hostile or corrupt image file from taking unbounded memory or time.</summary>
public sealed record ImageReadOptions
{
    /// <summary>
    /// The most pixels (width·height, as read from the header before anything is decoded) an image may have:
    /// 89,478,485 by default, PIL's Image.MAX_IMAGE_PIXELS (a quarter of 2^32 bytes of 32-bit pixels), above
    /// which PIL warns of a "decompression bomb". At 3 bytes a pixel that is 256 MiB of decoded RGB.
    /// </summary>
    public long MaxPixels { get; init; } = 89_478_485;

    /// <summary>
    /// Wall-clock limit for reading, checking, decoding and resizing one file (10 s by default), enforced
    /// even for decoders that ignore cancellation: past it the caller gets an error and the decode is
    /// abandoned. <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> turns the limit off.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Files larger than this are refused before being read (1 GiB by default): above what a PNG, JPEG or
    /// BMP of <see cref="MaxPixels"/> 8-bit pixels needs (a 32-bit BMP of 89.5 M pixels is 358 MB).
    /// </summary>
    public long MaxFileBytes { get; init; } = 1L << 30;

    /// <summary>The defaults above.</summary>
    public static ImageReadOptions Default { get; } = new();

    internal void Validate()
    {
        if (MaxPixels <= 0) throw new ArgumentException($"ImageReadOptions: MaxPixels must be positive, got {MaxPixels}");
        if (MaxFileBytes <= 0 || MaxFileBytes > Array.MaxLength)
            throw new ArgumentException($"ImageReadOptions: MaxFileBytes must be in [1, {Array.MaxLength}], got {MaxFileBytes}");
        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
            throw new ArgumentException($"ImageReadOptions: Timeout must be positive or infinite, got {Timeout}");
    }
}

/// <summary>
/// Reads one PNG, JPEG or BMP file into a CHW float <see cref="Image"/>, as torchvision's ImageFolder does
/// with PIL (Image.open(f).convert('RGB'), Resize with bilinear, Grayscale, ToTensor), within the limits
/// of <see cref="ImageReadOptions"/>. Every problem with the file is a <see cref="DataFormatException"/>
/// that names it. The steps:
/// <list type="number">
/// <item>refuse a missing file or one above <see cref="ImageReadOptions.MaxFileBytes"/>;</item>
/// <item>recognise the format from the content (the extension does not matter);</item>
/// <item>check that the file is complete (ImageSharp decodes most truncated JPEGs and BMPs without
///   complaint, filling the missing part with grey or black);</item>
/// <item>read the size from the header and refuse more than <see cref="ImageReadOptions.MaxPixels"/>
///   pixels before any pixel is allocated;</item>
/// <item>decode to 8-bit RGB with SixLabors.ImageSharp (alpha dropped, 16-bit samples rounded to 8);</item>
/// <item>resize to height×width in 8 bits with a triangle (bilinear) filter that widens when shrinking, as
///   PIL's BILINEAR does;</item>
/// <item>for one channel, ITU-R 601-2 luma as PIL's convert('L');</item>
/// <item>scale to [0, 1] (value / 255).</item>
/// </list>
/// All of it runs on dedicated decode threads under <see cref="ImageReadOptions.Timeout"/>.
/// </summary>
public static class ImageFile
{
    // Only the three formats we promise; every other ImageSharp module (GIF, TIFF, WebP, TGA, PBM) is left
    // out so that it cannot be reached by content sniffing. One thread per decode: the callers already run
    // one decode per core, and ImageSharp then never touches the thread pool.
    private static readonly Configuration Config = CreateConfiguration();

    private static Configuration CreateConfiguration()
    {
        var config = new Configuration(new PngConfigurationModule(), new JpegConfigurationModule(), new BmpConfigurationModule())
        {
            MaxDegreeOfParallelism = 1,
        };
        // Metadata (EXIF, ICC, text chunks) is not used: PIL's convert('RGB') ignores it too (no EXIF rotation).
        config.ImageFormatsManager.SetDecoder(PngFormat.Instance, new PngDecoder { IgnoreMetadata = true });
        config.ImageFormatsManager.SetDecoder(JpegFormat.Instance, new JpegDecoder { IgnoreMetadata = true });
        return config;
    }

    /// <summary>
    /// Reads a PNG, JPEG or BMP file as <paramref name="channels"/> (1 = grey, 3 = RGB) planes of
    /// <paramref name="height"/>×<paramref name="width"/> floats in [0, 1], resizing when the file's size differs.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not a complete, decodable PNG/JPEG/BMP within the limits.</exception>
    public static Image Read(string path, int channels, int height, int width, ImageReadOptions? options = null)
    {
        var o = CheckArguments("ImageFile.Read", channels, height, width, options);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        Image? result = null;
        var errors = DecodeThreads.Run(1, o.Timeout,
            (_, token) => ReadOnThisThread(path, channels, height, width, o, token),
            (_, image) => result = image,
            _ => TimedOut(path, o.Timeout));
        if (errors[0] is { } e) ExceptionDispatchInfo.Capture(e).Throw();
        return result!;
    }

    internal static ImageReadOptions CheckArguments(string op, int channels, int height, int width, ImageReadOptions? options)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"{op}: channels must be 1 or 3, got {channels}");
        Check.Positive(op, "height", height);
        Check.Positive(op, "width", width);
        if ((long)channels * height * width > Array.MaxLength)
            throw new ArgumentException($"{op}: an image of [{channels}, {height}, {width}] has more values than one array can hold");
        options ??= ImageReadOptions.Default;
        options.Validate();
        return options;
    }

    internal static DataFormatException TimedOut(string path, TimeSpan limit)
        => new(path, $"reading the image took longer than the {FormatSpan(limit)} limit (ImageReadOptions.Timeout): a corrupt or very large file? Raise the limit to wait longer");

    private static string FormatSpan(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.###} s" : $"{t.TotalMilliseconds:0.###} ms";

    /// <summary>The whole pipeline of <see cref="Read"/>, on the calling thread (the decode threads call it).</summary>
    internal static Image ReadOnThisThread(string path, int channels, int height, int width, ImageReadOptions options, CancellationToken token)
    {
        byte[] bytes = ReadBytes(path, options.MaxFileBytes);
        IImageFormat? format = null;
        try
        {
            format = SharpImage.DetectFormat(Config, bytes)
                ?? throw new DataFormatException(path, $"not a PNG, JPEG or BMP image (it starts with {Hex(bytes, 8)})", offset: 0);
            return Decode(path, bytes, format, channels, height, width, options, token);
        }
        catch (DataFormatException) { throw; }
        catch (OperationCanceledException) { throw TimedOut(path, options.Timeout); }
        catch (Exception e) when (e is InvalidImageContentException or ImageFormatException)
        {
            throw new DataFormatException(path, $"cannot decode the {format?.Name} image: {OneLine(e.Message)}", inner: e);
        }
        catch (Exception e)
        {
            // On some malformed inputs ImageSharp fails with IndexOutOfRange, NullReference, Argument,
            // Overflow, NotSupported, InvalidOperation or OutOfMemory instead of its own exceptions.
            throw new DataFormatException(path, $"cannot decode the {format?.Name} image: the decoder failed on its content ({e.GetType().Name}: {OneLine(e.Message)}); the file is probably corrupt", inner: e);
        }
    }

    private static byte[] ReadBytes(string path, long maxBytes)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            long length = f.Length;
            if (length > maxBytes)
                throw new DataFormatException(path, $"the file has {length:N0} bytes, more than the {maxBytes:N0}-byte limit for an image (ImageReadOptions.MaxFileBytes)");
            var bytes = new byte[length];
            int n = f.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            return n == bytes.Length ? bytes : bytes[..n];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: file not found", path, e);
        }
    }

    private static Image Decode(string path, byte[] bytes, IImageFormat format, int channels, int height, int width, ImageReadOptions options, CancellationToken token)
    {
        var problem = format == PngFormat.Instance ? ImageStructure.CheckPng(bytes)
                    : format == JpegFormat.Instance ? ImageStructure.CheckJpeg(bytes)
                    : ImageStructure.CheckBmp(bytes);
        if (problem is { } p) throw new DataFormatException(path, p.Problem, offset: p.Offset);

        var decoder = Config.ImageFormatsManager.FindDecoder(format);
        using var stream = new MemoryStream(bytes, writable: false);
        var info = ((IImageInfoDetector)decoder).Identify(Config, stream, token)
            ?? throw new DataFormatException(path, $"cannot read the {format.Name} header");
        long pixels = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0)
            throw new DataFormatException(path, $"the {format.Name} header gives an empty size {info.Width}×{info.Height}");
        if (pixels > options.MaxPixels)
            throw new DataFormatException(path, $"the {format.Name} header claims {info.Width}×{info.Height} = {pixels:N0} pixels, more than the limit of {options.MaxPixels:N0} (ImageReadOptions.MaxPixels; raise it to read larger images)");

        stream.Position = 0;
        using var image = decoder.Decode<Rgb24>(Config, stream, token);
        if ((long)image.Width * image.Height > options.MaxPixels)
            throw new DataFormatException(path, $"decoded to {image.Width}×{image.Height} pixels, more than the limit of {options.MaxPixels:N0} (ImageReadOptions.MaxPixels)");
        token.ThrowIfCancellationRequested();
        if (image.Width != width || image.Height != height)
            image.Mutate(x => x.Resize(width, height, KnownResamplers.Triangle));
        token.ThrowIfCancellationRequested();
        return ToChw(image, channels);
    }

    /// <summary>
    /// 8-bit RGB pixels to CHW floats value/255. Grey is PIL's convert('L'), ITU-R 601-2 luma
    /// L = R·299/1000 + G·587/1000 + B·114/1000 in 16-bit fixed point: the weights 19595, 38470, 7471 sum to
    /// 65536, so with the rounding term 2^15 a grey pixel (R = G = B = v) maps to v exactly.
    /// </summary>
    private static Image ToChw(Image<Rgb24> image, int channels)
    {
        int h = image.Height, w = image.Width, plane = h * w;
        var rgb = new Rgb24[plane];
        image.CopyPixelDataTo(rgb);
        var data = new float[channels * plane];
        if (channels == 3)
        {
            for (int i = 0; i < plane; i++)
            {
                data[i] = rgb[i].R / 255f;
                data[plane + i] = rgb[i].G / 255f;
                data[2 * plane + i] = rgb[i].B / 255f;
            }
        }
        else
        {
            for (int i = 0; i < plane; i++)
                data[i] = ((19595 * rgb[i].R + 38470 * rgb[i].G + 7471 * rgb[i].B + 32768) >> 16) / 255f;
        }
        return new Image(data, channels, h, w);
    }

    /// <summary>A library message as one printable line: control characters (NULs, newlines) become spaces.</summary>
    internal static string OneLine(string message)
    {
        var sb = new StringBuilder(Math.Min(message.Length, 300));
        foreach (char c in message)
        {
            if (sb.Length >= 300) { sb.Append('…'); break; }
            bool blank = char.IsControl(c) || char.IsWhiteSpace(c);
            if (blank) { if (sb.Length > 0 && sb[^1] != ' ') sb.Append(' '); }
            else sb.Append(c);
        }
        return sb.ToString().TrimEnd();
    }

    private static string Hex(ReadOnlySpan<byte> bytes, int max)
        => bytes.Length == 0 ? "nothing: the file is empty" : string.Join(' ', bytes[..Math.Min(max, bytes.Length)].ToArray().Select(b => b.ToString("X2")));
}

/// <summary>
/// Cheap checks that a PNG, JPEG or BMP file is complete, from its container structure alone (no pixel is
/// decoded). Linear in the file size; every read is bounds-checked. Each returns null when the file is
/// complete, or what is wrong and the byte offset where it was found.
/// </summary>
internal static class ImageStructure
{
    /// <summary>
    /// PNG: the 8-byte signature 89 50 4E 47 0D 0A 1A 0A, then chunks of
    /// <code>
    ///   4 bytes  data length n, big-endian, at most 2^31 - 1
    ///   4 bytes  type (ASCII letters, e.g. IHDR, IDAT, IEND)
    ///   n bytes  data
    ///   4 bytes  CRC-32 of type and data
    /// </code>
    /// up to IEND, the last chunk. Running past the end of the file before IEND means the file is truncated.
    /// </summary>
    public static (string Problem, long Offset)? CheckPng(ReadOnlySpan<byte> b)
    {
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (b.Length < 8 || !b[..8].SequenceEqual(signature)) return ("truncated PNG: the 8-byte signature is incomplete", b.Length);
        long pos = 8;
        while (true)
        {
            if (pos + 8 > b.Length)
                return ($"truncated PNG: the file ends {(pos == b.Length ? "after" : "inside the header of")} a chunk before the IEND chunk", b.Length);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(b[(int)pos..]);
            var type = b.Slice((int)pos + 4, 4);
            string name = ChunkName(type);
            if (length > int.MaxValue) return ($"invalid PNG: chunk {name} claims {length} bytes, more than 2^31 - 1", pos);
            long end = pos + 12 + length;
            if (end > b.Length)
                return ($"truncated PNG: chunk {name} at byte offset {pos} needs {12 + length} bytes, the file ends {b.Length - pos} bytes after its start (no IEND chunk)", b.Length);
            if (type.SequenceEqual("IEND"u8)) return null;
            pos = end;
        }
    }

    private static string ChunkName(ReadOnlySpan<byte> type)
    {
        foreach (byte c in type)
            if (!char.IsAsciiLetter((char)c)) return $"of type {Convert.ToHexString(type)}";
        return $"'{Encoding.ASCII.GetString(type)}'";
    }

    /// <summary>
    /// JPEG: FF D8 (start of image), then marker segments — FF, a marker byte, a big-endian 16-bit length
    /// that counts itself — up to the first SOS (FF DA). After the SOS header comes entropy-coded data, in
    /// which FF 00 stands for a data byte FF, FF D0..D7 are restart markers and FF FF is fill; any other FF xx
    /// is the next marker, where the segment walk resumes (a progressive file has several SOS and DHT). The
    /// file is complete when EOI (FF D9) is reached; bytes after it are allowed. As libjpeg does, stray
    /// bytes where a marker is expected are skipped.
    /// </summary>
    public static (string Problem, long Offset)? CheckJpeg(ReadOnlySpan<byte> b)
    {
        int n = b.Length;
        if (n < 2 || b[0] != 0xFF || b[1] != 0xD8) return ("invalid JPEG: no start-of-image marker (FF D8)", 0);
        int pos = 2;
        bool sawScan = false;
        while (true)
        {
            int ff = b[pos..].IndexOf((byte)0xFF);
            if (ff < 0) return (NoEnd(sawScan), n);
            pos += ff;
            while (pos < n && b[pos] == 0xFF) pos++; // fill bytes before a marker
            if (pos >= n) return (NoEnd(sawScan), n);
            int markerAt = pos - 1;
            byte m = b[pos++];
            if (m == 0xD9) return null;
            // Markers without a length: TEM, RST0..7, SOI; 00 is a stray stuffed byte.
            if (m is 0x00 or 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7)) continue;
            if (pos + 2 > n) return ($"truncated JPEG: the length of segment FF {m:X2} at byte offset {markerAt} is cut off", n);
            int length = (b[pos] << 8) | b[pos + 1];
            if (length < 2) return ($"invalid JPEG: segment FF {m:X2} at byte offset {markerAt} has length {length} (at least 2)", pos);
            if ((long)pos + length > n)
                return ($"truncated JPEG: segment FF {m:X2} at byte offset {markerAt} needs {length} bytes after its marker, the file has {n - pos}", n);
            pos += length;
            if (m != 0xDA) continue;

            sawScan = true;
            while (true)
            {
                ff = b[pos..].IndexOf((byte)0xFF);
                if (ff < 0 || pos + ff + 1 >= n) return (NoEnd(sawScan), n);
                pos += ff;
                byte next = b[pos + 1];
                if (next == 0x00 || next is >= 0xD0 and <= 0xD7) pos += 2;
                else if (next == 0xFF) pos += 1;
                else break; // a marker: back to the segment walk at this FF
            }
        }
    }

    private static string NoEnd(bool sawScan)
        => sawScan ? "truncated JPEG: no end-of-image marker (FF D9) after the scan data" : "truncated JPEG: the file ends before the image data (no start-of-scan marker FF DA)";

    /// <summary>
    /// BMP ("BM" only, as PIL): the 14-byte file header (bfOffBits, the offset of the pixel array, uint32 at
    /// 10) and the DIB header whose size is at 14. BITMAPCOREHEADER (size 12) has uint16 width and height at
    /// 18 and 20 and the bits per pixel at 24; the later headers (16, 40, 52, 56, 64, 108, 124 bytes) have
    /// int32 width at 18, int32 height at 22 (negative = rows stored top-down), bits per pixel at 28, the
    /// compression at 30 and biSizeImage, the pixel array's size, at 34. Uncompressed (BI_RGB, BI_BITFIELDS,
    /// BI_ALPHABITFIELDS) rows are padded to 4 bytes: the array is ((width·bpp + 31) / 32)·4·|height| bytes.
    /// For RLE and other compressions only biSizeImage says how long the data is (0 = unknown).
    /// </summary>
    public static (string Problem, long Offset)? CheckBmp(ReadOnlySpan<byte> b)
    {
        long n = b.Length;
        if (n < 2 || b[0] != (byte)'B' || b[1] != (byte)'M')
            return ($"not a Windows BMP: the signature is {(n < 2 ? "cut off" : $"'{(char)b[0]}{(char)b[1]}'")}, only 'BM' bitmaps are read", 0);
        if (n < 18) return ($"truncated BMP: the file header needs 18 bytes, the file has {n}", n);
        long offBits = BinaryPrimitives.ReadUInt32LittleEndian(b[10..]);
        long dibSize = BinaryPrimitives.ReadUInt32LittleEndian(b[14..]);
        if (dibSize < 12) return ($"invalid BMP: DIB header size {dibSize} (at least 12)", 14);
        if (14 + dibSize > n) return ($"truncated BMP: the {dibSize}-byte DIB header ends past the end of the file ({n} bytes)", n);

        long width, height, bpp, compression = 0, sizeImage = 0;
        if (dibSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(b[20..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]);
        }
        else
        {
            if (dibSize < 16) return ($"invalid BMP: DIB header size {dibSize}", 14);
            width = BinaryPrimitives.ReadInt32LittleEndian(b[18..]);
            height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(b[22..]));
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
            if (dibSize >= 20) compression = BinaryPrimitives.ReadUInt32LittleEndian(b[30..]);
            if (dibSize >= 24) sizeImage = BinaryPrimitives.ReadUInt32LittleEndian(b[34..]);
        }
        if (width <= 0) return ($"invalid BMP: width {width}", 18);

        // OS/2 2.x headers (16 and 64 bytes) reuse 3 and 4 for Huffman 1D and RLE24.
        bool os2 = dibSize is 16 or 64;
        bool uncompressed = compression == 0 || (!os2 && compression is 3 or 6);
        long needed;
        string what;
        if (uncompressed)
        {
            long stride = (width * bpp + 31) / 32 * 4;
            if (height > 0 && stride > (n - Math.Min(offBits, n)) / height)
                return ($"truncated BMP: {width}×{height} pixels at {bpp} bits need {stride}·{height} bytes of pixel data from byte offset {offBits}, the file has {Math.Max(0, n - offBits)}", n);
            needed = stride * height;
            what = $"{width}×{height} pixels at {bpp} bits";
        }
        else
        {
            needed = sizeImage;
            what = $"the compressed pixel data (biSizeImage)";
        }
        if (offBits + needed > n)
            return ($"truncated BMP: {what} need {needed} bytes from byte offset {offBits}, the file has {Math.Max(0, n - offBits)}", n);
        return null;
    }
}
