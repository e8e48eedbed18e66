namespace ScratchNet.Models;

/// <summary>
/// The formal neuron of McCulloch and Pitts (1943): binary inputs xᵢ ∈ {0, 1}, weights wᵢ, a threshold θ, and
///     y = H(w·x − θ),   H(u) = 1 if u > 0 else 0   (the Heaviside step).
/// It fires (y = 1) when the weighted sum of its inputs exceeds the threshold.
///
/// Computed with the engine on any device: for a batch X [N, n] of input rows, y = F.Step(F.Linear(X, W, b)) with
/// W = [w] ([1, n]) and b = [−θ]. F.Linear is y = X·Wᵀ + b (kernels/gemm/), F.Step is H (kernels/activation/).
/// With the lecture's weights (integers and halves) every value is exact in float32.
/// </summary>
public sealed class FormalNeuron
{
    /// <summary>A neuron y = H(w·x − θ) with <paramref name="weights"/> (copied; at least one) and threshold
    /// <paramref name="threshold"/>, all finite; <paramref name="device"/> (default cpu) is where <see cref="Fire"/> runs.</summary>
    public FormalNeuron(float[] weights, float threshold, Device? device = null)
    {
        if (weights.Length == 0) throw new ArgumentException("FormalNeuron: needs at least one input weight");
        if (weights.Any(w => !float.IsFinite(w)) || !float.IsFinite(threshold))
            throw new ArgumentException($"FormalNeuron: weights and threshold must be finite, got w = [{string.Join(", ", weights)}], θ = {threshold}");
        Weights = (float[])weights.Clone();
        Threshold = threshold;
        Device = device ?? Device.Cpu;
    }

    /// <summary>w: one weight per input, in input order.</summary>
    public IReadOnlyList<float> Weights { get; }
    /// <summary>θ: the neuron fires when w·x exceeds it (strictly).</summary>
    public float Threshold { get; }
    /// <summary>Where <see cref="Fire"/> computes; <see cref="Sum"/> and <see cref="Forward"/> run on their input's device.</summary>
    public Device Device { get; }
    /// <summary>n, the number of inputs (the length of <see cref="Weights"/>).</summary>
    public int Inputs => Weights.Count;

    /// <summary>The pre-activation u = X·wᵀ − θ for a batch X [N, n] → [N, 1].</summary>
    public Tensor Sum(Tensor x)
    {
        CheckBinary(x, Inputs, "FormalNeuron");
        var w = Tensor.FromArray(Weights.ToArray(), [1, Inputs], x.Device);
        var b = Tensor.FromArray([-Threshold], [1], x.Device);
        return F.Linear(x, w, b);
    }

    /// <summary>y = H(X·wᵀ − θ) for a batch of binary rows X [N, n] → [N, 1] of 0/1.</summary>
    public Tensor Forward(Tensor x) => F.Step(Sum(x));

    /// <summary>The output for one row of binary inputs.</summary>
    public int Fire(params int[] inputs)
    {
        using var scope = new TensorScope();
        return (int)Forward(Gates.Rows([inputs], Inputs, Device)).Item();
    }

    /// <summary>The neuron as a formula, e.g. "H(x1 + x2 − 1.5)" or "H(−x1 + 0.5)".</summary>
    public override string ToString()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder("H(");
        for (int i = 0; i < Inputs; i++)
        {
            float w = Weights[i];
            string magnitude = Math.Abs(w) == 1f ? "" : Math.Abs(w).ToString(inv) + "·";
            sb.Append(i == 0 ? (w < 0 ? "−" : "") : (w < 0 ? " − " : " + ")).Append(magnitude).Append('x').Append(i + 1);
        }
        if (Threshold > 0) sb.Append(" − ").Append(Threshold.ToString(inv));
        else if (Threshold < 0) sb.Append(" + ").Append((-Threshold).ToString(inv));
        return sb.Append(')').ToString();
    }

    /// <summary>Throws unless x is [N, n] and holds only 0 and 1 (a formal neuron's inputs are binary).</summary>
    internal static void CheckBinary(Tensor x, int n, string who)
    {
        if (x.Dim != 2 || x.Shape[1] != n)
            throw new ArgumentException($"{who}: expected binary inputs [N, {n}], got {x.ShapeString}");
        var bad = x.ToArray().FirstOrDefault(v => v != 0f && v != 1f, 0f);
        if (bad != 0f)
            throw new ArgumentException($"{who}: inputs must be 0 or 1, got {bad}");
    }
}

/// <summary>One row of a truth table: the inputs and the output the network computed.</summary>
/// <param name="Inputs">The binary inputs x1 … xn.</param>
/// <param name="Output">The network's output, 0 or 1.</param>
public sealed record TruthRow(int[] Inputs, int Output);

/// <summary>A logic gate built from formal neurons, with the lecture's formula.</summary>
public sealed class LogicGate
{
    private readonly Func<Tensor, Tensor> _forward;

    internal LogicGate(string name, string formula, int arity, Func<int[], int> expected, Func<Tensor, Tensor> forward)
    {
        Name = name; Formula = formula; Arity = arity; Expected = expected; _forward = forward;
    }

