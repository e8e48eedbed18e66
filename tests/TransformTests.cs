using System.Numerics;
using ScratchNet.data;

namespace ScratchNet.Tests;

/// <summary>Each transform on a known image: exact results where the math is exact (pad, flip, 90° turns,
/// integer shifts, normalise), an independent formulation within 1e-5 where it is not (bilinear rotation).</summary>
public class TransformTests
{
    private static Image Ramp(int c, int h, int w)
    {
        var img = new Image(new float[c * h * w], c, h, w);
        for (int i = 0; i < img.Data.Length; i++) img.Data[i] = (i + 1) / (float)img.Data.Length;
        return img;
    }

    private static Image Dot(int h, int w, int x, int y, float value = 1f)
    {
        var img = new Image(new float[h * w], 1, h, w);
        img[0, y, x] = value;
        return img;
    }

    private static (int X, int Y) Brightest(Image img)
    {
        int best = 0;
        for (int i = 1; i < img.Width * img.Height; i++) if (img.Data[i] > img.Data[best]) best = i;
        return (best % img.Width, best / img.Width);
    }

    private static (double X, double Y) Centroid(Image img)
    {
        double s = 0, sx = 0, sy = 0;
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++) { double v = img[0, y, x]; s += v; sx += v * x; sy += v * y; }
        return (sx / s, sy / s);
    }

    // ------------------------------------------------------------------ pad, channels, resize

    [Fact]
    public void PadTo32CentresA28Image()
    {
        var img = Ramp(1, 28, 28);
        var o = new PadTo(32, 32).Apply(img, new Generator(0));
        Assert.Equal((1, 32, 32), (o.Channels, o.Height, o.Width));
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
            {
                bool inside = y is >= 2 and < 30 && x is >= 2 and < 30;
                Assert.Equal(inside ? img[0, y - 2, x - 2] : 0f, o[0, y, x]);
            }
        Assert.Equal(new Pad(2).Apply(img, new Generator(0)).Data, o.Data);
    }

    [Fact]
    public void PadToPutsTheOddPixelAtTheBottomRight()
    {
        var img = Ramp(2, 3, 2);
        var o = new PadTo(6, 5).Apply(img, new Generator(0)); // top 1, bottom 2; left 1, right 2
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 5; x++)
                    Assert.Equal(y is >= 1 and < 4 && x is >= 1 and < 3 ? img[c, y - 1, x - 1] : 0f, o[c, y, x]);
    }

    [Fact]
    public void PadToRejectsLargerImages()
    {
        var e = Assert.Throws<ArgumentException>(() => new PadTo(32, 32).Apply(Ramp(1, 33, 10), new Generator(0)));
        Assert.Contains("PadTo", e.Message);
        Assert.Contains("[1, 33, 10]", e.Message);
        Assert.Throws<ArgumentException>(() => new PadTo(0, 32));
        Assert.Throws<ArgumentException>(() => new Pad(-1));
    }

    [Fact]
    public void RepeatChannelsCopiesTheGreyPlane()
    {
        var img = Ramp(1, 4, 5);
        var o = new RepeatChannels(3).Apply(img, new Generator(0));
        Assert.Equal(3, o.Channels);
        for (int c = 0; c < 3; c++) Assert.Equal(img.Data, o.Data.AsSpan(c * 20, 20).ToArray());
        Assert.Equal(o.Data, new RepeatChannels(3).Apply(o, new Generator(0)).Data); // already 3: unchanged
        var e = Assert.Throws<ArgumentException>(() => new RepeatChannels(3).Apply(Ramp(2, 4, 5), new Generator(0)));
        Assert.Contains("RepeatChannels", e.Message);
    }

    [Fact]
    public void ConvertChannelsRepeatsGreyAndTakesLuma()
    {
        var grey = new Image([0.2f, 0.8f], 1, 1, 2);
        Assert.Equal(new float[] { 0.2f, 0.8f, 0.2f, 0.8f, 0.2f, 0.8f }, ImageOps.ConvertChannels(grey, 3).Data);
        var rgb = new Image([1f, 0f, 0f, 1f, 0f, 0f], 3, 1, 2); // pixel 0 red, pixel 1 green
        TestUtil.AssertClose(new[] { 0.299f, 0.587f }, ImageOps.ConvertChannels(rgb, 1).Data, 1e-6f, 0, "luma");
        Assert.Same(rgb, ImageOps.ConvertChannels(rgb, 3));
        Assert.Throws<ArgumentException>(() => ImageOps.ConvertChannels(rgb, 2));
    }

    [Fact]
    public void ResizeIsTorchBilinearWithHalfPixelCentres()
    {
        var img = new Image([0, 1, 2, 3], 1, 2, 2);
        var up = new Resize(4, 4).Apply(img, new Generator(0));
        TestUtil.AssertClose(new float[] { 0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3 },
            up.Data, 1e-6f, 0, "2×2 → 4×4");
        var row = new Image([0, 1, 2, 3], 1, 1, 4);
        TestUtil.AssertClose(new float[] { 0.5f, 2.5f }, ImageOps.ResizeBilinear(row, 1, 2).Data, 1e-6f, 0, "4 → 2");
        Assert.Equal(row.Data, ImageOps.ResizeBilinear(row, 1, 4).Data);
    }

    // ------------------------------------------------------------------ flip

    [Fact]
    public void HorizontalFlipMirrorsAGradient()
    {
        var img = Ramp(2, 3, 5);
        var flipped = new RandomHorizontalFlip(1f).Apply(img, new Generator(0));
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 5; x++)
                    Assert.Equal(img[c, y, 4 - x], flipped[c, y, x]);
        Assert.Equal(img.Data, new RandomHorizontalFlip(0f).Apply(img, new Generator(0)).Data);
        Assert.Equal(Ramp(2, 3, 5).Data, img.Data); // the input is left alone
    }

    [Fact]
    public void HorizontalFlipHappensHalfTheTimeAndDependsOnlyOnTheSeed()
    {
        var img = Ramp(1, 2, 3);
        var flip = new RandomHorizontalFlip();
        int flips = 0;
        for (ulong s = 0; s < 1000; s++)
        {
            var o = flip.Apply(img, new Generator(s));
            bool f = o.Data[0] != img.Data[0];
            if (f) { flips++; Assert.Equal(img[0, 0, 2], o.Data[0]); }
            Assert.Equal(o.Data, flip.Apply(img, new Generator(s)).Data);
        }
        Assert.InRange(flips, 440, 560); // binomial(1000, 0.5): ±3.8σ
        Assert.Throws<ArgumentException>(() => new RandomHorizontalFlip(1.5f));
    }

    // ------------------------------------------------------------------ rotation

    [Fact]
    public void Rotation90IsExactAndCounterClockwise()
    {
        var g = new Generator(4);
        var img = new Image(TestUtil.RandomArray(g, 2 * 5 * 5, 0, 1), 2, 5, 5);
        var r90 = RandomRotation.Rotate(img, 90);
        // numpy.rot90: out[y][x] = in[x][N-1-y]
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 5; x++)
                    Assert.Equal(img[c, x, 4 - y], r90[c, y, x]);
        // A pixel right of the centre (2, 2) moves above it.
        Assert.Equal((2, 0), Brightest(RandomRotation.Rotate(Dot(5, 5, 4, 2), 90)));
        Assert.Equal((2, 4), Brightest(RandomRotation.Rotate(Dot(5, 5, 4, 2), -90)));

        var r180 = RandomRotation.Rotate(img, 180);
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 5; x++)
                    Assert.Equal(img[c, 4 - y, 4 - x], r180[c, y, x]);
        Assert.Equal(RandomRotation.Rotate(img, 270).Data, RandomRotation.Rotate(img, -90).Data);
        Assert.Equal(img.Data, RandomRotation.Rotate(RandomRotation.Rotate(r180, 90), 90).Data);
        Assert.Equal(img.Data, RandomRotation.Rotate(img, 0).Data);
        // Even sizes: the centre (1.5, 1.5) lies between pixels and 90° still maps pixels onto pixels.
        var even = new Image(TestUtil.RandomArray(g, 16, 0, 1), 1, 4, 4);
        var e90 = RandomRotation.Rotate(even, 90);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                Assert.Equal(even[0, x, 3 - y], e90[0, y, x]);
    }

    [Fact]
    public void RotationBy30DegreesMatchesBilinearSamplingOfTheRotatedGrid()
    {
        // A single bright pixel 4 to the right of the centre of a 15×15 image.
        var img = Dot(15, 15, 11, 7);
        var o = RandomRotation.Rotate(img, 30);
        // Independent formulation with complex numbers in y-up coordinates: the source of output p is
        // c + e^{-iθ}(p − c); a single pixel at s0 then contributes tent(sx − s0x)·tent(sy − s0y).
        var rot = Complex.FromPolarCoordinates(1, -30 * Math.PI / 180);
        for (int y = 0; y < 15; y++)
            for (int x = 0; x < 15; x++)
            {
                var z = new Complex(x - 7, -(y - 7)) * rot;
                double sx = 7 + z.Real, sy = 7 - z.Imaginary;
                double expected = Math.Max(0, 1 - Math.Abs(sx - 11)) * Math.Max(0, 1 - Math.Abs(sy - 7));
                Assert.True(Math.Abs(expected - o[0, y, x]) < 1e-5, $"pixel ({x}, {y}) = {o[0, y, x]}, expected {expected}");
            }
        // Its mass lands where rotating the point gives: (7 + 4 cos 30°, 7 − 4 sin 30°) = (10.46, 5).
        var (cx, cy) = Centroid(o);
        Assert.True(Math.Abs(cx - (7 + 4 * Math.Cos(Math.PI / 6))) < 0.1 && Math.Abs(cy - 5) < 0.1, $"centroid ({cx}, {cy})");
    }

    [Fact]
    public void RandomRotationStaysWithinItsRangeAndCoversIt()
    {
        var img = Dot(31, 31, 25, 15); // 10 pixels right of the centre (15, 15)
        var rotation = new RandomRotation(15);
        double min = double.MaxValue, max = double.MinValue;
        for (ulong s = 0; s < 300; s++)
        {
            var o = rotation.Apply(img, new Generator(s));
            var (x, y) = Centroid(o);
            double angle = Math.Atan2(-(y - 15), x - 15) * 180 / Math.PI; // counter-clockwise, degrees
            min = Math.Min(min, angle);
            max = Math.Max(max, angle);
            Assert.Equal(o.Data, rotation.Apply(img, new Generator(s)).Data);
        }
        Assert.InRange(min, -15.5, -13);
        Assert.InRange(max, 13, 15.5);
        Assert.Equal(img.Data, new RandomRotation(0).Apply(img, new Generator(1)).Data);
        Assert.Throws<ArgumentException>(() => new RandomRotation(-1));
    }

    [Fact]
    public void RotationFillsWithZero()
    {
        var ones = new Image(Enumerable.Repeat(1f, 9 * 9).ToArray(), 1, 9, 9);
        var o = RandomRotation.Rotate(ones, 45);
        Assert.Equal(0f, o[0, 0, 0]);         // the corners come from outside the image
        Assert.Equal(1f, o[0, 4, 4], 6);      // the centre stays
    }

    // ------------------------------------------------------------------ translation

    [Fact]
    public void ShiftMovesPixelsByTheGivenAmountWithZeroFill()
    {
        var img = Ramp(2, 6, 7);
        var o = RandomTranslate.Shift(img, 2, -1);
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 7; x++)
                {
                    int sx = x - 2, sy = y + 1;
                    float expected = sx >= 0 && sx < 7 && sy >= 0 && sy < 6 ? img[c, sy, sx] : 0f;
                    Assert.Equal(expected, o[c, y, x]);
                }
        Assert.Equal((5, 2), Brightest(RandomTranslate.Shift(Dot(6, 7, 3, 3), 2, -1)));
        Assert.All(RandomTranslate.Shift(img, 7, 0).Data, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void RandomTranslateShiftsByWholePixelsWithinTenPercent()
    {
        var img = Dot(32, 32, 16, 16);
        var translate = new RandomTranslate(0.1, 0.1);
        var xs = new HashSet<int>();
        var ys = new HashSet<int>();
        int zeros = 0;
        for (ulong s = 0; s < 400; s++)
        {
            var o = translate.Apply(img, new Generator(s));
            var (x, y) = Brightest(o);
            Assert.Equal(1f, o[0, y, x]);              // a whole-pixel shift keeps the pixel intact
            Assert.Equal(1f, o.Data.Sum());
            if (x == 16) zeros++;
            xs.Add(x - 16);
            ys.Add(y - 16);
            Assert.Equal(o.Data, translate.Apply(img, new Generator(s)).Data);
        }
        // 0.1 · 32 = 3.2 pixels, rounded: every shift in [-3, 3] occurs and nothing else.
        Assert.Equal(Enumerable.Range(-3, 7), xs.Order());
        Assert.Equal(Enumerable.Range(-3, 7), ys.Order());
        // Rounding (not truncation): a shift of 0 comes from U in (-0.5, 0.5), probability 1/6.4, so about
        // 62 of 400 (truncation would give 125).
        Assert.InRange(zeros, 35, 95);
        Assert.Equal(img.Data, new RandomTranslate(0, 0).Apply(img, new Generator(3)).Data);
    }

    // ------------------------------------------------------------------ normalise, compose, batches

    [Fact]
    public void NormalizeComputesXMinusMeanOverStd()
    {
        var img = new Image([0f, 0.25f, 0.5f, 1f], 1, 2, 2);
        Assert.Equal(new float[] { -1f, -0.5f, 0f, 1f }, new Normalize(0.5f, 0.5f).Apply(img, new Generator(0)).Data);
        var rgb = new Image([1f, 1f, 1f, 1f, 1f, 1f], 3, 1, 2);
        var o = new Normalize([0.5f, 0.25f, 0f], [0.5f, 0.25f, 2f]).Apply(rgb, new Generator(0));
        Assert.Equal(new float[] { 1f, 1f, 3f, 3f, 0.5f, 0.5f }, o.Data);
        Assert.Throws<ArgumentException>(() => new Normalize([0.5f, 0.5f], [0.5f, 0.5f]).Apply(rgb, new Generator(0)));
        Assert.Throws<ArgumentException>(() => new Normalize(0.5f, 0f));
        Assert.Throws<ArgumentException>(() => new Normalize([0.5f], [0.5f, 0.5f]));
    }

    [Fact]
    public void FashionMnistTestPipelinePadsRepeatsAndNormalises()
    {
        var img = Ramp(1, 28, 28);
        var t = Transform.FashionMnistTest();
        Assert.Equal((3, 32, 32), t.OutputShape(1, 28, 28));
        var o = t.Apply(img, new Generator(0));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                {
                    bool inside = y is >= 2 and < 30 && x is >= 2 and < 30;
                    float v = inside ? img[0, y - 2, x - 2] : 0f;
                    Assert.Equal((v - 0.5f) / 0.5f, o[c, y, x]);
                }
    }

    [Fact]
    public void FashionMnistTrainPipelineIsSeededAndRandom()
    {
        var ds = Datasets.FashionMnist(train: false, DataSource.Subset);
        var img = ds.GetImage(0);
        var t = Transform.FashionMnistTrain();
        Assert.Equal((3, 32, 32), t.OutputShape(1, 28, 28));
        var a = t.Apply(img, new Generator(11));
        Assert.Equal(a.Data, t.Apply(img, new Generator(11)).Data);
        Assert.NotEqual(a.Data, t.Apply(img, new Generator(12)).Data);
        Assert.True(a.Data.Min() >= -1f - 1e-6f && a.Data.Max() <= 1f + 1e-6f);
        // The three channels stay equal: every augmentation acts the same on each plane.
        Assert.Equal(a.Data.AsSpan(0, 1024).ToArray(), a.Data.AsSpan(2048, 1024).ToArray());
        // Same floats as the notebook's order (repeat to 3 channels before augmenting).
        var notebook = new Compose(new PadTo(32, 32), new RepeatChannels(3), new RandomHorizontalFlip(0.5f),
                                   new RandomRotation(15), new RandomTranslate(0.1, 0.1), new Normalize(0.5f, 0.5f));
        for (ulong s = 0; s < 20; s++)
            Assert.Equal(notebook.Apply(img, new Generator(s)).Data, t.Apply(img, new Generator(s)).Data);
    }

    [Fact]
    public void ComposeAppliesInOrder()
    {
        var img = Ramp(1, 2, 2);
        var t = new Compose(new PadTo(4, 4), new RepeatChannels(3), new RandomHorizontalFlip(1f));
        var o = t.Apply(img, new Generator(0));
        var expected = new RandomHorizontalFlip(1f).Apply(new RepeatChannels(3).Apply(new PadTo(4, 4).Apply(img, new Generator(0)), new Generator(0)), new Generator(0));
        Assert.Equal(expected.Data, o.Data);
        Assert.Equal((3, 4, 4), t.OutputShape(1, 2, 2));
    }

    [Fact]
    public void ApplyBatchGivesEachImageItsOwnGenerator()
    {
        var g = new Generator(2);
        var batch = TestUtil.RandomArray(g, 4 * 1 * 6 * 6, 0, 1);
        var t = new Compose(new RandomHorizontalFlip(), new RandomRotation(15), new RandomTranslate());
        var (images, c, h, w) = t.ApplyBatch(batch, 4, 1, 6, 6, new Generator(99));
        Assert.Equal((1, 6, 6), (c, h, w));
        var seeds = new Generator(99);
        for (int i = 0; i < 4; i++)
        {
            var one = t.Apply(new Image(batch.AsSpan(i * 36, 36).ToArray(), 1, 6, 6), new Generator(seeds.NextULong()));
            Assert.Equal(one.Data, images.AsSpan(i * 36, 36).ToArray());
        }
        Assert.Throws<ArgumentException>(() => t.ApplyBatch(batch, 5, 1, 6, 6, new Generator(0)));
    }
}
