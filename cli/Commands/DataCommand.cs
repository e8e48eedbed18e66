using System.CommandLine;
using ScratchNet.data;

namespace ScratchNet.Cli.Commands;

/// <summary>`scratchnet data download cifar10|mnist|fashion-mnist`: fetch from the official URLs and verify the checksums.</summary>
public sealed class DataCommand : ICliCommand
{
    public int Order => 8;

    public Command Build()
    {
        var name = new Argument<string>("dataset") { Description = "cifar10, mnist or fashion-mnist" };
        name.AcceptOnlyFromAmong(DatasetDownloader.Known.Keys.ToArray());
        var dir = new Option<string>("--dir") { Description = "Where to put it", DefaultValueFactory = _ => "data" };
        var download = new Command("download", "Download a dataset from its official URLs, verify its MD5 checksums and extract it") { name, dir };
        CliApp.SetAction(download, (parse, output, _) =>
        {
            var path = new DatasetDownloader(log: output.WriteLine).Download(parse.GetValue(name)!, parse.GetValue(dir)!);
            output.WriteLine($"ready: {path}   (train with: scratchnet train alexnet --data {parse.GetValue(name)} {path})");
            return 0;
        });
        return new Command("data", "Datasets: download and verify") { download };
    }
}
