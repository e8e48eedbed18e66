using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>What a bench case may be compared with on the device at hand: OpenBLAS (on the cpu), and the PyTorch process of the
/// device, started by the first case that asks for it (null when there is none).</summary>
public sealed record BaselineSources(bool OpenBlas = false, Func<TorchServer?>? Torch = null)
{
    /// <summary>No baselines.</summary>
    public static BaselineSources None { get; } = new();
}

/// <summary>
/// The buffers of one bench case on one device, seeded, returned to the device's pool when the case is done; and the
/// baselines the case may attach (OpenBLAS on the cpu, the PyTorch process of the device).
/// </summary>
public sealed class BenchArena(IBackend backend, Random rng, BaselineSources? baselines = null) : IDisposable
{
    private readonly List<Storage> _owned = [];

    /// <summary>The device (one version's options) the case runs on.</summary>
    public IBackend Backend { get; } = backend;

    /// <summary>The baselines available for this device in this run.</summary>
    public BaselineSources Baselines { get; } = baselines ?? BaselineSources.None;

    /// <summary>n uniform floats in [lo, hi).</summary>
    public Storage Random(int n, float lo = -1f, float hi = 1f)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.NextSingle();
        return Floats(data);
    }

    /// <summary>These floats on the device.</summary>
    public Storage Floats(float[] data)
    {
        var s = Empty(data.Length);
        Backend.Upload(data, s);
        return s;
    }

    /// <summary>These ints on the device.</summary>
    public Storage Ints(int[] data)
    {
        var s = Empty(data.Length, DType.Int32);
        Backend.Upload(data, s);
        return s;
    }

    /// <summary>n uniform ints in [0, max) on the device (labels, indices).</summary>
    public Storage RandomInts(int n, int max)
    {
        var data = new int[n];
        for (int i = 0; i < n; i++) data[i] = rng.Next(max);
        return Ints(data);
    }

    /// <summary>An uninitialised buffer (whatever the pool held: the op must write it before reading).</summary>
    public Storage Empty(int n, DType dtype = DType.Float32)
    {
        var s = Backend.Allocate(n, dtype);
        _owned.Add(s);
        return s;
    }

    /// <summary>A buffer's contents on the host (for a baseline that runs on the host: OpenBLAS).</summary>
    public float[] Host(Storage s)
    {
        var data = new float[s.Length];
        Backend.Download(s, data);
        return data;
    }

    /// <summary>Returns every buffer to the device's pool.</summary>
    public void Dispose()
    {
        foreach (var s in _owned) s.Dispose();
        _owned.Clear();
    }
}
