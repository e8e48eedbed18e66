using System.CommandLine;
using System.Reflection;
using System.Globalization;

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
    /// <summary>`--verbose`, on every command: stack traces with errors. SCRATCHNET_VERBOSE=1 does the same.</summary>
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On an error, also print the stack trace (as SCRATCHNET_VERBOSE=1 does)",
        Recursive = true,
    };

    /// <summary>The root command with the recursive --verbose and <paramref name="commands"/>, by default every subcommand (an
    /// instance of each <see cref="ICliCommand"/> of this assembly, made with its parameterless constructor).</summary>
    public static RootCommand BuildRoot(IEnumerable<ICliCommand>? commands = null)
    {
        var root = new RootCommand("ScratchNet: a deep learning engine written from scratch in C# (tensors, autograd, CPU and ILGPU kernels).");
        root.Add(Verbose);
        commands ??= typeof(CliApp).Assembly.GetTypes()
            .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (ICliCommand)Activator.CreateInstance(t)!);
        foreach (var c in commands.OrderBy(c => c.Order)) root.Add(c.Build());
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>; output and error default to the console. Returns the exit code:
    /// 0 success, 1 a failure the user can fix (bad option, bad file, missing device...), 2 an internal error.
    /// A command line that does not parse (unknown option, bad value, missing argument) gets one line per problem
    /// naming the command and the option, and a pointer to --help; the help itself appears only when asked for.
    /// <paramref name="commands"/>: the subcommands, by default all of them (a test passes its own, e.g. a check over a registry
    /// holding a fake op).
    /// </summary>
    public static int Run(IReadOnlyList<string> args, TextWriter? output = null, TextWriter? error = null, IReadOnlyList<ICliCommand>? commands = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var parse = BuildRoot(commands).Parse(args);
        // An unknown "--name" is often taken for a positional value ("Argument '--bogus' not recognized. Must be one of:
        // 'alexnet' ...", or an image file name for predict): name it as what it is, an option the command does not have.
        var unknown = UnknownOptions(parse.CommandResult.Command, args).ToList();
        if (parse.Errors.Count > 0 || unknown.Count > 0)
        {
            string command = CommandPath(parse.CommandResult);
            var problems = unknown.Count > 0
                ? unknown.Select(u => $"unknown option '{u}'").ToList()
                : parse.Errors.Select(e => Rephrase(e.Message)).Distinct().ToList();
            if (parse.CommandResult.Command is RootCommand)
            {
                if (args.Count == 0) return BuildRoot(commands).Parse(["--help"]).Invoke(new InvocationConfiguration { Output = output, Error = error });
                if (unknown.Count == 0 && !args[0].StartsWith('-')) problems = [$"unknown command '{args[0]}'"];
            }
            for (int i = 0; i < problems.Count; i++)
                error.WriteLine($"error: {command}: {problems[i]}{(i == problems.Count - 1 ? $" (`{command} --help` lists the options)" : "")}");
            return 1;
        }
        var config = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
        };
        return parse.Invoke(config);
    }

    // The tokens that look like options ("-x", "--name", "--name=value") but are none of the command's, its parents' recursive
    // ones or help's. Negative numbers ("-1") are values.
    private static IEnumerable<string> UnknownOptions(Command command, IReadOnlyList<string> args)
    {
        var known = new HashSet<string>(StringComparer.Ordinal) { "--help", "-h", "-?", "/?", "/h" };
        foreach (var o in command.Options) { known.Add(o.Name); foreach (var a in o.Aliases) known.Add(a); }
        foreach (var parent in AllParents(command))
            foreach (var o in parent.Options.Where(o => o.Recursive)) { known.Add(o.Name); foreach (var a in o.Aliases) known.Add(a); }
        foreach (var arg in args)
        {
            if (arg == "--") yield break;
            if (arg.Length < 2 || arg[0] != '-' || char.IsDigit(arg[1]) || arg[1] == '.') continue;
            string name = arg.Split('=', ':')[0];
            if (!known.Contains(name)) yield return name;
        }
    }

    private static IEnumerable<Command> AllParents(Command command)
    {
        foreach (var p in command.Parents.OfType<Command>())
        {
            yield return p;
            foreach (var q in AllParents(p)) yield return q;
        }
    }

    // System.CommandLine's conversion error names the CLR type ("System.Nullable`1[System.Int32]"); say it in words.
    private static string Rephrase(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'\.?$");
        if (!m.Success) return OneLine(message);
        string type = m.Groups[3].Value;
        string what = type.Contains("UInt") ? "a non-negative integer" : type.Contains("Int32") || type.Contains("Int64") ? "an integer"
                    : type.Contains("Single") || type.Contains("Double") ? "a number" : type.Contains("Boolean") ? "true or false" : "a valid value";
        return OneLine($"{m.Groups[2].Value} must be {what}, got '{m.Groups[1].Value}'");
    }

    /// <summary>"scratchnet train": the command that was run, as the user typed it.</summary>
    public static string CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new List<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(r.Command is RootCommand ? "scratchnet" : r.Command.Name);
        names.Reverse();
        return names.Count > 0 ? string.Join(' ', names) : "scratchnet";
    }

    /// <summary>Whether stack traces were asked for: --verbose, or SCRATCHNET_VERBOSE set to anything but 0/false/empty.</summary>
    public static bool IsVerbose(ParseResult parse)
    {
        string? env = Environment.GetEnvironmentVariable("SCRATCHNET_VERBOSE");
        return parse.GetValue(Verbose) || (!string.IsNullOrEmpty(env) && env != "0" && !env.Equals("false", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Sets a command's action: <paramref name="body"/> gets the parse result, the output writer and the error writer
    /// and returns the exit code. Every exception becomes one line "error: ..." on the error writer (newlines and
    /// control characters folded into spaces): exit code 1 for failures the user can fix (<see cref="IsUserError"/>),
    /// 2 for internal errors, which also say how to get the stack trace. The stack trace is printed only with
    /// --verbose or SCRATCHNET_VERBOSE=1.
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
            catch (Exception e)
            {
                var inner = Unwrap(e);
                bool verbose = IsVerbose(parse);
                int code;
                if (IsUserError(inner))
                {
                    error.WriteLine($"error: {OneLine(UserMessage(inner))}");
                    code = 1;
                }
                else
                {
                    error.WriteLine($"error: internal error ({inner.GetType().Name}): {OneLine(inner.Message)}" +
                                    (verbose ? "" : " (run again with --verbose or SCRATCHNET_VERBOSE=1 for the stack trace)"));
                    code = 2;
                }
                if (verbose) error.WriteLine(inner.ToString());
                return code;
            }
        });
    }

    /// <summary>The exception that says what went wrong: TargetInvocationException and single-exception AggregateExceptions unwrapped.</summary>
    public static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is TargetInvocationException { InnerException: { } ti }) e = ti;
            else if (e is AggregateException { InnerExceptions.Count: 1 } ae) e = ae.InnerExceptions[0];
            else return e;
        }
    }

    /// <summary>
    /// Failures that come from what the user gave or from the machine, not from a bug: bad arguments, files that are
    /// missing, unreadable or malformed (data, checkpoints, JSON), a diverged training, no memory, a device error.
    /// </summary>
    public static bool IsUserError(Exception e) =>
        e is ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException
          or FormatException or NotImplementedException or OutOfMemoryException or OperationCanceledException
          or Models.Training.TrainingDivergedException or ScratchNet.distributed.DistributedException
        || (e.GetType().Namespace?.StartsWith("ILGPU", StringComparison.Ordinal) ?? false);

    private static string UserMessage(Exception e) => e switch
    {
        OutOfMemoryException => $"out of memory ({e.Message}); try a smaller --batch-size, or a smaller model or image",
        OperationCanceledException => "cancelled",
        _ when e.GetType().Namespace?.StartsWith("ILGPU", StringComparison.Ordinal) ?? false => $"device error ({e.GetType().Name}): {e.Message}",
        _ => e.Message,
    };

    /// <summary>The message on one printable line: line breaks, tabs and other control characters become single spaces.</summary>
    public static string OneLine(string message)
    {
        var sb = new System.Text.StringBuilder(message.Length);
        bool space = false;
        foreach (char c in message)
        {
            if (char.IsControl(c) || c == '\u2028' || c == '\u2029')
            {
                if (!space && sb.Length > 0) sb.Append(' ');
                space = true;
                continue;
            }
            sb.Append(c);
            space = c == ' ';
        }
        return sb.ToString().Trim();
    }
}

