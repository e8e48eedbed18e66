using System.Diagnostics;

namespace ScratchNet;

/// <summary>
/// Where the time of a training step goes, op by op. When Enabled, Sequential times each layer's forward,
/// Backward times each node's backward (named by its op and output shape) and the caller may time anything
/// else with Time. Every measurement synchronises the device before and after, so a GPU's asynchronous
/// launches are charged to the op that issued them; that also removes the overlap a real step has, so the
/// profiled step is slower than an unprofiled one. `scratchnet profile` prints the table.
/// </summary>
public static class Profiler
{
    /// <summary>Whether Time measures and records (off: Time just runs its function, without synchronising). Process-wide.</summary>
    public static bool Enabled { get; set; }

    private static readonly Dictionary<string, (double Seconds, int Calls)> Totals = new();
    private static readonly List<string> Order = new();

    /// <summary>Forgets every total and call count recorded so far.</summary>
    public static void Reset() { Totals.Clear(); Order.Clear(); }

    /// <summary>Runs f and, when enabled, charges its synchronised wall time to name.</summary>
    public static void Time(string name, Device device, Action f)
    {
        if (!Enabled) { f(); return; }
        device.Synchronize();
        long t0 = Stopwatch.GetTimestamp();
        f();
        device.Synchronize();
        Add(name, Stopwatch.GetElapsedTime(t0).TotalSeconds);
    }

    /// <summary>Like Time, for a function with a result.</summary>
    public static T Time<T>(string name, Device device, Func<T> f)
    {
        T result = default!;
        Time(name, device, () => { result = f(); });
        return result;
    }

    private static void Add(string name, double seconds)
    {
        if (!Totals.TryGetValue(name, out var t)) Order.Add(name);
        Totals[name] = (t.Seconds + seconds, t.Calls + 1);
    }

    /// <summary>Each name in first-seen order with its total seconds and number of calls.</summary>
    public static IReadOnlyList<(string Name, double Seconds, int Calls)> Results() =>
        Order.Select(n => (n, Totals[n].Seconds, Totals[n].Calls)).ToList();
}
