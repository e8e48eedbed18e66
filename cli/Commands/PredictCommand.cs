using System.CommandLine;
using System.Globalization;
using ScratchNet.data;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet predict CHECKPOINT IMAGE...`: the three most probable classes of each image. An image is decoded
/// (PNG, JPEG, BMP), brought to the training images' shape (grey 28×28 for MNIST-like data, else the model's
/// input) and passed through the same test transform as in training (pad, channels, normalise).
/// </summary>
public sealed class PredictCommand : ICliCommand
{
    public int Order => 7;

    public Command Build()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A model.safetensors written by `scratchnet train`, or its run folder" };
        var images = new Argument<string[]>("images") { Description = "Image files (PNG, JPEG or BMP)", Arity = ArgumentArity.OneOrMore };
        var device = CommonOptions.Device("auto");
        var maxPixels = CommonOptions.MaxImagePixels();
        var kernels = new KernelFlags();
        var cmd = new Command("predict", "Print the top-3 classes with their probabilities for each image") { checkpoint, images, device, maxPixels };
        kernels.AddTo(cmd);
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var dev = Device.Get(parse.GetValue(device)!, kernels.Read(parse));
            var m = Checkpoint.LoadModel(parse.GetValue(checkpoint)!, dev);
            bool mnistLike = m.Data is "fashion-mnist" or "mnist";
            int c = mnistLike ? 1 : m.InputShape[0], h = mnistLike ? 28 : m.InputShape[1], w = mnistLike ? 28 : m.InputShape[2];
            var shapeOnly = new ImageDataset(new float[c * h * w], [0], c, h, w, m.Classes, m.Data);
            var (_, test) = TrainingData.TransformsFor(shapeOnly, m.InputShape, augment: false, m.Name);
            var inv = CultureInfo.InvariantCulture;
            var limits = parse.GetValue(maxPixels) is long mp ? ImageReadOptions.Default with { MaxPixels = mp } : ImageReadOptions.Default;
            foreach (var path in parse.GetValue(images)!)
            {
                if (!File.Exists(path)) throw new FileNotFoundException($"predict: image {path} not found");
                var img = test.Apply(ImageFolder.LoadImage(path, c, h, w, limits), new Generator(0));
                float[] p;
                using (Tensor.NoGrad())
                using (var scope = new TensorScope())
                    p = F.Softmax(m.Model.Forward(Tensor.FromArray(img.Data, [1, .. m.InputShape], dev))).ToArray();
                if (p.Any(v => !float.IsFinite(v)))
                    throw new InvalidDataException($"predict: the model gives non-finite probabilities for {path}; its weights or the image are broken");
                var top = p.Select((v, k) => (v, k)).OrderByDescending(t => t.v).Take(3);
                output.WriteLine($"{path}: " + string.Join(", ", top.Select(t => $"{m.Classes[t.k]} {t.v.ToString("P1", inv)}")));
            }
            return 0;
        });
        return cmd;
    }
}
