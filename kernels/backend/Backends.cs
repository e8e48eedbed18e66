using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace ScratchNet.Kernels;

/// <summary>One line of `scratchnet devices`: a backend, whether it is usable, and why not.</summary>
/// <param name="Name">Device name as the user types it: cpu, ilgpu-cpu, cuda, opencl.</param>
/// <param name="Available">Whether <see cref="Backends.Get"/> can create it on this machine.</param>
/// <param name="Detail">When available, what it runs on (threads and vector path; GPU name, architecture, driver, memory);
/// otherwise the reason it is not.</param>
public sealed record BackendInfo(string Name, bool Available, string Detail);

/// <summary>
/// Creates backends by name (cpu, ilgpu-cpu, cuda, opencl, auto) and options, and diagnoses the ones that are missing.
/// One ILGPU context serves the whole process, and one accelerator each GPU; each (name, options) backend is created
/// once and reused, so two option sets on one GPU are two backends sharing its accelerator.
/// </summary>
public static class Backends
{
    /// <summary>The concrete device names, in the order `scratchnet devices` lists them. "auto" is not one of them: <see cref="Get"/>
    /// resolves it to cuda, then opencl, then cpu.</summary>
    public static readonly string[] Names = ["cpu", "ilgpu-cpu", "cuda", "opencl"];

    private static readonly object Lock = new();
    private static Context? _context;
    private static readonly Dictionary<(string Name, DeviceOptions Options), IBackend> Created = new();
    private static readonly Dictionary<string, Accelerator> Accelerators = new();

    /// <summary>The process-wide ILGPU context: O2 so loads are specialised, Algorithms so MathF.Exp/Log compile.</summary>
    public static Context Context
    {
        get
        {
            lock (Lock)
                return _context ??= ILGPU.Context.Create(b => b.Default().Optimize(OptimizationLevel.O2).EnableAlgorithms());
        }
    }

