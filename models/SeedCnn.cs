using ScratchNet.nn;

namespace ScratchNet.Models;

/// <summary>
/// The lecture's small CNN for 28×28 grey images (MNIST, Fashion-MNIST), as a PyTorch nn.Sequential:
/// <code>
///  index  layer                       output      weights  biases   parameter names
///  0      Conv2d(1, 8, 5)             24×24×8     200      8        0.weight [8, 1, 5, 5], 0.bias [8]
///  1      ReLU                        24×24×8
///  2      MaxPool2d(2)                12×12×8
///  3      Conv2d(8, 16, 5)            8×8×16      3,200    16       3.weight [16, 8, 5, 5], 3.bias [16]
///  4      ReLU                        8×8×16
///  5      MaxPool2d(2)                4×4×16
///  6      Flatten                     256
///  7      Linear(256, classes)        classes     2,560    10       7.weight [10, 256], 7.bias [10]
///                                               total 5,994 parameters with 10 classes
/// </code>
/// Input [N, 1, 28, 28] → logits [N, classes]. Kernels: kernels/conv/, kernels/activation/, kernels/pool/, kernels/gemm/.
/// </summary>
public sealed class SeedCnn : Sequential
{
    /// <summary>The seed CNN with <paramref name="classes"/> outputs (positive), weights from <paramref name="generator"/>, on
    /// <paramref name="device"/>.</summary>
    public SeedCnn(int classes = 10, Generator? generator = null, Device? device = null)
        : base(Layers(classes, generator, device))
    {
        Classes = classes;
    }

    private static Module[] Layers(int classes, Generator? generator, Device? device)
    {
        Check.Positive("SeedCnn", "classes", classes);
        return [new Conv2d(1, 8, 5, generator: generator, device: device),
                new ReLU(),
                new MaxPool2d(2),
                new Conv2d(8, 16, 5, generator: generator, device: device),
                new ReLU(),
                new MaxPool2d(2),
                new Flatten(),
                new Linear(256, classes, generator: generator, device: device)];
    }

    /// <summary>Width of the last Linear layer: the number of logits per image.</summary>
    public int Classes { get; }

    /// <summary>Logits [N, Classes] for images [N, 1, 28, 28]; any other input shape is an ArgumentException naming it.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim != 4 || x.Shape[1] != 1 || x.Shape[2] != 28 || x.Shape[3] != 28)
            throw new ArgumentException($"SeedCnn: expected input [N, 1, 28, 28], got {x.ShapeString}");
        return base.Forward(x);
    }
}
