namespace ScratchNet.data;

/// <summary>
/// A per-image transform on CHW floats (torchvision.transforms). Random transforms draw from the
/// <see cref="Generator"/> they are given and from nothing else, so a seed fixes the result. A transform
/// never modifies its input image; it returns a new one.
///
/// The lecture's Fashion-MNIST pipeline (see <see cref="FashionMnistTrain"/> / <see cref="FashionMnistTest"/>):
/// pad 28→32, repeat the grey channel to 3, then, for training only, random horizontal flip, random
/// rotation within ±15° and random translation within ±10%, and finally normalise with mean 0.5, std 0.5.
/// </summary>
public abstract class Transform
{
    /// <summary>A new image: the transform of <paramref name="image"/>, which is left unchanged. A random transform draws from
    /// <paramref name="gen"/> only (a fixed number of draws per image), so the same generator state gives the same output.
    /// ArgumentException when the image's shape is one the transform cannot take (<see cref="OutputShape"/>).</summary>
    public abstract Image Apply(Image image, Generator gen);

    /// <summary>The shape of the output for an input of shape [c, h, w] (throws if the transform cannot take it).</summary>
    public virtual (int C, int H, int W) OutputShape(int c, int h, int w) => (c, h, w);

    /// <summary>
    /// Applies the transform to each image of a batch [count, c, h, w]. Image i uses its own generator seeded
    /// by the i-th draw from <paramref name="gen"/>, so images do not depend on what the others consumed.
    /// </summary>
    public (float[] Images, int C, int H, int W) ApplyBatch(ReadOnlySpan<float> images, int count, int c, int h, int w, Generator gen)
    {
        Check.Positive("ApplyBatch", "count", count);
        int inSize = c * h * w;
        if (images.Length != (long)count * inSize)
            throw new ArgumentException($"ApplyBatch: {images.Length} values do not fill [{count}, {c}, {h}, {w}]");
        var (oc, oh, ow) = OutputShape(c, h, w);
        int outSize = oc * oh * ow;
        var result = new float[(long)count * outSize];
        for (int i = 0; i < count; i++)
        {
            var img = new Image(images.Slice(i * inSize, inSize).ToArray(), c, h, w);
            var o = Apply(img, new Generator(gen.NextULong()));
            o.Data.CopyTo(result, (long)i * outSize);
        }
        return (result, oc, oh, ow);
    }

    /// <summary>Training pipeline of the lecture notebook for 28×28 grey images: pad to 32, 3 channels, flip, ±15°, ±10% shift, normalise.</summary>
    /// <remarks>The notebook repeats the channel before augmenting; augmenting the single grey plane first and
    /// repeating it afterwards gives the very same floats (every augmentation treats each plane alike) for a third
    /// of the work.</remarks>
    public static Transform FashionMnistTrain() => new Compose(
        new PadTo(32, 32),
        new RandomHorizontalFlip(0.5f), new RandomRotation(15), new RandomTranslate(0.1, 0.1),
        new RepeatChannels(3), new Normalize(0.5f, 0.5f));

    /// <summary>Test pipeline of the lecture notebook: only pad to 32, 3 channels, normalise.</summary>
    public static Transform FashionMnistTest() => new Compose(new PadTo(32, 32), new RepeatChannels(3), new Normalize(0.5f, 0.5f));
}

/// <summary>Applies transforms in order (torchvision.transforms.Compose).</summary>
public sealed class Compose(params Transform[] transforms) : Transform
{
    /// <summary>The transforms, applied first to last; the output shape of each is the input of the next.</summary>
    public IReadOnlyList<Transform> Transforms { get; } = transforms.ToArray();

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        foreach (var t in Transforms) image = t.Apply(image, gen);
        return image;
    }

    /// <summary>The shape after every transform in turn; throws where one of them cannot take its input.</summary>
    public override (int C, int H, int W) OutputShape(int c, int h, int w)
    {
        foreach (var t in Transforms) (c, h, w) = t.OutputShape(c, h, w);
        return (c, h, w);
    }
}

/// <summary>
/// Zero-pads to height×width with the image centred: top = (H'−H)/2 rows, the rest at the bottom (same
/// for columns). 28→32 adds 2 on each side, like torchvision's Pad(2).
/// </summary>
public sealed class PadTo : Transform
{
    /// <summary>Pads to <paramref name="height"/> × <paramref name="width"/> pixels; both must be positive.</summary>
    public PadTo(int height, int width)
    {
        Height = Check.Positive("PadTo", "height", height);
        Width = Check.Positive("PadTo", "width", width);
    }

