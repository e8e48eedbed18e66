// Inference on image files with a trained checkpoint: the three most probable classes of each image.
// Run: dotnet run -c Release --project examples/Inference -- runs/seedcnn-fashion-mnist/model.safetensors shoe.png
using ScratchNet;
using ScratchNet.data;
using ScratchNet.Models.Training;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Inference CHECKPOINT IMAGE...   (CHECKPOINT: a model.safetensors written by `scratchnet train`, or its run folder)");
    return 2;
}
var device = Device.Get("cpu");

// The checkpoint knows its model, its classes and its input shape; LoadModel validates all of it.
var loaded = Checkpoint.LoadModel(args[0], device);
var (c, h, w) = (loaded.InputShape[0], loaded.InputShape[1], loaded.InputShape[2]);
// The test transform of training: grey 28×28 for Fashion-MNIST-like data (padded and repeated for AlexNet), then
// normalised with mean 0.5, std 0.5.
bool mnistLike = loaded.Data is "fashion-mnist" or "mnist";
int fileChannels = mnistLike ? 1 : c, fileHeight = mnistLike ? 28 : h, fileWidth = mnistLike ? 28 : w;
var shape = new ImageDataset(new float[fileChannels * fileHeight * fileWidth], [0], fileChannels, fileHeight, fileWidth, loaded.Classes);
var (_, transform) = TrainingData.TransformsFor(shape, loaded.InputShape, augment: false, loaded.Name);

foreach (var path in args[1..])
{
    // ImageFile.Read decodes PNG, JPEG or BMP, refuses truncated files and oversized images, and resizes.
    var image = transform.Apply(ImageFile.Read(path, fileChannels, fileHeight, fileWidth), new Generator(0));
    float[] p;
    using (Tensor.NoGrad())
    using (new TensorScope())
        p = F.Softmax(loaded.Model.Forward(Tensor.FromArray(image.Data, [1, c, h, w], device))).ToArray();
    var top = p.Select((v, k) => (v, k)).OrderByDescending(t => t.v).Take(3);
    Console.WriteLine($"{path}: " + string.Join(", ", top.Select(t => $"{loaded.Classes[t.k]} {t.v:P1}")));
}
return 0;
