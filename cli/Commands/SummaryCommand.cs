using System.CommandLine;
using ScratchNet.Models;

namespace ScratchNet.Cli.Commands;

/// <summary>`scratchnet summary &lt;model&gt;`: each layer's output shape, weights and biases, from a forward of a dummy batch.</summary>
public sealed class SummaryCommand : ICliCommand
{
    public int Order => 40;

    public Command Build()
    {
        var model = CommonOptions.Model();
        var classes = CommonOptions.Classes();
        var device = CommonOptions.Device();
        var cmd = new Command("summary", "Print a model's layers with output shapes (H×W×C) and weight and bias counts, from a forward pass of a dummy batch")
        {
            model, classes, device,
        };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var d = Device.Get(parse.GetValue(device)!);
            var s = Summary.Of(parse.GetValue(model)!, d, parse.GetValue(classes));
            output.WriteLine(s.ToString());
            return 0;
        });
        return cmd;
    }
}