    /// <summary>
    /// The simulated device behind `ilgpu-cpu`: warps of 32 and 256 threads per group like a GPU, so
    /// tiled kernels launch with the same group shapes as on CUDA. Every simulated thread is an OS
    /// thread, so keep shapes small there.
    /// </summary>
    public static CPUDevice SimulatedCpuDevice { get; } = new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1);

    /// <summary>Gets (creating once) the backend named, with these kernel choices (default: the fastest); "auto" picks cuda,
    /// then opencl, then cpu. Options that do not apply to the device are an ArgumentException naming them.</summary>
    public static IBackend Get(string name, DeviceOptions? options = null)
    {
        name = name.Trim().ToLowerInvariant();
        options ??= DeviceOptions.Default;
        if (name == "auto")
        {
            foreach (var candidate in new[] { "cuda", "opencl" })
                if (Probe(candidate).Available) return Get(candidate, options);
            return Get("cpu", options);
        }
        lock (Lock)
        {
            if (Created.TryGetValue((name, options), out var existing)) return existing;
            IBackend backend = name switch
            {
                "cpu" => new CpuBackend(options),
                "ilgpu-cpu" or "cuda" or "opencl" => new IlgpuBackend(name, AcceleratorFor(name), options),
                _ => throw new ArgumentException($"Unknown device '{name}'. Known devices: auto, {string.Join(", ", Names)}."),
            };
            Created[(name, options)] = backend;
            return backend;
        }
    }

    // The one accelerator of each ILGPU device, shared by its backends (called under Lock).
    private static Accelerator AcceleratorFor(string name)
    {
        if (Accelerators.TryGetValue(name, out var acc)) return acc;
        if (name != "ilgpu-cpu")
        {
            var info = Probe(name);
            if (!info.Available) throw new ArgumentException($"Device '{name}' is not available: {info.Detail}");
        }
        var ctx = Context;
        acc = name switch
        {
            "ilgpu-cpu" => SimulatedCpuDevice.CreateAccelerator(ctx),
            "cuda" => ctx.GetCudaDevices()[LocalGpu(ctx.GetCudaDevices().Count)].CreateAccelerator(ctx),
            _ => ctx.GetCLDevices()[0].CreateAccelerator(ctx),
        };
        return Accelerators[name] = acc;
    }

    /// <summary>The GPU a process takes among <paramref name="count"/>: under Open MPI's mpirun, its local rank on the host
    /// (OMPI_COMM_WORLD_LOCAL_RANK) modulo the count, one GPU per rank as in distributed data parallel; else the first.</summary>
    public static int LocalGpu(int count) =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK"), out int local) && local >= 0 && count > 0 ? local % count : 0;

    /// <summary>Every backend, available or not, with the reason when it is not.</summary>
    public static IReadOnlyList<BackendInfo> List() => Names.Select(Probe).ToList();

    /// <summary>Whether the device <paramref name="name"/> can be used on this machine, without creating its backend: cpu and ilgpu-cpu
    /// always can; cuda and opencl when ILGPU lists a device, and otherwise <see cref="BackendInfo.Detail"/> says which step failed
    /// (no driver library, cuInit's CUDA error code, no device, or devices ILGPU cannot compile for). An unknown name is reported
    /// unavailable, not thrown.</summary>
    public static BackendInfo Probe(string name) => name switch
    {
        "cpu" => new BackendInfo("cpu", true, $"managed C#, {Environment.ProcessorCount} threads, vector path {CpuSimd.BestKernels}"),
        "ilgpu-cpu" => new BackendInfo("ilgpu-cpu", true, $"ILGPU CPU simulator, {SimulatedCpuDevice.MaxNumThreadsPerGroup} threads per group (slow: for tests)"),
        "cuda" => ProbeCuda(),
        "opencl" => ProbeOpenCl(),
        _ => new BackendInfo(name, false, "unknown device name"),
    };

    // ILGPU's CUDA enumeration swallows every error (no libcuda, old driver, no device) and simply
    // lists nothing, so we load the driver ourselves to say which of those it is.
    private static BackendInfo ProbeCuda()
    {
        var devices = SafeList(() => { var l = new List<Device>(); foreach (var d in Context.GetCudaDevices()) l.Add(d); return l; });
        if (devices.Count > 0)
        {
            var d = (CudaDevice)devices[0];
            return new BackendInfo("cuda", true, $"{d.Name}, sm_{d.Architecture?.Major}{d.Architecture?.Minor}, driver {d.DriverVersion}, {d.MemorySize / (1 << 20)} MiB");
        }
        string[] libs = ["libcuda.so.1", "libcuda.so", "cuda"];
        IntPtr handle = IntPtr.Zero;
        string? loaded = libs.FirstOrDefault(l => NativeLibrary.TryLoad(l, out handle));
        if (loaded is null)
            return new BackendInfo("cuda", false, "libcuda.so not found: no NVIDIA driver is installed, or its library is not on the loader path (check `ldconfig -p | grep libcuda`)");
        try
        {
            unsafe
            {
                var cuInit = (delegate* unmanaged<uint, int>)NativeLibrary.GetExport(handle, "cuInit");
                var cuDriverGetVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(handle, "cuDriverGetVersion");
                var cuDeviceGetCount = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(handle, "cuDeviceGetCount");
                int init = cuInit(0);
                int version = 0, count = 0;
                cuDriverGetVersion(&version);
                if (init != 0)
                    return new BackendInfo("cuda", false, $"{loaded} found (driver API {version / 1000}.{version % 1000 / 10}) but cuInit failed with CUDA error {init} (100 = no device, 999 = unknown, 35 = driver too old)");
                cuDeviceGetCount(&count);
                return new BackendInfo("cuda", false, count == 0
                    ? $"{loaded} found (driver API {version / 1000}.{version % 1000 / 10}) but it reports no CUDA device"
                    : $"{loaded} found with {count} device(s) (driver API {version / 1000}.{version % 1000 / 10}), but ILGPU 1.5.3 rejected them (driver or architecture not supported by ILGPU)");
            }
        }
        catch (Exception e)
        {
            return new BackendInfo("cuda", false, $"{loaded} found but could not be queried: {e.Message}");
        }
    }

    private static BackendInfo ProbeOpenCl()
    {
        var devices = SafeList(() => { var l = new List<Device>(); foreach (var d in Context.GetCLDevices()) l.Add(d); return l; });
        if (devices.Count > 0)
        {
            var d = (CLDevice)devices[0];
            return new BackendInfo("opencl", true, $"{d.Name}, {d.Vendor}, OpenCL C {d.CVersion}");
        }
        if (!NativeLibrary.TryLoad("libOpenCL.so.1", out _) && !NativeLibrary.TryLoad("libOpenCL.so", out _))
            return new BackendInfo("opencl", false, "libOpenCL.so not found: no OpenCL ICD loader is installed");
        // ILGPU lists only OpenCL devices it can compile for: OpenCL 2.0 generic address space, or 3.0 with
        // __opencl_c_generic_address_space. Anything else (PoCL 3.1 on this machine, for instance) is dropped.
        var all = SafeList(() => CLDevice.GetDevices(_ => true).Cast<Device>().ToList());
        if (all.Count == 0)
            return new BackendInfo("opencl", false, "libOpenCL found but no OpenCL platform or device is installed (ICD files in /etc/OpenCL/vendors)");
        return new BackendInfo("opencl", false,
            "OpenCL device(s) found but none supports the generic address space that ILGPU needs (OpenCL 2.0, or 3.0 with __opencl_c_generic_address_space): "
            + string.Join("; ", all.Select(d => d.Name)));
    }

    private static List<Device> SafeList(Func<List<Device>> f)
    {
        try { return f(); } catch { return []; }
    }
}
