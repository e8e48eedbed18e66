using ScratchNet.nn;

namespace ScratchNet.Models;

/// <summary>
/// AlexNet (Krizhevsky, Sutskever, Hinton 2012) adapted to 32×32 colour images (CIFAR-10), the lecture's version:
/// five convolutions with ReLU and three max-pools (features), then three fully connected layers with dropout
/// (classifier). With 3×3 and 5×5 padded convolutions the image is only shrunk by the pools: 32 → 16 → 8 → 4.
/// <code>
///  features.0   Conv2d(3, 64, k3, p1)     32×32×64     features.0.weight  [64, 3, 3, 3]
///  features.1   ReLU
///  features.2   MaxPool2d(2, 2)           16×16×64
///  features.3   Conv2d(64, 192, k5, p2)   16×16×192    features.3.weight  [192, 64, 5, 5]
///  features.4   ReLU
///  features.5   MaxPool2d(2, 2)           8×8×192
///  features.6   Conv2d(192, 384, k3, p1)  8×8×384      features.6.weight  [384, 192, 3, 3]
///  features.7   ReLU
///  features.8   Conv2d(384, 256, k3, p1)  8×8×256      features.8.weight  [256, 384, 3, 3]
///  features.9   ReLU
///  features.10  Conv2d(256, 256, k3, p1)  8×8×256      features.10.weight [256, 256, 3, 3]
///  features.11  ReLU
///  features.12  MaxPool2d(2, 2)           4×4×256
///  flatten      view to [N, 4096]
///  classifier.0 Dropout(0.5)
///  classifier.1 Linear(4096, 4096)                     classifier.1.weight [4096, 4096]
///  classifier.2 ReLU
///  classifier.3 Dropout(0.5)
///  classifier.4 Linear(4096, 4096)                     classifier.4.weight [4096, 4096]
///  classifier.5 ReLU
///  classifier.6 Linear(4096, classes)                  classifier.6.weight [classes, 4096]
/// </code>
/// Every conv and linear layer also has a bias (features.0.bias, ...). 36,051,786 parameters for 10 classes.
/// </summary>
public sealed class AlexNet : AlexNetBase
{
    /// <param name="classes">Outputs of the last layer.</param>
    /// <param name="generator">Draws the initial weights and the dropout seeds.</param>
    /// <param name="device">Where the parameters live.</param>
    /// <param name="dropout">The classifier's dropout probability.</param>
    /// <param name="width">Multiplies every channel count and the hidden size (1 = the exact model). A narrow
    /// network (0.125: 8, 24, 48, 32, 32 channels and 512 hidden units) keeps the structure at about 1/64 of the
    /// arithmetic: handy for quick experiments on a CPU, and what the cross-device test runs on the ILGPU simulator.</param>
    public AlexNet(int classes = 10, Generator? generator = null, Device? device = null, float dropout = 0.5f, float width = 1f)
        : base("AlexNet", new Stem(Kernel: 3, Stride: 1, Padding: 1, Pool: 2, FeatureSide: 4, AveragePool: false), classes, generator, device, dropout, width) { }

    /// <summary>Checks the input is [N, 3, 32, 32], then runs the layers.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim != 4 || x.Shape[1] != 3 || x.Shape[2] != 32 || x.Shape[3] != 32)
            throw new ArgumentException($"AlexNet: expected input [N, 3, 32, 32] (CIFAR-size images; AlexNet224 takes 224×224), got {x.ShapeString}");
        return base.Forward(x);
    }
}

/// <summary>
/// torchvision.models.AlexNet for 224×224 ImageNet images, with the same parameter names:
/// <code>
///  features.0   Conv2d(3, 64, k11, s4, p2)  55×55×64
///  features.1   ReLU
///  features.2   MaxPool2d(3, 2)             27×27×64
///  features.3   Conv2d(64, 192, k5, p2)     27×27×192
///  features.4   ReLU
///  features.5   MaxPool2d(3, 2)             13×13×192
///  features.6   Conv2d(192, 384, k3, p1)    13×13×384
///  features.7   ReLU
///  features.8   Conv2d(384, 256, k3, p1)    13×13×256
///  features.9   ReLU
///  features.10  Conv2d(256, 256, k3, p1)    13×13×256
///  features.11  ReLU
///  features.12  MaxPool2d(3, 2)             6×6×256
///  avgpool      AdaptiveAvgPool2d((6, 6))   6×6×256   (the identity at 224×224; other sizes are averaged or repeated to 6×6)
///  flatten      view to [N, 9216]
///  classifier.0 Dropout(0.5)   classifier.1 Linear(9216, 4096)   classifier.2 ReLU
///  classifier.3 Dropout(0.5)   classifier.4 Linear(4096, 4096)   classifier.5 ReLU
///  classifier.6 Linear(4096, classes)
/// </code>
/// 61,100,840 parameters with 1000 classes. Overlapping 3×3 pools with stride 2, as in the 2012 paper.
/// </summary>
public sealed class AlexNet224 : AlexNetBase
{
    /// <param name="classes">Outputs of the last layer.</param>
    /// <param name="generator">Draws the initial weights and the dropout seeds.</param>
    /// <param name="device">Where the parameters live.</param>
    /// <param name="dropout">The classifier's dropout probability.</param>
    /// <param name="width">Multiplies every channel count and the hidden size (1 = the exact model), as for <see cref="AlexNet"/>.</param>
    public AlexNet224(int classes = 1000, Generator? generator = null, Device? device = null, float dropout = 0.5f, float width = 1f)
        : base("AlexNet224", new Stem(Kernel: 11, Stride: 4, Padding: 2, Pool: 3, FeatureSide: 6, AveragePool: true), classes, generator, device, dropout, width) { }

