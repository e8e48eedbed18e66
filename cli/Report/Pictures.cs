using SkiaSharp;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Report;

/// <summary>
/// Image grids drawn with SkiaSharp: predictions.png (test images with true label, prediction and softmax
/// probability), gradcam.png (Grad-CAM heatmaps over test images) and filters.png (the first conv layer's kernels).
/// Images arrive as CHW floats normalised with mean 0.5 / std 0.5 and are shown back in [0, 1].
/// </summary>
public static class Pictures
{
    private const int Scale = 4;

    public sealed record Prediction(float[] Image, int Channels, int Height, int Width, string Truth, string Predicted, float Probability, bool Correct);

    public static void Predictions(string path, IReadOnlyList<Prediction> items)
    {
        int cols = Math.Min(5, items.Count), rows = (items.Count + cols - 1) / cols;
        int cw = items[0].Width * Scale, ch = items[0].Height * Scale;
        int cellW = Math.Max(cw, 150) + 16, cellH = ch + 56;
        using var surface = SKSurface.Create(new SKImageInfo(cols * cellW, rows * cellH + 30));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var title = Font(16, true);
        using var text = Font(13, false);
        canvas.DrawText("Predictions on random test images (true / predicted, probability)", 8, 20, title.Font, title.Paint);
        for (int i = 0; i < items.Count; i++)
        {
            var p = items[i];
            int x0 = (i % cols) * cellW + 8, y0 = (i / cols) * cellH + 30;
            using var bmp = ToBitmap(p.Image, p.Channels, p.Height, p.Width, denormalize: true);
            Blit(canvas, bmp, new SKRect(x0, y0, x0 + cw, y0 + ch), smooth: false);
            canvas.DrawText($"true: {p.Truth}", x0, y0 + ch + 18, text.Font, text.Paint);
            text.Paint.Color = p.Correct ? new SKColor(0, 128, 0) : new SKColor(200, 0, 0);
            canvas.DrawText($"pred: {p.Predicted} ({p.Probability:P0})", x0, y0 + ch + 36, text.Font, text.Paint);
            text.Paint.Color = SKColors.Black;
        }
        Save(surface, path);
    }

    public sealed record CamItem(float[] Image, int Channels, int Height, int Width, float[] Heatmap, string Label);

    public static void GradCam(string path, IReadOnlyList<CamItem> items, string layer)
    {
        int cw = items[0].Width * Scale, ch = items[0].Height * Scale;
        int cellW = Math.Max(cw, 140) + 16, cellH = 2 * ch + 46;
        using var surface = SKSurface.Create(new SKImageInfo(items.Count * cellW, cellH + 30));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var title = Font(16, true);
        using var text = Font(13, false);
        canvas.DrawText($"Grad-CAM at {layer}: image (top) and heatmap overlay (bottom)", 8, 20, title.Font, title.Paint);
        for (int i = 0; i < items.Count; i++)
        {
            var it = items[i];
            int x0 = i * cellW + 8, y0 = 30;
            using var img = ToBitmap(it.Image, it.Channels, it.Height, it.Width, denormalize: true);
            using var overlay = Overlay(it.Image, it.Channels, it.Height, it.Width, it.Heatmap);
            Blit(canvas, img, new SKRect(x0, y0, x0 + cw, y0 + ch), smooth: false);
            Blit(canvas, overlay, new SKRect(x0, y0 + ch + 4, x0 + cw, y0 + 2 * ch + 4), smooth: true);
            canvas.DrawText(it.Label, x0, y0 + 2 * ch + 24, text.Font, text.Paint);
        }
        Save(surface, path);
    }

