using ScratchNet.Kernels;

namespace ScratchNet;

/// <summary>
/// Where a tensor lives: `cpu` (managed C#), `ilgpu-cpu` (ILGPU's CPU simulator), `cuda` or `opencl`.
/// A thin handle over the kernels' <see cref="IBackend"/>; <c>Device.Get("auto")</c> picks cuda, then opencl, then cpu.
/// </summary>
public sealed class Device
{
    private static readonly Dictionary<IBackend, Device> ByBackend = new();

    private Device(IBackend backend) => Backend = backend;

    /// <summary>The backend that runs this device's kernels.</summary>
    public IBackend Backend { get; }
    /// <summary>The name as the user types it: cpu, ilgpu-cpu, cuda, opencl.</summary>
    public string Name => Backend.Name;
    /// <summary>True for cuda and opencl.</summary>
    public bool IsGpu => Name is "cuda" or "opencl";
    /// <summary>The kernel choices this device was created with (`--kernels`, `--conv`, `--gemm-version`).</summary>
    public DeviceOptions Options => Backend switch
    {
        CpuBackend c => c.Options,
        IlgpuBackend i => i.Options,
        _ => DeviceOptions.Default,
    };

    /// <summary>The cpu device with the default (fastest) kernels.</summary>
    public static Device Cpu => Get("cpu");

    /// <summary>
    /// The device named (cpu, ilgpu-cpu, cuda, opencl, or auto: cuda, then opencl, then cpu) with these kernel choices,
    /// created once per (name, options): <c>Device.Get("cpu", new DeviceOptions { Kernels = KernelPath.Reference })</c> is the cpu
    /// running every family's reference loops. Tensors of two devices do not mix, even when both are the cpu.
    /// </summary>
    public static Device Get(string name, DeviceOptions? options = null)
    {
        var backend = Backends.Get(name, options);
        lock (ByBackend)
        {
            if (!ByBackend.TryGetValue(backend, out var d)) ByBackend[backend] = d = new Device(backend);
            return d;
        }
    }

    /// <summary>Waits for every queued kernel of this device.</summary>
    public void Synchronize() => Backend.Synchronize();
    /// <summary>The device's memory pool statistics.</summary>
    public MemoryStats Memory => Backend.Memory;
    /// <summary>The name, and the options when they are not the defaults.</summary>
    public override string ToString() => Options == DeviceOptions.Default ? Name : $"{Name} ({Options})";
}
