using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>One checked output: an op of a family, on one shape, for one version on one device; its largest difference to the
/// reference and the bound it must stay within.</summary>
public sealed record CheckResult(string Device, string Family, string Version, string Op, string Shape, double MaxAbsError, double Tolerance)
{
    /// <summary>Within the tolerance (NaN never is).</summary>
    public bool Pass => !double.IsNaN(MaxAbsError) && MaxAbsError <= Tolerance;

    /// <summary>Error over tolerance, the measure of the worst case: 0 for an exact match, +∞ for NaN or any error where 0 is allowed.</summary>
    public double Ratio => double.IsNaN(MaxAbsError) ? double.PositiveInfinity
        : MaxAbsError == 0 ? 0 : Tolerance == 0 ? double.PositiveInfinity : MaxAbsError / Tolerance;
}

/// <summary>
/// What an op's check cases run with: the device under test (one version's options), the reference device (the cpu with
/// Kernels = Reference), a seeded generator, and buffers holding the same contents on both. Tolerances are absolute and
/// scale with the values: tol = rel · (1 + max |reference|) (+ an absolute term where the op needs one), the rules of
/// each family's file. Backward methods accumulate, so their outputs start from the same random values on both devices.
/// </summary>
public sealed class CheckContext(string family, OpVersion version, IBackend device, IBackend reference, ulong seed = 1)
{
    private readonly List<CheckResult> _results = [];

    /// <summary>The device under test, created with <see cref="Version"/>'s options.</summary>
    public IBackend Device { get; } = device;

    /// <summary>The oracle: the cpu device running every family's plain loops.</summary>
    public IBackend Reference { get; } = reference;

    /// <summary>The version under test.</summary>
    public OpVersion Version { get; } = version;

    /// <summary>The family under test.</summary>
    public string Family { get; } = family;

    /// <summary>Seeded by the check's --seed: every version of a family sees the same inputs.</summary>
    public Random Rng { get; } = new((int)seed);

    /// <summary>The outputs compared so far.</summary>
    public IReadOnlyList<CheckResult> Results => _results;

    /// <summary>A buffer with the same contents on both devices.</summary>
    public sealed class Buffer(Storage d, Storage r, int length, bool isInt) : IDisposable
    {
        /// <summary>The copy on the device under test.</summary>
        public Storage D { get; } = d;
        /// <summary>The copy on the reference device.</summary>
        public Storage R { get; } = r;
        /// <summary>Elements.</summary>
        public int Length { get; } = length;
        /// <summary>Int32 elements (indices, labels) rather than floats.</summary>
        public bool IsInt { get; } = isInt;
        /// <summary>Returns both copies to their pools.</summary>
        public void Dispose() { D.Dispose(); R.Dispose(); }
    }

    /// <summary>n uniform floats in [lo, hi).</summary>
    public float[] Rand(int n, float lo = -1f, float hi = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * Rng.NextSingle();
        return a;
    }

    /// <summary>These floats on both devices.</summary>
    public Buffer Floats(float[] data)
    {
        var d = Device.Allocate(data.Length, DType.Float32);
        var r = Reference.Allocate(data.Length, DType.Float32);
        Device.Upload(data, d); Reference.Upload(data, r);
        return new Buffer(d, r, data.Length, false);
    }

    /// <summary>n uniform floats in [-1, 1) on both devices.</summary>
    public Buffer Floats(int n) => Floats(Rand(n));

    /// <summary>These ints on both devices.</summary>
    public Buffer Ints(int[] data)
    {
        var d = Device.Allocate(data.Length, DType.Int32);
        var r = Reference.Allocate(data.Length, DType.Int32);
        Device.Upload(data, d); Reference.Upload(data, r);
        return new Buffer(d, r, data.Length, true);
    }

    /// <summary>Runs the same call on the device under test and on the reference; <c>v(buffer)</c> is the buffer's copy on the device at hand.</summary>
    public void Both(Action<IBackend, Func<Buffer, Storage>> run)
    {
        run(Device, p => p.D);
        run(Reference, p => p.R);
    }

    /// <summary>Downloads both copies and records max |device − reference| against <paramref name="absolute"/> + rel · (1 + max |reference|).</summary>
    public void Compare(string op, string shape, Buffer p, double rel, double absolute = 0)
    {
        double err = 0, scale = 0;
        if (p.IsInt)
        {
            var a = new int[p.Length]; var b = new int[p.Length];
            Device.Download(p.D, a); Reference.Download(p.R, b);
            for (int i = 0; i < a.Length; i++) err = Math.Max(err, Math.Abs((double)a[i] - b[i]));
        }
        else
        {
            var a = new float[p.Length]; var b = new float[p.Length];
            Device.Download(p.D, a); Reference.Download(p.R, b);
            for (int i = 0; i < a.Length; i++)
            {
                double e = Math.Abs((double)a[i] - b[i]);
                if (double.IsNaN(e)) { err = double.NaN; break; }
                err = Math.Max(err, e);
                scale = Math.Max(scale, Math.Abs(b[i]));
            }
        }
        Record(op, shape, err, absolute + rel * (1 + scale));
    }

    /// <summary>Records an outcome computed by the op itself (or a failure: NaN error).</summary>
    public void Record(string op, string shape, double maxAbsError, double tolerance) =>
        _results.Add(new CheckResult(Device.Name, Family, Version.Name, op, shape, maxAbsError, tolerance));
}