    /// <summary>Checks the input is [N, 3, H, W], then runs the layers.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim != 4 || x.Shape[1] != 3)
            throw new ArgumentException($"AlexNet224: expected input [N, 3, 224, 224], got {x.ShapeString}");
        return base.Forward(x);
    }
}

/// <summary>
/// What both AlexNets share: five convolutions with ReLU and three max-pools (features), flatten, then three fully
/// connected layers with dropout (classifier), under torchvision's parameter names. The two differ only in the stem
/// and the pools (<see cref="Stem"/>): CIFAR's 3×3 first conv and 2×2 pools keep 32×32 until the pools halve it to 4×4;
/// ImageNet's 11×11 stride-4 conv and overlapping 3×3 stride-2 pools take 224×224 to 6×6, and torchvision adds an
/// AdaptiveAvgPool2d((6, 6)) there. Layers are created in the order of their names, so a generator gives the same
/// weights as before the two shared this code.
/// </summary>
public abstract class AlexNetBase : Sequential
{
    /// <summary>How an AlexNet variant starts: the first conv's kernel, stride and padding, the max-pools' size (stride 2),
    /// the side of the last feature map, and whether an AdaptiveAvgPool2d to that side follows the features.</summary>
    /// <param name="Kernel">The first conv's kernel size (3 for CIFAR, 11 for ImageNet).</param>
    /// <param name="Stride">The first conv's stride.</param>
    /// <param name="Padding">The first conv's zero padding on each side.</param>
    /// <param name="Pool">The max-pools' kernel size; their stride is 2.</param>
    /// <param name="FeatureSide">Height and width of the last feature map, which the classifier's first Linear flattens.</param>
    /// <param name="AveragePool">Whether an AdaptiveAvgPool2d((FeatureSide, FeatureSide)) follows the features (torchvision's).</param>
    public sealed record Stem(int Kernel, int Stride, int Padding, int Pool, int FeatureSide, bool AveragePool);

    /// <summary>Builds the layers of the variant <paramref name="stem"/> (checks: positive classes, dropout in [0, 1), positive width).</summary>
    protected AlexNetBase(string name, Stem stem, int classes, Generator? generator, Device? device, float dropout, float width)
        : base(Layers(name, stem, classes, generator, device, dropout, width))
    {
        Classes = classes;
        Width = width;
    }

    private static (string, Module)[] Layers(string name, Stem s, int classes, Generator? generator, Device? device, float dropout, float width)
    {
        Check.Positive(name, "classes", classes);
        if (!(dropout >= 0f && dropout < 1f)) throw new ArgumentException($"{name}: dropout p must be in [0, 1), got {dropout}");
        if (!(width > 0f) || !float.IsFinite(width)) throw new ArgumentException($"{name}: width must be positive, got {width}");
        int C(int channels) => Math.Max(1, (int)Math.Round(channels * width));   // channels scaled by width
        var features = new Sequential(
            new Conv2d(3, C(64), s.Kernel, stride: s.Stride, padding: s.Padding, generator: generator, device: device),
            new ReLU(),
            new MaxPool2d(s.Pool, 2),
            new Conv2d(C(64), C(192), 5, padding: 2, generator: generator, device: device),
            new ReLU(),
            new MaxPool2d(s.Pool, 2),
            new Conv2d(C(192), C(384), 3, padding: 1, generator: generator, device: device),
            new ReLU(),
            new Conv2d(C(384), C(256), 3, padding: 1, generator: generator, device: device),
            new ReLU(),
            new Conv2d(C(256), C(256), 3, padding: 1, generator: generator, device: device),
            new ReLU(),
            new MaxPool2d(s.Pool, 2));
        var classifier = new Sequential(
            new Dropout(dropout, generator),
            new Linear(C(256) * s.FeatureSide * s.FeatureSide, C(4096), generator: generator, device: device),
            new ReLU(),
            new Dropout(dropout, generator),
            new Linear(C(4096), C(4096), generator: generator, device: device),
            new ReLU(),
            new Linear(C(4096), classes, generator: generator, device: device));
        return s.AveragePool
            ? [("features", features), ("avgpool", new AdaptiveAvgPool2d(s.FeatureSide, s.FeatureSide)), ("flatten", new Flatten()), ("classifier", classifier)]
            : [("features", features), ("flatten", new Flatten()), ("classifier", classifier)];
    }

    /// <summary>Outputs of the last layer.</summary>
    public int Classes { get; }
    /// <summary>The channel multiplier the model was built with.</summary>
    public float Width { get; }
    /// <summary>The convolutional part (features.0 … features.12).</summary>
    public Sequential Features => (Sequential)this[0];
    /// <summary>The fully connected part (classifier.0 … classifier.6).</summary>
    public Sequential Classifier => (Sequential)this[Count - 1];
}
