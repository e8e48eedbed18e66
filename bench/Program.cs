using ScratchNet.Bench;

// Benchmark dispatcher: `dotnet run -c Release --project bench -- <name> [args...]`.
// Each entry is a static method taking the remaining arguments and returning an exit code; add yours here.
var entries = new Dictionary<string, Func<string[], int>>
{
    ["sgemm"] = SgemmBench.Run, // our CPU SGEMM vs OpenBLAS, side by side
};

if (args.Length == 0 || !entries.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: dotnet run -c Release --project bench -- <{string.Join("|", entries.Keys)}> [args...]");
    return args.Length == 0 ? 0 : 2;
}
return run(args[1..]);
