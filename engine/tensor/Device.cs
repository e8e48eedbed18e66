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

    public IBackend Backend { get; }
    public string Name => Backend.Name;
    public bool IsGpu => Name is "cuda" or "opencl";

    public static Device Cpu => Get("cpu");

    public static Device Get(string name)
    {
        var backend = Backends.Get(name);
        lock (ByBackend)
        {
            if (!ByBackend.TryGetValue(backend, out var d)) ByBackend[backend] = d = new Device(backend);
            return d;
        }
    }

    public void Synchronize() => Backend.Synchronize();
    public MemoryStats Memory => Backend.Memory;
    public override string ToString() => Name;
}