    /// <summary>Output height, in pixels.</summary>
    public int Height { get; }
    /// <summary>Output width, in pixels.</summary>
    public int Width { get; }

    /// <summary>[c, Height, Width]; ArgumentException when the image is taller or wider than the target (it never crops).</summary>
    public override (int C, int H, int W) OutputShape(int c, int h, int w)
    {
        if (h > Height || w > Width)
            throw new ArgumentException($"PadTo: image [{c}, {h}, {w}] is larger than the target {Height}×{Width}");
        return (c, Height, Width);
    }

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        var (c, _, _) = OutputShape(image.Channels, image.Height, image.Width);
        int top = (Height - image.Height) / 2, left = (Width - image.Width) / 2;
        var dst = new Image(new float[c * Height * Width], c, Height, Width);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < image.Height; y++)
                Array.Copy(image.Data, (ch * image.Height + y) * image.Width, dst.Data, (ch * Height + y + top) * Width + left, image.Width);
        return dst;
    }
}

/// <summary>Zero-pads <paramref name="padding"/> pixels on every side (torchvision.transforms.Pad(padding)).</summary>
public sealed class Pad(int padding) : Transform
{
    /// <summary>Zero pixels added on each of the four sides.</summary>
    public int Padding { get; } = Check.NonNegative("Pad", "padding", padding);

    /// <summary>[c, h + 2·Padding, w + 2·Padding].</summary>
    public override (int C, int H, int W) OutputShape(int c, int h, int w) => (c, h + 2 * Padding, w + 2 * Padding);

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
        => new PadTo(image.Height + 2 * Padding, image.Width + 2 * Padding).Apply(image, gen);
}

/// <summary>Repeats a one-channel image to <paramref name="channels"/> channels (Grayscale(num_output_channels=3) on a grey image).</summary>
public sealed class RepeatChannels(int channels = 3) : Transform
{
    /// <summary>Output channels, each a copy of the grey plane.</summary>
    public int Channels { get; } = Check.Positive("RepeatChannels", "channels", channels);

    /// <summary>[Channels, h, w]; the input must have 1 channel, or already Channels (then the image is copied as it is).</summary>
    public override (int C, int H, int W) OutputShape(int c, int h, int w)
    {
        if (c != 1 && c != Channels)
            throw new ArgumentException($"RepeatChannels: input has {c} channels, expected 1 (or already {Channels})");
        return (Channels, h, w);
    }

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        OutputShape(image.Channels, image.Height, image.Width);
        if (image.Channels == Channels) return image.Clone();
        int hw = image.Height * image.Width;
        var dst = new Image(new float[Channels * hw], Channels, image.Height, image.Width);
        for (int c = 0; c < Channels; c++) Array.Copy(image.Data, 0, dst.Data, c * hw, hw);
        return dst;
    }
}

/// <summary>Bilinear resize (see <see cref="ImageOps.ResizeBilinear"/>).</summary>
public sealed class Resize : Transform
{
    /// <summary>Resizes to <paramref name="height"/> × <paramref name="width"/> pixels; both must be positive.</summary>
    public Resize(int height, int width)
    {
        Height = Check.Positive("Resize", "height", height);
        Width = Check.Positive("Resize", "width", width);
    }

    /// <summary>Output height, in pixels.</summary>
    public int Height { get; }
    /// <summary>Output width, in pixels.</summary>
    public int Width { get; }
    /// <summary>[c, Height, Width], whatever the input size.</summary>
    public override (int C, int H, int W) OutputShape(int c, int h, int w) => (c, Height, Width);
    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen) => ImageOps.ResizeBilinear(image, Height, Width);
}

/// <summary>Mirrors the image left↔right with probability p: out(x) = in(W−1−x). Draws one number per image.</summary>
public sealed class RandomHorizontalFlip : Transform
{
    /// <summary>Flips with probability <paramref name="p"/>, which must be in [0, 1] (0 never flips, 1 always).</summary>
    public RandomHorizontalFlip(float p = 0.5f)
    {
        if (!(p >= 0f && p <= 1f)) throw new ArgumentException($"RandomHorizontalFlip: p must be in [0, 1], got {p}");
        P = p;
    }

