using System.CommandLine;
using ScratchNet.Kernels;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet ptx [--out DIR]`: compiles every ILGPU kernel to sm_90 PTX without a GPU (PtxInspector) and prints
/// per kernel the .local bytes and ld/st.local count (register spills), the global loads and how many of them are
/// 64/128-bit vector loads, and vector shared-memory loads. Exits 1 when a kernel does not compile.
/// </summary>
public sealed class PtxCommand : ICliCommand
{
    public int Order => 43;

    public Command Build()
    {
        var outDir = new Option<string?>("--out") { Description = "Also write each kernel's .ptx into this folder" };
        var cmd = new Command("ptx", "Compile every GPU kernel to sm_90 PTX (no GPU needed) and report register spills and vector loads") { outDir };
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            string? dir = parse.GetValue(outDir);
            var reports = PtxInspector.InspectAll(dir);
            int w = Math.Max(6, reports.Max(r => r.Kernel.Length));
            output.WriteLine($"{"kernel".PadRight(w)}  {".local B",8}  {"ld/st.local",11}  {"ld.global",9}  {"vector",6}  {"ld.shared.v",11}  {"lines",6}  spills");
            foreach (var r in reports)
            {
                if (r.Error is not null) { output.WriteLine($"{r.Kernel.PadRight(w)}  error: {r.Error}"); continue; }
                output.WriteLine($"{r.Kernel.PadRight(w)}  {r.LocalBytes,8}  {r.LocalLoadsStores,11}  {r.GlobalLoads,9}  {r.GlobalVectorLoads,6}  {r.SharedVectorLoads,11}  {r.Lines,6}  {(r.NoSpills ? "none" : "SPILLS")}");
            }
            int errors = reports.Count(r => r.Error is not null), spills = reports.Count(r => r.Error is null && !r.NoSpills);
            output.WriteLine($"{reports.Count} kernels (sm_90, PTX ISA 8.0): {spills} with local memory (spills), {errors} failed to compile, " +
                             $"{reports.Count(r => r.GlobalVectorLoads > 0)} with vector global loads");
            if (dir is not null) output.WriteLine($"PTX written to {Path.GetFullPath(dir)}");
            if (errors > 0) error.WriteLine($"ptx: {errors} kernels failed to compile");
            return errors > 0 ? 1 : 0;
        });
        return cmd;
    }
}
