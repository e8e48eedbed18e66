using ScratchNet.nn;

namespace ScratchNet.Models.Training;

/// <summary>One Grad-CAM heatmap: where in the image the evidence for a class lies, in [0, 1] at input resolution.</summary>
public sealed record GradCamResult(int TargetClass, float[] Heatmap, int Height, int Width);

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017), computed with the engine's autograd.
///
/// For a conv layer with output A [K, h, w] and the class score y_c (the logit of class c):
///   α_k = (1 / hw) Σ_ij ∂y_c / ∂A_k[i, j]          how much channel k matters for class c (gradients, averaged)
///   L   = ReLU(Σ_k α_k · A_k)                        [h, w]: where the important channels fire
/// then L is scaled to [0, 1] and upsampled bilinearly to the input size.
/// ∂y_c/∂A comes from one backward pass seeded with the one-hot gradient of class c at the logits: the autograd
/// tape keeps the gradient of every intermediate tensor it visits, A included.
/// </summary>
public static class GradCam
{
    /// <summary>The leaf modules of a model in execution order with their paths (features.0, ..., classifier.6).</summary>
    public static List<(string Path, Module Module)> Leaves(Module model)
    {
        var leaves = new List<(string, Module)>();
        void Walk(string prefix, Module m)
        {
            if (m is Sequential s && s.NamedChildren().Any())
            {
                foreach (var (name, child) in s.NamedChildren()) Walk(prefix.Length == 0 ? name : prefix + "." + name, child);
            }
            else leaves.Add((prefix, m));
        }
        Walk("", model);
        return leaves;
    }

    /// <summary>
    /// The usual Grad-CAM layer: the rectified feature maps of the model's last Conv2d (the ReLU right after it,
    /// or the Conv2d itself when no ReLU follows) — the most semantic layer that is still spatial. The maps
    /// after ReLU are ≥ 0, so Σ α_k A_k weighs where features are present; before it, negative pre-activations
    /// can cancel the whole map (seen: blank heatmaps of a well-trained AlexNet at features.10).
    /// </summary>
    public static string DefaultLayer(Module model)
    {
        var leaves = Leaves(model);
        int last = leaves.FindLastIndex(l => l.Module is Conv2d);
        if (last < 0) throw new ArgumentException("gradcam: the model has no Conv2d layer");
        return last + 1 < leaves.Count && leaves[last + 1].Module is ReLU ? leaves[last + 1].Path : leaves[last].Path;
    }

    /// <summary>
    /// Heatmaps for a batch x [N, C, H, W]. targetClasses[n] is the class to explain (null: the predicted one).
    /// The model must be a Sequential tree (AlexNet, SeedCnn); its gradients are zeroed afterwards.
    /// </summary>
    public static GradCamResult[] Compute(Module model, Tensor x, string? layer = null, int[]? targetClasses = null)
    {
        layer ??= DefaultLayer(model);
        var leaves = Leaves(model);
        if (!leaves.Any(l => l.Path == layer))
            throw new ArgumentException($"gradcam: no layer '{layer}'; layers: {string.Join(", ", leaves.Select(l => l.Path))}");
        if (x.Dim != 4) throw new ArgumentException($"gradcam: expected images [N, C, H, W], got {x.ShapeString}");
        int n = x.Shape[0], h = x.Shape[2], w = x.Shape[3];
        bool wasTraining = model.Training;
        model.Eval();
        using var scope = new TensorScope();
        Tensor a = x, activation = x;
        foreach (var (path, m) in leaves)
        {
            a = m.Forward(a);
            if (path == layer) activation = a;
        }
        var logits = a;
        int classes = logits.Shape[1];
        var predicted = F.Argmax(logits).ToIntArray();
        var targets = targetClasses ?? predicted;
        var seed = new float[n * classes];
        for (int i = 0; i < n; i++) seed[i * classes + targets[i]] = 1f;
        activation.RetainGrad();   // a non-leaf keeps its gradient only when asked (as PyTorch)
        logits.Backward(Tensor.FromArray(seed, [n, classes], x.Device));

        var A = activation.ToArray();
        var G = activation.Grad?.ToArray() ?? throw new InvalidOperationException("gradcam: no gradient reached the chosen layer");
        int k = activation.Shape[1], ah = activation.Shape[2], aw = activation.Shape[3], plane = ah * aw;
        var results = new GradCamResult[n];
        for (int i = 0; i < n; i++)
        {
            var cam = new float[plane];
            for (int c = 0; c < k; c++)
            {
                int off = (i * k + c) * plane;
                double alpha = 0;
                for (int p = 0; p < plane; p++) alpha += G[off + p];
                alpha /= plane;
                for (int p = 0; p < plane; p++) cam[p] += (float)(alpha * A[off + p]);
            }
            float max = 0;
            for (int p = 0; p < plane; p++) { cam[p] = Math.Max(0f, cam[p]); max = Math.Max(max, cam[p]); }
            if (max > 0) for (int p = 0; p < plane; p++) cam[p] /= max;
            results[i] = new GradCamResult(targets[i], Upsample(cam, ah, aw, h, w), h, w);
        }
        model.ZeroGrad();
        model.Train(wasTraining);
        return results;
    }

    /// <summary>Bilinear upsampling with align_corners = False (pixel centres), as F.interpolate.</summary>
    public static float[] Upsample(float[] src, int sh, int sw, int dh, int dw)
    {
        var dst = new float[dh * dw];
        for (int y = 0; y < dh; y++)
        {
            double fy = Math.Clamp((y + 0.5) * sh / dh - 0.5, 0, sh - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, sh - 1); double wy = fy - y0;
            for (int x = 0; x < dw; x++)
            {
                double fx = Math.Clamp((x + 0.5) * sw / dw - 0.5, 0, sw - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, sw - 1); double wx = fx - x0;
                dst[y * dw + x] = (float)((1 - wy) * ((1 - wx) * src[y0 * sw + x0] + wx * src[y0 * sw + x1])
                                          + wy * ((1 - wx) * src[y1 * sw + x0] + wx * src[y1 * sw + x1]));
            }
        }
        return dst;
    }
}