    /// <summary>Probability of a flip: the image is mirrored when the draw u ∈ [0, 1) is below P.</summary>
    public float P { get; }

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        var dst = image.Clone();
        if (!(gen.NextFloat() < P)) return dst;
        int w = image.Width;
        for (int row = 0; row < image.Channels * image.Height; row++)
            Array.Reverse(dst.Data, row * w, w);
        return dst;
    }
}

/// <summary>
/// Rotates by an angle drawn uniformly from [−degrees, +degrees], counter-clockwise for positive angles as
/// in torchvision, about the image centre c = ((W−1)/2, (H−1)/2), with bilinear interpolation and zero fill.
///
/// Each output pixel p takes the input at R(−θ)(p − c) + c. With y pointing down, a counter-clockwise turn
/// by θ maps the offset (dx, dy) to (dx cos θ + dy sin θ, −dx sin θ + dy cos θ); its inverse, used here, is
///   sx = cx + dx cos θ − dy sin θ,   sy = cy + dx sin θ + dy cos θ.
/// cos and sin are snapped to exact 0 / ±1 near multiples of 90°, so those turns move pixels exactly.
/// </summary>
public sealed class RandomRotation : Transform
{
    /// <summary>Rotates by up to <paramref name="degrees"/> either way; it must be in [0, 180].</summary>
    public RandomRotation(double degrees)
    {
        if (!(degrees >= 0 && degrees <= 180)) throw new ArgumentException($"RandomRotation: degrees must be in [0, 180], got {degrees}");
        Degrees = degrees;
    }

    /// <summary>Largest rotation, in degrees: the angle is uniform in [−Degrees, +Degrees]. One draw per image.</summary>
    public double Degrees { get; }

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        double angle = -Degrees + 2 * Degrees * gen.NextDouble();
        return Rotate(image, angle);
    }

    /// <summary>Rotation by a given angle in degrees (counter-clockwise), bilinear, zero fill.</summary>
    public static Image Rotate(Image image, double degrees)
    {
        double rad = degrees * Math.PI / 180.0;
        double cos = Snap(Math.Cos(rad)), sin = Snap(Math.Sin(rad));
        int h = image.Height, w = image.Width, hw = h * w;
        double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
        var src = image.Data;
        var dst = new Image(new float[src.Length], image.Channels, h, w);
        for (int y = 0; y < h; y++)
        {
            double dy = y - cy;
            for (int x = 0; x < w; x++)
            {
                double dx = x - cx;
                double sx = cx + dx * cos - dy * sin;
                double sy = cy + dx * sin + dy * cos;
                // The four taps around (sx, sy) and their bilinear weights are the same for every channel.
                double fx = Math.Floor(sx), fy = Math.Floor(sy);
                if (fx < -1 || fy < -1 || fx >= w || fy >= h) continue; // all four taps outside: stays 0
                int x0 = (int)fx, y0 = (int)fy;
                float ax = (float)(sx - fx), ay = (float)(sy - fy);
                float w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
                bool in00 = Inside(x0, y0, w, h), in10 = Inside(x0 + 1, y0, w, h);
                bool in01 = Inside(x0, y0 + 1, w, h), in11 = Inside(x0 + 1, y0 + 1, w, h);
                int i00 = y0 * w + x0;
                for (int c = 0, plane = 0; c < image.Channels; c++, plane += hw)
                {
                    float v = 0;
                    if (in00) v += w00 * src[plane + i00];
                    if (in10) v += w10 * src[plane + i00 + 1];
                    if (in01) v += w01 * src[plane + i00 + w];
                    if (in11) v += w11 * src[plane + i00 + w + 1];
                    dst.Data[plane + y * w + x] = v;
                }
            }
        }
        return dst;
    }

    private static bool Inside(int x, int y, int w, int h) => (uint)x < (uint)w && (uint)y < (uint)h;

    private static double Snap(double v)
    {
        if (Math.Abs(v) < 1e-12) return 0;
        if (Math.Abs(v - 1) < 1e-12) return 1;
        if (Math.Abs(v + 1) < 1e-12) return -1;
        return v;
    }
}

