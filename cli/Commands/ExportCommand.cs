using System.CommandLine;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet export CHECKPOINT --onnx FILE`: the run's model as an ONNX file (opset 17, dynamic batch, the state-dict names
/// as initializer names, the run's classes and input normalisation in its metadata). See engine/onnx/OnnxExport.cs.
/// </summary>
public sealed class ExportCommand : ICliCommand
{
    /// <inheritdoc/>
    public int Order => 9;

    /// <inheritdoc/>
    public Command Build()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A model.safetensors written by `scratchnet train` or `import`, or its run folder" };
        var onnx = new Option<string?>("--onnx") { Description = "The ONNX file to write", Required = true }.NonEmptyPath();
        var cmd = new Command("export", "Write a checkpoint's model as an ONNX file (runs in ONNX Runtime; torch.onnx's opset 17)") { checkpoint, onnx };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            string path = parse.GetValue(onnx)!;
            var m = OnnxRun.Export(parse.GetValue(checkpoint)!, path);
            output.WriteLine($"wrote {path}: {m.Name}, input [N, {string.Join(", ", m.InputShape)}] normalised with mean {OnnxRun.Mean} and std {OnnxRun.Std} " +
                             $"(in its metadata, not in the graph), {m.Classes.Count} classes, opset {ScratchNet.onnx.Onnx.Opset}");
            return 0;
        });
        return cmd;
    }
}