/// <summary>Options several commands share, and the parse-time checks of option values.</summary>
public static class CommonOptions
{
    /// <summary>
    /// Adds a parse-time check to <paramref name="option"/>: <paramref name="problem"/> returns null for an allowed value, else the
    /// allowed range as a phrase, and the parse fails with "OPTION must be PHRASE, got VALUE" before any work starts.
    /// </summary>
    public static Option<T> Check<T>(this Option<T> option, Func<T, string?> problem)
    {
        option.Validators.Add(result =>
        {
            T value;
            try { value = result.GetValueOrDefault<T>(); }
            catch (InvalidOperationException) { return; }   // not a T at all: the parser reports that itself
            if (value is not null && problem(value) is { } allowed)
                result.AddError($"{option.Name} must be {allowed}, got {(value is string text ? $"\"{text}\"" : Convert.ToString(value, CultureInfo.InvariantCulture))}");
        });
        return option;
    }

    /// <summary>Checks a numeric option with <see cref="Models.Training.TrainOptions.Problem"/>'s rule for its name.</summary>
    public static Option<T> TrainRule<T>(this Option<T> option) =>
        option.Check(v => Models.Training.TrainOptions.Problem(option.Name, Convert.ToDouble(v, CultureInfo.InvariantCulture)));

    /// <summary>Checks that an integer option lies in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> InRange(this Option<int> option, int min, int max) =>
        option.Check(v => v >= min && v <= max ? null : $"an integer in [{min}, {max}]");

    /// <summary>Checks that a path option is not empty.</summary>
    public static Option<string?> NonEmptyPath(this Option<string?> option) =>
        option.Check(v => string.IsNullOrWhiteSpace(v) ? "a path (it is empty)" : v.IndexOfAny(Path.GetInvalidPathChars()) >= 0 ? "a valid path" : null);

    /// <summary>
    /// `--data KIND [PATH]`, the same on every command that reads a data set: fashion-mnist [PATH], mnist PATH, cifar10 PATH or
    /// folder PATH. Checked at parse time (the kind, and a PATH where the kind needs one).
    /// </summary>
    public static Option<string[]> Data(string description)
    {
        var option = new Option<string[]>("--data")
        {
            Description = description,
            Arity = new ArgumentArity(1, 2),
            AllowMultipleArgumentsPerToken = true,
        };
        option.Validators.Add(result =>
        {
            var v = result.GetValueOrDefault<string[]>() ?? [];
            if (v.Length == 0) return;
            if (!Models.Training.TrainOptions.DataKinds.Contains(v[0]))
                result.AddError($"--data must be fashion-mnist [PATH], mnist PATH, cifar10 PATH or folder PATH, got \"{v[0]}\"");
            else if (v[0] != "fashion-mnist" && v.Length < 2)
                result.AddError($"--data {v[0]} needs the folder of the files: --data {v[0]} PATH{Models.Training.TrainOptions.DownloadHint(v[0])}");
            else if (v.Length == 2 && string.IsNullOrWhiteSpace(v[1]))
                result.AddError($"--data {v[0]} PATH: the path is empty");
        });
        return option;
    }

    /// <summary>Whether the user typed <paramref name="option"/> (not just its default).</summary>
    public static bool Given(this ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>Whether the user typed a value for <paramref name="argument"/>.</summary>
    public static bool Given(this ParseResult parse, Argument argument) => parse.GetResult(argument) is { Tokens.Count: > 0 };

    /// <summary>`--max-image-pixels N`: the largest image (width·height, from its header) a command reads; larger files are refused before decoding.</summary>
    public static Option<long?> MaxImagePixels() => new Option<long?>("--max-image-pixels")
    {
        Description = $"Refuse images with more pixels than this (read from the header, before decoding; default {data.ImageReadOptions.Default.MaxPixels:N0}, PIL's limit)",
    }.TrainRule();

    /// <summary>`--device`/`-d`, repeatable: the devices `check` and `bench` run on (none given: cpu, ilgpu-cpu, and cuda/opencl when available).</summary>
    public static Option<string[]> Devices(string what) => new("--device", "-d")
    {
        Description = $"Device(s) to {what} (repeatable): cpu, ilgpu-cpu, cuda, opencl, auto (default: cpu, ilgpu-cpu, and cuda/opencl when available)",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>`--op FAMILY`: one kernel family of <paramref name="ops"/>, checked at parse time (the error lists the families).</summary>
    public static Option<string?> Op(ScratchNet.Bench.OpRegistry ops, string what) => new Option<string?>("--op")
    {
        Description = $"One kernel family, {what}: {string.Join(", ", ops.Families)}",
    }.Check(v => v is null || ops.Find(v) is not null ? null : $"one of {string.Join(", ", ops.Families)}");

    /// <summary>`--device`/`-d`: which device to run on.</summary>
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

/// <summary>
/// `--kernels`, `--conv` and `--gemm-version`: the kernel choices of the device a command runs on, as llm.c picks a kernel by
/// number. They become the device's <see cref="ScratchNet.Kernels.DeviceOptions"/>, fixed when the device is created.
/// </summary>
public sealed class KernelFlags
{
    /// <summary>`--kernels simd|avx512|avx2|vector|reference`.</summary>
    public Option<string> Kernels { get; } = new("--kernels")
    {
        Description = "cpu kernels: simd (the fastest vector code), avx512, avx2, vector, or reference (each family's plain loops, the oracle)",
        DefaultValueFactory = _ => "simd",
    };

    /// <summary>`--conv auto|direct|im2col|per-image|implicit`.</summary>
    public Option<string> Conv { get; } = new("--conv")
    {
        Description = "Convolution algorithm: auto, direct (the definition's loops), im2col (+ GEMM), per-image (cpu), implicit (GPU: implicit GEMM)",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>`--gemm-version N`.</summary>
    public Option<int> GemmVersion { get; } = new Option<int>("--gemm-version")
    {
        Description = $"GEMM version: 0 = the fastest; cpu 1 = reference loops, 2 = packed SGEMM; GPU 1 to {ScratchNet.Kernels.DeviceOptions.IlgpuGemmVersions} (kernels/gemm)",
        DefaultValueFactory = _ => 0,
    }.InRange(0, ScratchNet.Kernels.DeviceOptions.IlgpuGemmVersions);

    /// <summary>The three options, checked at parse time.</summary>
    public KernelFlags()
    {
        Kernels.AcceptOnlyFromAmong([.. Enum.GetValues<ScratchNet.Kernels.KernelPath>().Select(ScratchNet.Kernels.DeviceOptions.Name)]);
        Conv.AcceptOnlyFromAmong([.. Enum.GetValues<ScratchNet.Kernels.ConvAlgorithm>().Select(ScratchNet.Kernels.DeviceOptions.Name)]);
    }

    /// <summary>Adds the three options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Add(Kernels);
        command.Add(Conv);
        command.Add(GemmVersion);
    }

    /// <summary>Whether any of the three was typed: then they pin one version for every family (`check`, `bench`).</summary>
    public bool Given(ParseResult parse) => parse.Given(Kernels) || parse.Given(Conv) || parse.Given(GemmVersion);

    /// <summary>The device options the command line asks for.</summary>
    public ScratchNet.Kernels.DeviceOptions Read(ParseResult parse) => new()
    {
        Kernels = ScratchNet.Kernels.DeviceOptions.ParseKernels(parse.GetValue(this.Kernels)!)!.Value,
        Conv = ScratchNet.Kernels.DeviceOptions.ParseConv(parse.GetValue(Conv)!)!.Value,
        GemmVersion = parse.GetValue(GemmVersion),
    };
}