    /// <summary>The gate's name: AND, AND (second form), OR, NOT or XOR.</summary>
    public string Name { get; }
    /// <summary>The network as the lecture writes it, e.g. "H(x1 + x2 − 1.5)".</summary>
    public string Formula { get; }
    /// <summary>Number of binary inputs: 1 for NOT, 2 for the others.</summary>
    public int Arity { get; }
    /// <summary>The Boolean function the gate is meant to compute (the reference for tests).</summary>
    public Func<int[], int> Expected { get; }

    /// <summary>Outputs [N, 1] for binary input rows [N, Arity].</summary>
    public Tensor Forward(Tensor x)
    {
        FormalNeuron.CheckBinary(x, Arity, Name);
        return _forward(x);
    }

    /// <summary>All 2ⁿ input rows (in binary counting order: 00, 01, 10, 11) run as one batch on the device.</summary>
    public IReadOnlyList<TruthRow> TruthTable(Device? device = null)
    {
        var rows = Gates.AllInputs(Arity);
        using var scope = new TensorScope();
        var y = Forward(Gates.Rows(rows, Arity, device ?? Device.Cpu)).ToArray();
        return rows.Select((r, i) => new TruthRow(r, (int)y[i])).ToList();
    }
}

/// <summary>
/// The lecture's gates, each a network of formal neurons with exactly these parameters:
///   AND          H(x1 + x2 − 1.5)
///   AND (second) H(5·x1 + 5·x2 − 9)
///   OR           H(x1 + x2 − 0.5)
///   NOT          H(−x1 + 0.5)
///   XOR          H(x1 + x2 − 2·H(x1 + x2 − 1.5) − 0.5)   (three layers: inputs, an AND neuron, the output neuron)
/// The XOR output neuron receives x1 and x2 directly and the AND neuron's output h with weight −2: its
/// pre-activation is computed as Linear(x, [1, 1], −0.5) + Linear(h, [−2]) and then stepped.
/// </summary>
public static class Gates
{
    /// <summary>AND as one neuron, H(x1 + x2 − 1.5), on <paramref name="device"/> (default cpu).</summary>
    public static LogicGate And(Device? device = null) => Single("AND", new FormalNeuron([1f, 1f], 1.5f, device), v => v[0] & v[1]);

    /// <summary>AND in the lecture's second form, H(5·x1 + 5·x2 − 9): other weights, the same truth table.</summary>
    public static LogicGate And5(Device? device = null) => Single("AND (second form)", new FormalNeuron([5f, 5f], 9f, device), v => v[0] & v[1]);

    /// <summary>OR as one neuron, H(x1 + x2 − 0.5).</summary>
    public static LogicGate Or(Device? device = null) => Single("OR", new FormalNeuron([1f, 1f], 0.5f, device), v => v[0] | v[1]);

    /// <summary>NOT as one neuron with one input, H(−x1 + 0.5).</summary>
    public static LogicGate Not(Device? device = null) => Single("NOT", new FormalNeuron([-1f], -0.5f, device), v => 1 - v[0]);

    /// <summary>XOR as two layers, H(x1 + x2 − 2·H(x1 + x2 − 1.5) − 0.5): an AND neuron h, then an output neuron that sees x1, x2
    /// and h. No single neuron computes it (it is not linearly separable).</summary>
    public static LogicGate Xor(Device? device = null)
    {
        var hidden = new FormalNeuron([1f, 1f], 1.5f, device);   // h = AND(x1, x2)
        return new LogicGate("XOR", "H(x1 + x2 − 2·H(x1 + x2 − 1.5) − 0.5)", 2, v => v[0] ^ v[1], x =>
        {
            var h = hidden.Forward(x);                                                     // [N, 1]
            var direct = F.Linear(x, Tensor.FromArray([1f, 1f], [1, 2], x.Device), Tensor.FromArray([-0.5f], [1], x.Device));
            var fromH = F.Linear(h, Tensor.FromArray([-2f], [1, 1], x.Device), null);
            return F.Step(F.Add(direct, fromH));                                          // H(x1 + x2 − 0.5 − 2h)
        });
    }

    /// <summary>AND, AND (second form), OR, NOT, XOR.</summary>
    public static IReadOnlyList<LogicGate> All(Device? device = null) => [And(device), And5(device), Or(device), Not(device), Xor(device)];

    private static LogicGate Single(string name, FormalNeuron n, Func<int[], int> expected) =>
        new(name, n.ToString(), n.Inputs, expected, n.Forward);

    /// <summary>The 2ⁿ binary rows in counting order (for n = 2: 00, 01, 10, 11).</summary>
    public static int[][] AllInputs(int n) =>
        Enumerable.Range(0, 1 << n).Select(k => Enumerable.Range(0, n).Select(i => (k >> (n - 1 - i)) & 1).ToArray()).ToArray();

    /// <summary>Binary rows as a float tensor [N, n] on a device.</summary>
    public static Tensor Rows(int[][] rows, int n, Device device)
    {
        foreach (var r in rows)
        {
            if (r.Length != n) throw new ArgumentException($"Gates: expected rows of {n} inputs, got a row of {r.Length}");
            if (r.Any(v => v is not (0 or 1))) throw new ArgumentException($"Gates: inputs must be 0 or 1, got [{string.Join(", ", r)}]");
        }
        return Tensor.FromArray(rows.SelectMany(r => r.Select(v => (float)v)).ToArray(), [rows.Length, n], device);
    }
}
