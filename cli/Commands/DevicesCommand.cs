using System.CommandLine;
using ScratchNet.Kernels;

namespace ScratchNet.Cli.Commands;

/// <summary>`scratchnet devices`: every backend, whether it can be used here, and the details or the reason why not.</summary>
public sealed class DevicesCommand : ICliCommand
{
    public int Order => 10;

    public Command Build()
    {
        var cmd = new Command("devices", "List the devices (backends): name, whether it is available here, and details or why not");
        CliApp.SetAction(cmd, (_, output, _) =>
        {
            var list = Backends.List();
            int w = Math.Max(6, list.Max(b => b.Name.Length));
            output.WriteLine($"{"device".PadRight(w)}  available  detail");
            foreach (var b in list)
                output.WriteLine($"{b.Name.PadRight(w)}  {(b.Available ? "yes" : "no"),-9}  {b.Detail}");
            return 0;
        });
        return cmd;
    }
}
