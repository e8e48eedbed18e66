using System.CommandLine;
using ScratchNet.Models.Training;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet import FILE.onnx [--out DIR] [--classes A,B,...] [--data KIND [PATH]]`: an ONNX model (ours, or torch.onnx's) as a
/// run folder that eval, predict and train --resume use. See models/training/OnnxRun.cs.
/// </summary>
public sealed class ImportCommand : ICliCommand
{
    /// <inheritdoc/>
    public int Order => 9;

    /// <inheritdoc/>
    public Command Build()
    {
        var file = new Argument<string>("file") { Description = "The ONNX file" };
        var outDir = new Option<string?>("--out") { Description = "The run folder to write (default: runs/imported-NAME)" }.NonEmptyPath();
        var classes = new Option<string?>("--classes") { Description = "Class names, comma-separated (default: the file's metadata, else 0, 1, ...)" };
        var data = CommonOptions.Data("The data the model is for: fashion-mnist [PATH], mnist PATH, cifar10 PATH or folder PATH (default: the file's metadata, else fashion-mnist)");
        var cmd = new Command("import", "Read an ONNX model into a run folder that eval, predict and train --resume use") { file, outDir, classes, data };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            string path = parse.GetValue(file)!;
            string dir = parse.GetValue(outDir) ?? Path.Combine("runs", "imported-" + Path.GetFileNameWithoutExtension(path));
            var names = parse.GetValue(classes)?.Split(',', StringSplitOptions.TrimEntries);
            var d = parse.GetValue(data) ?? [];
            var r = OnnxRun.Import(path, dir, names, d.Length > 0 ? d[0] : null, d.Length > 1 ? Path.GetFullPath(d[1]) : null);
            output.WriteLine($"imported {path} as {r.Model} ({r.Classes.Count} classes, {r.Data}) into {r.OutDir}: " +
                             $"scratchnet eval {r.OutDir}, predict {r.OutDir} IMAGE, train --resume --out {r.OutDir} --epochs N");
            return 0;
        });
        return cmd;
    }
}
