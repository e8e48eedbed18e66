using System.CommandLine;
using System.Globalization;
using ScratchNet.data;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet eval CHECKPOINT [--data KIND [PATH]]`: test loss and accuracy of a trained model, overall and per class.
/// The checkpoint remembers the data it was trained on (kind and folder), so --data is needed only when that data moved.
/// </summary>
public sealed class EvalCommand : ICliCommand
{
    public int Order => 6;

    public Command Build()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A model.safetensors written by `scratchnet train`, or its run folder" };
        var data = CommonOptions.Data("Test data: fashion-mnist [PATH], mnist PATH, cifar10 PATH or folder PATH (default: the data the run was trained on, from the checkpoint)");
        var device = CommonOptions.Device("auto");
        var batch = new Option<int>("--batch-size") { Description = "Evaluation batch size", DefaultValueFactory = _ => 256 }.TrainRule();
        var maxPixels = CommonOptions.MaxImagePixels();
        var kernels = new KernelFlags();
        var cmd = new Command("eval", "Evaluate a checkpoint on its test set (loss, accuracy, accuracy per class)") { checkpoint, data, device, batch, maxPixels };
        kernels.AddTo(cmd);
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var dev = Device.Get(parse.GetValue(device)!, kernels.Read(parse));
            var m = Checkpoint.LoadModel(parse.GetValue(checkpoint)!, dev);
            var dataArgs = parse.GetValue(data) ?? [];
            var o = new TrainOptions { Model = m.Name, Data = m.Data, DataPath = m.DataPath, Device = dev.Name, DeviceOptions = dev.Options, MaxImagePixels = parse.GetValue(maxPixels), InputShape = m.InputShape };
            if (dataArgs.Length > 0) o = o with { Data = dataArgs[0], DataPath = dataArgs.Length > 1 ? dataArgs[1] : null };
            else if (m.DataPath is { } saved && !Directory.Exists(saved))
                throw new ArgumentException($"eval: the model was trained on {m.Data} from {saved}, which no longer exists; pass --data {m.Data} PATH");
            else if (m.DataPath is null && m.Data != "fashion-mnist")
                throw new ArgumentException($"eval: the checkpoint does not say where its {m.Data} data is (written by an older version); pass --data {m.Data} PATH");
            o.Validate("eval");
            var td = TrainingData.Load(o);
            if (td.Classes.Count != m.Classes.Count)
                throw new ArgumentException($"eval: the model has {m.Classes.Count} classes, the {o.Data} test set {td.Test.Name} has {td.Classes.Count}");
            var loader = new DataLoader(td.Test, parse.GetValue(batch), transform: td.TestTransform);
            var (loss, acc) = Trainer.Evaluate(m.Model, loader, dev);
            var inv = CultureInfo.InvariantCulture;
            output.WriteLine($"{m.Name} on {m.Data} test set ({td.Test.Count} images, {td.Test.Name}), device {dev.Name}");
            output.WriteLine($"loss {loss.ToString("F4", inv)}  accuracy {acc.ToString("P2", inv)}");
            // Per-class accuracy from the predicted classes.
            var correct = new int[td.Classes.Count];
            var total = new int[td.Classes.Count];
            using (Tensor.NoGrad())
                foreach (var b in loader.Epoch(0))
                {
                    using var scope = new TensorScope();
                    var pred = F.Argmax(m.Model.Forward(b.ImagesTensor(dev))).ToIntArray();
                    for (int i = 0; i < b.Size; i++) { total[b.Labels[i]]++; if (pred[i] == b.Labels[i]) correct[b.Labels[i]]++; }
                }
            for (int k = 0; k < td.Classes.Count; k++)
                output.WriteLine($"  {td.Classes[k],-14} {(total[k] > 0 ? (double)correct[k] / total[k] : 0).ToString("P1", inv),7}  ({correct[k]}/{total[k]})");
            return 0;
        });
        return cmd;
    }
}
