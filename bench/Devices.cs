using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>The devices `check` and `bench` run on when --device is not given, and the check that the named ones exist.</summary>
public static class Devices
{
    /// <summary>cpu, ilgpu-cpu, and every GPU backend Backends.Probe finds.</summary>
    public static List<string> Default()
    {
        var list = new List<string> { "cpu", "ilgpu-cpu" };
        foreach (var gpu in new[] { "cuda", "opencl" })
            if (Backends.Probe(gpu).Available) list.Add(gpu);
        return list;
    }

    /// <summary>The devices named (lower case, each once), or <see cref="Default"/>; ArgumentException naming a device that is not
    /// available ("auto" becomes the device it picks).</summary>
    public static List<string> Resolve(string command, IReadOnlyList<string>? names)
    {
        if (names is not { Count: > 0 }) return Default();
        var list = new List<string>();
        foreach (var raw in names)
        {
            string name = raw.Trim().ToLowerInvariant();
            if (name == "auto") name = Backends.Get("auto").Name;
            var info = Backends.Probe(name);
            if (!info.Available) throw new ArgumentException($"{command}: device '{name}' is not available: {info.Detail}");
            if (!list.Contains(name)) list.Add(name);
        }
        return list;
    }
}
