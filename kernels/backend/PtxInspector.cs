using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace ScratchNet.Kernels;

/// <summary>What the PTX of one kernel shows: register spills to local memory and the width of its loads.</summary>
/// <param name="Kernel">The kernel's name (<see cref="PtxInspector.KernelName"/>).</param>
/// <param name="LocalBytes">Bytes of .local frames: registers spilled to off-chip local memory.</param>
/// <param name="LocalLoadsStores">ld.local and st.local instructions.</param>
/// <param name="GlobalLoads">Every ld.global instruction, scalar or vector.</param>
/// <param name="GlobalVectorLoads">The 2- and 4-wide ld.global (or ld.global.nc) among them.</param>
/// <param name="SharedVectorLoads">2- and 4-wide ld.shared instructions.</param>
/// <param name="Lines">Lines of PTX.</param>
/// <param name="Error">Why the kernel did not compile (the counts are then 0), or null.</param>
public sealed record PtxReport(string Kernel, int LocalBytes, int LocalLoadsStores, int GlobalLoads, int GlobalVectorLoads, int SharedVectorLoads, int Lines, string? Error)
{
    /// <summary>True when the kernel keeps everything in registers (no .local frame, no ld/st.local).</summary>
    public bool NoSpills => LocalBytes == 0 && LocalLoadsStores == 0;
}

/// <summary>
/// Compiles every ILGPU kernel of <see cref="IlgpuBackend"/> to PTX for a chosen architecture (sm_90 for the
/// H100 by default) without needing a GPU, and counts what matters for speed:
///   - `.local` declarations and `ld.local`/`st.local`: registers spilled to (slow, off-chip) local memory,
///     e.g. a register tile indexed by a loop variable that ILGPU could not keep in registers;
///   - `ld.global.v4.f32` / `ld.global.nc.v4.f32` versus scalar global loads: whether 128-bit loads were emitted;
///   - `ld.shared.v4`: vectorised shared-memory reads in the tiled GEMM.
/// Kernels are found by reflection: static methods of IlgpuBackend whose name ends in "Kernel", and the generic
/// kernels instantiated with the operand types in use (IlgpuBackend.GenericKernelInstances).
/// </summary>
public static class PtxInspector
{
    /// <summary>Every kernel to inspect, ordered by <see cref="KernelName"/>: the non-generic static methods of
    /// <see cref="IlgpuBackend"/> whose name ends in "Kernel", and the generic kernels closed over the operand types the launchers
    /// use.</summary>
    public static IEnumerable<MethodInfo> KernelMethods() =>
        typeof(IlgpuBackend).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal) && !m.IsGenericMethodDefinition)
            .Concat(IlgpuBackend.GenericKernelInstances())
            .OrderBy(KernelName, StringComparer.Ordinal);

    /// <summary>The kernel's name; a generic kernel's with its operand types, e.g. GemmDoubleBufferKernel&lt;MatrixSource,Im2ColSource,ImageMatrix&gt;.</summary>
    public static string KernelName(MethodInfo m) =>
        m.IsGenericMethod ? $"{m.Name}<{string.Join(",", m.GetGenericArguments().Select(t => t.Name))}>" : m.Name;

    /// <summary>The PTX assembly of <paramref name="kernel"/> for the architecture <paramref name="arch"/> and PTX ISA
    /// <paramref name="isa"/>, from ILGPU's PTX backend with the process context (O2). Needs no GPU or driver.</summary>
    public static string CompilePtx(MethodInfo kernel, CudaArchitecture arch, CudaInstructionSet isa)
    {
        using var backend = new PTXBackend(Backends.Context, new CudaCapabilityContext(arch), arch, isa, null);
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = backend.Compile(entry, new KernelSpecialization());
        return ((PTXCompiledKernel)compiled).PTXAssembly;
    }

    /// <summary>Counts in the PTX text <paramref name="ptx"/> of the kernel <paramref name="name"/>: bytes of .local frames,
    /// ld/st.local instructions, all ld.global, the 2- and 4-wide ld.global (with or without .nc), the 2- and 4-wide ld.shared,
    /// and lines.</summary>
    public static PtxReport Analyze(string name, string ptx)
    {
        int localBytes = 0;
        foreach (Match m in Regex.Matches(ptx, @"\.local\s+\.align\s+\d+\s+\.b8\s+\S+\[(\d+)\]"))
            localBytes += int.Parse(m.Groups[1].Value);
        int localLdSt = Regex.Matches(ptx, @"\b(ld|st)\.local\.").Count;
        int globalLoads = Regex.Matches(ptx, @"\bld\.global\.").Count;
        int globalVec = Regex.Matches(ptx, @"\bld\.global(\.nc)?\.v[24]\.").Count;
        int sharedVec = Regex.Matches(ptx, @"\bld\.shared\.v[24]\.").Count;
        return new PtxReport(name, localBytes, localLdSt, globalLoads, globalVec, sharedVec, ptx.Count(c => c == '\n'), null);
    }

    /// <summary>Compiles and analyses every kernel; writes each .ptx into outDir when given.</summary>
    public static List<PtxReport> InspectAll(string? outDir = null, CudaArchitecture? arch = null, CudaInstructionSet? isa = null)
    {
        var a = arch ?? CudaArchitecture.SM_90;
        var i = isa ?? CudaInstructionSet.ISA_80;
        if (outDir is not null) Directory.CreateDirectory(outDir);
        var reports = new List<PtxReport>();
        foreach (var k in KernelMethods())
        {
            try
            {
                string ptx = CompilePtx(k, a, i);
                if (outDir is not null) File.WriteAllText(Path.Combine(outDir, KernelName(k).Replace('<', '_').Replace('>', '_').Replace(',', '_') + ".ptx"), ptx);
                reports.Add(Analyze(KernelName(k), ptx));
            }
            catch (Exception e)
            {
                reports.Add(new PtxReport(KernelName(k), 0, 0, 0, 0, 0, 0, e.GetBaseException().Message));
            }
        }
        return reports;
    }
}
