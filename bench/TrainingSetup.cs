using ScratchNet.Models;
using ScratchNet.optim;

namespace ScratchNet.Bench;

/// <summary>What the bench and `scratchnet profile` time a training step on.</summary>
public static class TrainingSetup
{
    /// <summary>
    /// A model with seeded weights, the lecture's SGD (lr 0.01, momentum 0.9, weight decay 5e-4) and one seeded
    /// random batch with random labels.
    /// </summary>
    public static (ScratchNet.nn.Module Model, SGD Optimizer, Tensor X, Tensor Labels) Create(string modelName, int batch, Device dev)
    {
        var info = ModelRegistry.Get(modelName);
        var gen = new Generator(0);
        var model = info.Create(generator: gen, device: dev);
        var opt = new SGD(model.Parameters(), 0.01f, momentum: 0.9f, weightDecay: 5e-4f);
        var x = Tensor.Randn([batch, .. info.InputShape], gen, dev);
        var rng = new Random(0);
        var labels = Tensor.Labels(Enumerable.Range(0, batch).Select(_ => rng.Next(info.DefaultClasses)).ToArray(), dev);
        return (model, opt, x, labels);
    }
}
