using System.CommandLine;
using ScratchNet.Bench;

namespace ScratchNet.Cli.Commands;

/// <summary>`scratchnet bench-report [bench.json]`: prints the README performance section (Markdown) from a bench run.</summary>
public sealed class BenchReportCommand : ICliCommand
{
    public int Order => 42;

    public Command Build()
    {
        var file = new Argument<string>("file") { Description = "bench.json written by `scratchnet bench`", DefaultValueFactory = _ => Path.Combine("bench-results", "bench.json") };
        var title = new Option<string>("--title") { Description = "Heading of the section", DefaultValueFactory = _ => "Performance" };
        var level = new Option<int>("--level") { Description = "Heading level of the section (its tables get one more)", DefaultValueFactory = _ => 2 };
        var cmd = new Command("bench-report", "Print the README performance section (Markdown: device, date, figures and ratios) from bench.json") { file, title, level };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            string path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"bench-report: {path} not found (run `scratchnet bench` first)", path);
            output.Write(BenchReport.Markdown(BenchResults.Load(path), parse.GetValue(title)!, parse.GetValue(level)));
            return 0;
        });
        return cmd;
    }
}