/// <summary>
/// Shifts the image by a whole number of pixels, zero fill, as torchvision's RandomAffine(degrees=0,
/// translate=(fx, fy)): tx = round(U(−fx·W, fx·W)), ty = round(U(−fy·H, fy·H)) (round half to even, like
/// Python), then out(x, y) = in(x − tx, y − ty); positive tx moves the content right, positive ty down.
/// Draws two numbers per image (x first).
/// </summary>
public sealed class RandomTranslate : Transform
{
    /// <summary>Shifts by up to <paramref name="fractionX"/> of the width and <paramref name="fractionY"/> of the height either
    /// way; both must be in [0, 1].</summary>
    public RandomTranslate(double fractionX = 0.1, double fractionY = 0.1)
    {
        if (!(fractionX >= 0 && fractionX <= 1) || !(fractionY >= 0 && fractionY <= 1))
            throw new ArgumentException($"RandomTranslate: fractions must be in [0, 1], got ({fractionX}, {fractionY})");
        FractionX = fractionX;
        FractionY = fractionY;
    }

    /// <summary>Largest horizontal shift as a fraction of the width: tx = round(U(−FractionX·W, FractionX·W)) pixels.</summary>
    public double FractionX { get; }
    /// <summary>Largest vertical shift as a fraction of the height: ty = round(U(−FractionY·H, FractionY·H)) pixels.</summary>
    public double FractionY { get; }

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        double maxDx = FractionX * image.Width, maxDy = FractionY * image.Height;
        int tx = (int)Math.Round(-maxDx + 2 * maxDx * gen.NextDouble(), MidpointRounding.ToEven);
        int ty = (int)Math.Round(-maxDy + 2 * maxDy * gen.NextDouble(), MidpointRounding.ToEven);
        return Shift(image, tx, ty);
    }

    /// <summary>out(x, y) = in(x − tx, y − ty), zero where that falls outside.</summary>
    public static Image Shift(Image image, int tx, int ty)
    {
        int h = image.Height, w = image.Width;
        var dst = new Image(new float[image.Data.Length], image.Channels, h, w);
        int x0 = Math.Max(0, tx), x1 = Math.Min(w, w + tx); // output columns whose source column is inside
        if (x1 <= x0) return dst;
        for (int c = 0; c < image.Channels; c++)
            for (int y = Math.Max(0, ty); y < Math.Min(h, h + ty); y++)
                Array.Copy(image.Data, (c * h + y - ty) * w + x0 - tx, dst.Data, (c * h + y) * w + x0, x1 - x0);
        return dst;
    }
}

/// <summary>(x − mean[c]) / std[c] per channel (torchvision.transforms.Normalize). One value applies to every channel.</summary>
public sealed class Normalize : Transform
{
    /// <summary>The same <paramref name="mean"/> and <paramref name="std"/> (positive) for every channel.</summary>
    public Normalize(float mean, float std) : this([mean], [std]) { }

    /// <summary>One mean and std per channel (or one value each for all): non-empty, equal lengths, every std positive. The
    /// arrays are copied.</summary>
    public Normalize(float[] mean, float[] std)
    {
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: mean ({mean.Length} values) and std ({std.Length} values) must be non-empty and of equal length");
        foreach (var s in std)
            if (!(s > 0)) throw new ArgumentException($"Normalize: std must be positive, got [{string.Join(", ", std)}]");
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>Subtracted from each channel: one value for all channels, or one per channel.</summary>
    public float[] Mean { get; }
    /// <summary>Divides each channel after the mean is subtracted: one value for all, or one per channel; all positive.</summary>
    public float[] Std { get; }

    /// <summary>The input shape; ArgumentException when there are several means but not one per channel.</summary>
    public override (int C, int H, int W) OutputShape(int c, int h, int w)
    {
        if (Mean.Length != 1 && Mean.Length != c)
            throw new ArgumentException($"Normalize: {Mean.Length} means for an image with {c} channels");
        return (c, h, w);
    }

    /// <inheritdoc />
    public override Image Apply(Image image, Generator gen)
    {
        OutputShape(image.Channels, image.Height, image.Width);
        int hw = image.Height * image.Width;
        var dst = new Image(new float[image.Data.Length], image.Channels, image.Height, image.Width);
        for (int c = 0; c < image.Channels; c++)
        {
            float m = Mean[Mean.Length == 1 ? 0 : c], s = Std[Std.Length == 1 ? 0 : c];
            for (int i = c * hw; i < (c + 1) * hw; i++) dst.Data[i] = (image.Data[i] - m) / s;
        }
        return dst;
    }
}