    /// <summary>The first conv layer's kernels, each scaled to [0, 1] on its own (as most filter visualisations do).</summary>
    public static void Filters(string path, float[] weights, int outChannels, int inChannels, int kh, int kw)
    {
        int cols = Math.Min(16, outChannels), rows = (outChannels + cols - 1) / cols;
        int s = Math.Max(6, 48 / Math.Max(kh, kw)), cell = Math.Max(kh, kw) * s + 6;
        using var surface = SKSurface.Create(new SKImageInfo(cols * cell + 8, rows * cell + 36));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var title = Font(15, true);
        canvas.DrawText($"First conv layer: {outChannels} kernels {inChannels}×{kh}×{kw}", 6, 20, title.Font, title.Paint);
        int size = inChannels * kh * kw;
        for (int o = 0; o < outChannels; o++)
        {
            var k = weights.AsSpan(o * size, size).ToArray();
            float min = k.Min(), max = k.Max(), range = Math.Max(1e-12f, max - min);
            for (int j = 0; j < k.Length; j++) k[j] = (k[j] - min) / range;
            using var bmp = ToBitmap(k, inChannels, kh, kw, denormalize: false);
            int x0 = (o % cols) * cell + 6, y0 = (o / cols) * cell + 30;
            Blit(canvas, bmp, new SKRect(x0, y0, x0 + kw * s, y0 + kh * s), smooth: false);
        }
        Save(surface, path);
    }

    /// <summary>CHW floats → bitmap; grey when 1 channel, RGB when 3. denormalize maps v ↦ 0.5·v + 0.5.</summary>
    public static SKBitmap ToBitmap(float[] chw, int c, int h, int w, bool denormalize)
    {
        var bmp = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                byte Ch(int k) => ToByte(denormalize ? 0.5f * chw[(k * h + y) * w + x] + 0.5f : chw[(k * h + y) * w + x]);
                byte r = Ch(0), g = c >= 3 ? Ch(1) : r, b = c >= 3 ? Ch(2) : r;
                bmp.SetPixel(x, y, new SKColor(r, g, b));
            }
        return bmp;
    }

    /// <summary>Image blended 50/50 with the heatmap in the "jet" colour map (blue = 0, red = 1).</summary>
    private static SKBitmap Overlay(float[] chw, int c, int h, int w, float[] heat)
    {
        using var img = ToBitmap(chw, c, h, w, denormalize: true);
        var bmp = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (jr, jg, jb) = Jet(heat[y * w + x]);
                var p = img.GetPixel(x, y);
                bmp.SetPixel(x, y, new SKColor((byte)((p.Red + jr) / 2), (byte)((p.Green + jg) / 2), (byte)((p.Blue + jb) / 2)));
            }
        return bmp;
    }

    private static (int, int, int) Jet(float v)
    {
        v = Math.Clamp(v, 0f, 1f);
        float r = Math.Clamp(1.5f - Math.Abs(4 * v - 3), 0, 1), g = Math.Clamp(1.5f - Math.Abs(4 * v - 2), 0, 1), b = Math.Clamp(1.5f - Math.Abs(4 * v - 1), 0, 1);
        return ((int)(255 * r), (int)(255 * g), (int)(255 * b));
    }

    /// <summary>Draws a bitmap scaled into rect: nearest-neighbour keeps pixels crisp, linear smooths heatmaps.</summary>
    private static void Blit(SKCanvas canvas, SKBitmap bmp, SKRect rect, bool smooth)
    {
        using var image = SKImage.FromBitmap(bmp);
        canvas.DrawImage(image, rect, new SKSamplingOptions(smooth ? SKFilterMode.Linear : SKFilterMode.Nearest));
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);

    private sealed class TextStyle(SKFont font, SKPaint paint) : IDisposable
    {
        public SKFont Font { get; } = font;
        public SKPaint Paint { get; } = paint;
        public void Dispose() { Font.Dispose(); Paint.Dispose(); }
    }

    private static TextStyle Font(float size, bool bold) =>
        new(new SKFont(SKTypeface.FromFamilyName(null, bold ? SKFontStyle.Bold : SKFontStyle.Normal), size),
            new SKPaint { Color = SKColors.Black, IsAntialias = true });

    private static void Save(SKSurface surface, string path)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        string tmp = path + ".tmp";
        using (var fs = File.Create(tmp)) data.SaveTo(fs);
        File.Move(tmp, path, overwrite: true);
    }
}
