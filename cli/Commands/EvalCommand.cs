using System.CommandLine;
using System.Globalization;
using ScratchNet.data;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Commands;

/// <summary>`scratchnet eval CHECKPOINT`: test loss and accuracy of a trained model, overall and per class.</summary>
public sealed class EvalCommand : ICliCommand
{
    public int Order => 6;

    public Command Build()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A model.safetensors written by `scratchnet train`, or its run folder" };
        var data = new Option<string?>("--data-path") { Description = "Folder of the data, for models trained on mnist, cifar10 or an image folder" };
        var device = CommonOptions.Device("auto");
        var batch = new Option<int>("--batch-size") { Description = "Evaluation batch size", DefaultValueFactory = _ => 256 };
        var cmd = new Command("eval", "Evaluate a checkpoint on its test set (loss, accuracy, accuracy per class)") { checkpoint, data, device, batch };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var dev = Device.Get(parse.GetValue(device)!);
            var m = Checkpoint.LoadModel(parse.GetValue(checkpoint)!, dev);
            var o = new TrainOptions { Model = m.Name, Data = m.Data, DataPath = parse.GetValue(data), Device = dev.Name };
            o.Validate();
            var td = TrainingData.Load(o);
            var loader = new DataLoader(td.Test, Check.Positive("eval", "--batch-size", parse.GetValue(batch)), transform: td.TestTransform);
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
