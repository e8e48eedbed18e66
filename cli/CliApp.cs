using System.CommandLine;
using System.Reflection;

namespace ScratchNet.Cli;

/// <summary>
/// One subcommand of `scratchnet`. To add a command, add one file under Commands/ with a class that implements
/// this interface: CliApp finds every implementation by reflection, so nothing else needs editing.
/// </summary>
public interface ICliCommand
{
    /// <summary>Position in `scratchnet --help` (smaller first).</summary>
    int Order { get; }

    /// <summary>Builds the System.CommandLine command, its arguments, options and action.</summary>
    Command Build();
}

/// <summary>Builds the root command from every <see cref="ICliCommand"/> and runs it.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ScratchNet: a deep learning engine written from scratch in C# (tensors, autograd, CPU and ILGPU kernels).");
        var commands = typeof(CliApp).Assembly.GetTypes()
            .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (ICliCommand)Activator.CreateInstance(t)!)
            .OrderBy(c => c.Order);
        foreach (var c in commands) root.Add(c.Build());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; output and error default to the console. Returns the exit code.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var config = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            EnableDefaultExceptionHandler = false,
        };
        return BuildRoot().Parse(args).Invoke(config);
    }

    /// <summary>
    /// Sets a command's action: <paramref name="body"/> gets the parse result, the output writer and the error writer
    /// and returns the exit code. Errors a user can fix (bad arguments, missing files, missing devices) print one line
    /// "error: ..." to the error writer and exit with 1; anything else also prints its stack trace.
    /// </summary>
    public static void SetAction(Command command, Func<ParseResult, TextWriter, TextWriter, int> body)
    {
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                return body(parse, output, error);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or NotImplementedException or ObjectDisposedException)
            {
                error.WriteLine($"error: {e.Message}");
                return 1;
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                error.WriteLine($"error: {inner.GetType().Name}: {inner.Message}");
                error.WriteLine(inner.StackTrace);
                return 2;
            }
        });
    }
}

/// <summary>Options several commands share.</summary>
public static class CommonOptions
{
    public static Option<string> Device(string defaultDevice = "cpu") => new("--device", "-d")
    {
        Description = "Device to run on: cpu, ilgpu-cpu, cuda, opencl, or auto (cuda, then opencl, then cpu)",
        DefaultValueFactory = _ => defaultDevice,
    };

    public static Option<ulong> Seed(ulong defaultSeed = 0) => new("--seed")
    {
        Description = "Seed of the random generator (initial weights, sampled coordinates)",
        DefaultValueFactory = _ => defaultSeed,
    };

    public static Argument<string> Model() 
    {
        var a = new Argument<string>("model") { Description = "Model name: " + string.Join(", ", Models.ModelRegistry.Names) };
        a.AcceptOnlyFromAmong(Models.ModelRegistry.Names.ToArray());
        return a;
    }

    public static Option<int?> Classes() => new("--classes")
    {
        Description = "Number of output classes (default: the model's own, 10 or 1000)",
    };
}
