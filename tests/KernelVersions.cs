using ScratchNet.Kernels;

namespace ScratchNet.Tests;

/// <summary>
/// Every version of a kernel that the tests compare with its family's definition (<see cref="Reference"/>, kernels/&lt;family&gt;/&lt;Family&gt;.Reference.cs),
/// each reached through <see cref="IBackend"/> on a device with fixed options, as the engine calls it:
/// <list type="bullet">
/// <item>"cpu": the cpu device's default (the fastest vector path of this CPU);</item>
/// <item>"cpu --kernels avx512", "cpu --kernels avx2", "cpu --kernels vector": every path of <see cref="CpuSimd.VectorPaths"/>;</item>
/// <item>"ilgpu-cpu" (and cuda / opencl when SCRATCHNET_TEST_DEVICES names them): the ILGPU kernel.</item>
/// </list>
/// GEMM has versions of its own (<see cref="Gemm"/>). The reference device (--kernels reference) is not a version: it runs
/// <see cref="Reference"/> itself.
/// </summary>
public static class KernelVersions
{
    /// <summary>The version names, one per row: [string version].</summary>
    public static IEnumerable<object[]> All()
    {
        foreach (var d in TestUtil.Devices())
        {
            var name = (string)d[0];
            yield return [name];
            if (name == "cpu")
                foreach (var path in CpuSimd.VectorPaths) yield return [$"cpu --kernels {DeviceOptions.Name(path)}"];
        }
    }

    /// <summary>
    /// The GEMM versions: the cpu device's default; cpu version 1 (Reference.Gemm's loops) and version 2 (the packed SGEMM) on every
    /// vector path; ILGPU versions 1 … 5 on each ILGPU device. One row each: [string version].
    /// </summary>
    public static IEnumerable<object[]> Gemm()
    {
        foreach (var d in TestUtil.Devices())
        {
            var name = (string)d[0];
            if (name == "cpu")
            {
                yield return ["cpu"];
                yield return ["cpu --gemm-version 1"];
                foreach (var path in CpuSimd.VectorPaths) yield return [$"cpu --kernels {DeviceOptions.Name(path)} --gemm-version 2"];
            }
            else
                for (int v = 1; v <= DeviceOptions.IlgpuGemmVersions; v++) yield return [$"{name} --gemm-version {v}"];
        }
    }

    /// <summary>The device of a version name ("cpu --kernels avx2", "ilgpu-cpu --gemm-version 3": the device name, then the
    /// command line's options), with more options set by <paramref name="with"/> (e.g. SplitKTargetGroups).</summary>
    public static Device Device(string version, Func<DeviceOptions, DeviceOptions>? with = null)
    {
        var parts = version.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var options = new DeviceOptions();
        for (int i = 1; i < parts.Length; i += 2)
            options = (parts[i], i + 1 < parts.Length ? parts[i + 1] : "") switch
            {
                ("--kernels", var k) => options with { Kernels = DeviceOptions.ParseKernels(k) ?? throw new ArgumentException($"'{version}': unknown path {k}") },
                ("--gemm-version", var v) => options with { GemmVersion = int.Parse(v) },
                _ => throw new ArgumentException($"'{version}': unknown option {parts[i]}"),
            };
        if (with is not null) options = with(options);
        return ScratchNet.Device.Get(parts[0], options == DeviceOptions.Default ? null : options);
    }

    /// <summary>The backend of a version name.</summary>
    public static IBackend Backend(string version) => Device(version).Backend;

    /// <summary>Whether a version runs on ILGPU (one OS thread per simulated GPU thread on ilgpu-cpu: keep its shapes small).</summary>
    public static bool IsIlgpu(string version) => Backend(version) is IlgpuBackend;
}
