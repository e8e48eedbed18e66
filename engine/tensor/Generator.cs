namespace ScratchNet;

/// <summary>
/// A seeded random number generator (SplitMix64), the analogue of torch.Generator. It is our own so that
/// a seed gives the same numbers on every .NET version and platform.
/// </summary>
public sealed class Generator
{
    private ulong _state;
    private float? _spareNormal;

    /// <summary>A generator whose state starts at <paramref name="seed"/> (torch.Generator().manual_seed(seed)); equal seeds give equal streams.</summary>
    public Generator(ulong seed) => _state = seed;

    /// <summary>The next 64 random bits (SplitMix64: the state advances by 0x9E3779B97F4A7C15, then is mixed).</summary>
    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextULong() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)(NextULong() % (ulong)n);

    /// <summary>Standard normal by the Box-Muller transform (two at a time).</summary>
    public float NextNormal()
    {
        if (_spareNormal is float s) { _spareNormal = null; return s; }
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = (float)(r * Math.Sin(2 * Math.PI * u2));
        return (float)(r * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>Fisher-Yates shuffle of [0, n).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) { int j = NextInt(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }

    /// <summary>The internal state, for checkpoints (resume reproduces the same numbers).</summary>
    public ulong State { get => _state; set { _state = value; _spareNormal = null; } }
}
