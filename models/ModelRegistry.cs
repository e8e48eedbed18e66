using ScratchNet.nn;

namespace ScratchNet.Models;

/// <summary>A model the CLI and the tools can build by name.</summary>
/// <param name="Name">The name the CLI takes, lower case (matched case-insensitively).</param>
/// <param name="Description">One line for listings: what the model is for and its parameter count at the default classes.</param>
/// <param name="InputShape">One sample's shape, without the batch dimension: [C, H, W] for images, [features] for the MLP.</param>
/// <param name="DefaultClasses">Number of outputs when none is given.</param>
/// <param name="Factory">Builds the model from (classes, generator, device); a null generator or device takes the defaults.</param>
public sealed record ModelInfo(string Name, string Description, int[] InputShape, int DefaultClasses,
                               Func<int, Generator?, Device?, Module> Factory)
{
    /// <summary>Builds the model with <paramref name="classes"/> outputs (the default when null).</summary>
    public Module Create(int? classes = null, Generator? generator = null, Device? device = null) =>
        Factory(classes ?? DefaultClasses, generator, device);
}

/// <summary>The models of the lecture by name: seedcnn, alexnet, alexnet224, mlp.</summary>
public static class ModelRegistry
{
    private static readonly ModelInfo[] Models =
    [
        new("seedcnn", "the lecture's small CNN for 28×28 grey images (5,994 parameters)", [1, 28, 28], 10,
            (c, g, d) => new SeedCnn(c, g, d)),
        new("alexnet", "AlexNet for 32×32 colour images (CIFAR-10; 36,051,786 parameters)", [3, 32, 32], 10,
            (c, g, d) => new AlexNet(c, g, d)),
        new("alexnet224", "torchvision's AlexNet for 224×224 images (ImageNet; 61,100,840 parameters)", [3, 224, 224], 1000,
            (c, g, d) => new AlexNet224(c, g, d)),
        new("mlp", "a 2-4-1 tanh multilayer perceptron (learns XOR)", [2], 1,
            (c, g, d) => new Mlp(2, 4, c, "tanh", g, d)),
    ];

    /// <summary>Every registered model, in registration order: seedcnn, alexnet, alexnet224, mlp.</summary>
    public static IReadOnlyList<ModelInfo> All => Models;
    /// <summary>The registered names in the same order, as the CLI's model arguments accept them.</summary>
    public static IEnumerable<string> Names => Models.Select(m => m.Name);

    /// <summary>The model registered under <paramref name="name"/> (case-insensitive); ArgumentException listing the names otherwise.</summary>
    public static ModelInfo Get(string name) =>
        Models.FirstOrDefault(m => string.Equals(m.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown model '{name}'. Known models: {string.Join(", ", Names)}.");

    /// <summary>A new model registered under <paramref name="name"/> (case-insensitive) with <paramref name="classes"/> outputs
    /// (its default when null), weights from <paramref name="generator"/>, on <paramref name="device"/>; ArgumentException
    /// listing the names for an unknown one.</summary>
    public static Module Create(string name, int? classes = null, Generator? generator = null, Device? device = null) =>
        Get(name).Create(classes, generator, device);
}
