using System.Diagnostics;

namespace ScratchNet.Bench;

/// <summary>
/// One measurement: the first call alone (warm-up: JIT, kernel compilation, first touch), then ours and the baseline's figure
/// per round, the two taken in alternating rounds (ours, theirs, ours, theirs...), so that a noisy neighbour slows both sides
/// rather than one. Figures: higher is better (GFLOP/s, GB/s, img/s).
/// </summary>
public sealed record Measured(double WarmSeconds, IReadOnlyList<double> Ours, IReadOnlyList<double> Theirs)
{
    /// <summary>Our best round.</summary>
    public double Best => Ours.Max();

    /// <summary>Our median round.</summary>
    public double Median => Timing.Median(Ours);

    /// <summary>The baseline's best round, if it was measured.</summary>
    public double? TheirBest => Theirs.Count > 0 ? Theirs.Max() : null;

    /// <summary>The baseline's median round.</summary>
    public double? TheirMedian => Theirs.Count > 0 ? Timing.Median(Theirs) : null;
}

/// <summary>
/// How the bench times: <paramref name="Rounds"/> rounds, each of enough calls to last <paramref name="Target"/> seconds and
/// ending with a device synchronisation (GPU launches are asynchronous); <paramref name="Settle"/> seconds of sleep before each
/// side's round when a baseline takes part on the same CPU: OpenBLAS's threads busy-wait after a call and our thread team
/// spins briefly, and a side must not time while the other's threads still hold the cores.
/// </summary>
public sealed record Timing(int Rounds, double Target, double Settle)
{
    /// <summary>Times a call of <paramref name="work"/> FLOPs or bytes (figures in G per second), alternating with the baseline's rounds when given.</summary>
    public Measured Measure(Action ours, Action sync, double work, Baseline? theirs = null, bool settle = false)
    {
        var sw = Stopwatch.StartNew();
        ours(); sync();
        double warm = sw.Elapsed.TotalSeconds;
        int reps = Reps(ours, sync);
        double OursRound()
        {
            var t = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) ours();
            sync();
            return work * reps / Math.Max(t.Elapsed.TotalSeconds, 1e-9) / 1e9;
        }
        Func<double?>? theirsRound = theirs?.Round;
        if (theirs?.Call is { } call)
        {
            call();
            int theirReps = Reps(call, () => { });
            theirsRound = () =>
            {
                var t = Stopwatch.StartNew();
                for (int i = 0; i < theirReps; i++) call();
                return work * theirReps / Math.Max(t.Elapsed.TotalSeconds, 1e-9) / 1e9;
            };
        }
        var (o, th) = Alternate(Rounds, OursRound, theirsRound, settle ? Settle : 0);
        return new Measured(warm, o, th);
    }

    /// <summary>Calls per round: enough for <see cref="Target"/> seconds, from one timed call (1 … 1000).</summary>
    private int Reps(Action f, Action sync)
    {
        var sw = Stopwatch.StartNew();
        f(); sync();
        return (int)Math.Clamp(Target / Math.Max(sw.Elapsed.TotalSeconds, 1e-7), 1, 1000);
    }

    /// <summary>
    /// <paramref name="rounds"/> rounds of ours, each followed by one of theirs when given: the figures of each side in round order.
    /// A baseline round that fails (null) ends the baseline's rounds. <paramref name="settle"/>: seconds of sleep before each round.
    /// </summary>
    public static (List<double> Ours, List<double> Theirs) Alternate(int rounds, Func<double> ours, Func<double?>? theirs, double settle = 0)
    {
        var o = new List<double>(rounds);
        var t = new List<double>(rounds);
        for (int r = 0; r < rounds; r++)
        {
            Sleep(theirs is null ? 0 : settle);
            o.Add(ours());
            if (theirs is null) continue;
            Sleep(settle);
            if (theirs() is double v) t.Add(v);
            else theirs = null;
        }
        return (o, t);
    }

    private static void Sleep(double seconds)
    {
        if (seconds > 0) Thread.Sleep(TimeSpan.FromSeconds(seconds));
    }

    /// <summary>The median of a non-empty list.</summary>
    public static double Median(IReadOnlyList<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
