namespace ScratchNet.nn;

/// <summary>
/// Parameter initialisation (torch.nn.init), and the default generator layers draw from when none is given.
///
/// PyTorch initialises Linear and Conv2d with kaiming_uniform_(w, a=√5):
///   gain  = √(2 / (1 + a²)) = √(1/3)                    (leaky_relu gain with negative slope a)
///   bound = gain · √(3 / fan_in) = 1/√fan_in              → w ~ U(−1/√fan_in, 1/√fan_in)
/// and the bias with U(−1/√fan_in, 1/√fan_in). fan_in is the number of inputs of one output unit:
/// in_features for Linear, in_channels·kh·kw for Conv2d.
/// </summary>
public static class Init
{
    private static readonly object Lock = new();
    private static Generator _default = new(0x5C2A7C4E7UL);

    /// <summary>
    /// The generator used by layers created without one (the analogue of torch's default generator). It is seeded,
    /// so a program gives the same initial weights every run; reseed it with <see cref="ManualSeed"/>.
    /// </summary>
    public static Generator DefaultGenerator
    {
        get { lock (Lock) return _default; }
        set { lock (Lock) _default = value ?? throw new ArgumentNullException(nameof(value)); }
    }

    /// <summary>torch.manual_seed: reseeds the default generator.</summary>
    public static void ManualSeed(ulong seed) => DefaultGenerator = new Generator(seed);

    /// <summary>
    /// (fan_in, fan_out) of a weight shape, as torch.nn.init._calculate_fan_in_and_fan_out: for [out, in, k...]
    /// fan_in = in·Πk and fan_out = out·Πk.
    /// </summary>
    public static (int FanIn, int FanOut) FanInAndFanOut(int[] shape)
    {
        if (shape.Length < 2)
            throw new ArgumentException($"Init: fan in and fan out need a weight with at least 2 dimensions, got shape {Check.Fmt(shape)}");
        int receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Gain of leaky_relu with negative slope a: √(2 / (1 + a²)) (torch.nn.init.calculate_gain).</summary>
    public static double LeakyReluGain(double a) => Math.Sqrt(2.0 / (1.0 + a * a));

    /// <summary>Bound of kaiming_uniform_: gain·√(3/fan_in). With a = √5 this is 1/√fan_in.</summary>
    public static float KaimingUniformBound(int fanIn, double a) => (float)(LeakyReluGain(a) * Math.Sqrt(3.0 / fanIn));

    /// <summary>A new tensor drawn from U(low, high) with <paramref name="generator"/> (the default generator if null).</summary>
    public static Tensor Uniform(int[] shape, float low, float high, Generator? generator, Device? device)
    {
        var g = generator ?? DefaultGenerator;
        lock (g) return Tensor.Uniform(shape, low, high, g, device ?? Device.Cpu);
    }

    /// <summary>torch.nn.init.kaiming_uniform_(w, a): a new weight of <paramref name="shape"/> drawn from U(−bound, bound).</summary>
    public static Tensor KaimingUniform(int[] shape, double a, Generator? generator, Device? device)
    {
        float bound = KaimingUniformBound(FanInAndFanOut(shape).FanIn, a);
        return Uniform(shape, -bound, bound, generator, device);
    }

    /// <summary>PyTorch's default bias init for a layer with this fan_in: U(−1/√fan_in, 1/√fan_in).</summary>
    public static Tensor DefaultBias(int size, int fanIn, Generator? generator, Device? device)
    {
        float bound = (float)(1.0 / Math.Sqrt(fanIn));
        return Uniform([size], -bound, bound, generator, device);
    }
}
