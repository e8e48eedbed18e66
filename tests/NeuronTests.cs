using ScratchNet.Models;

namespace ScratchNet.Tests;

// Formal neurons, the lecture's gates, Rosenblatt's perceptron rule and the MLP that learns XOR.
public class NeuronTests
{
    /// <summary>Every row of every gate's truth table, as the lecture gives them (inputs → output).</summary>
    public static IEnumerable<object[]> GateRows()
    {
        var tables = new (string Gate, int[][] Rows)[]
        {
            ("AND", [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]]),
            ("AND (second form)", [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]]),
            ("OR", [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]]),
            ("NOT", [[0, 1], [1, 0]]),
            ("XOR", [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]]),
        };
        foreach (var device in TestUtil.Devices().Select(d => (string)d[0]))
            foreach (var (gate, rows) in tables)
                foreach (var row in rows)
                    yield return [device, gate, row[..^1], row[^1]];
    }

    private static LogicGate Gate(string name, Device d) => Gates.All(d).Single(g => g.Name == name);

    [Theory]
    [MemberData(nameof(GateRows))]
    public void Gate_TruthTableRow(string device, string gate, int[] inputs, int expected)
    {
        var d = Device.Get(device);
        var g = Gate(gate, d);
        using var scope = new TensorScope();
        var y = g.Forward(Gates.Rows([inputs], g.Arity, d)).ToArray();
        Assert.Equal(expected, (int)y.Single());
        Assert.Equal(expected, g.Expected(inputs));
        var row = g.TruthTable(d).Single(r => r.Inputs.SequenceEqual(inputs));
        Assert.Equal(expected, row.Output);
    }

    [Fact]
    public void Gates_HaveTheLectureFormulas()
    {
        var f = Gates.All().ToDictionary(g => g.Name, g => g.Formula);
        Assert.Equal("H(x1 + x2 − 1.5)", f["AND"]);
        Assert.Equal("H(5·x1 + 5·x2 − 9)", f["AND (second form)"]);
        Assert.Equal("H(x1 + x2 − 0.5)", f["OR"]);
        Assert.Equal("H(−x1 + 0.5)", f["NOT"]);
        Assert.Equal("H(x1 + x2 − 2·H(x1 + x2 − 1.5) − 0.5)", f["XOR"]);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void FormalNeuron_StepIsStrict_AndPreActivationIsWxMinusTheta(string device)
    {
        var d = Device.Get(device);
        var n = new FormalNeuron([1f, 1f], 1f, d);   // u = x1 + x2 − 1: exactly 0 for one active input, and H(0) = 0
        Assert.Equal(0, n.Fire(0, 1));
        Assert.Equal(0, n.Fire(1, 0));
        Assert.Equal(1, n.Fire(1, 1));
        using var scope = new TensorScope();
        Assert.Equal(new[] { -1f, 0f, 0f, 1f }, n.Sum(Gates.Rows(Gates.AllInputs(2), 2, d)).ToArray());
        Assert.Equal(d, n.Forward(Gates.Rows([[1, 1]], 2, d)).Device);
    }

    [Fact]
    public void FormalNeuron_RejectsNonBinaryOrMisshapenInputs()
    {
        var n = new FormalNeuron([1f, 1f], 1.5f);
        Assert.Contains("0 or 1", Assert.Throws<ArgumentException>(() => n.Forward(Tensor.FromArray([0.5f, 1f], [1, 2]))).Message);
        Assert.Contains("[N, 2]", Assert.Throws<ArgumentException>(() => n.Forward(Tensor.FromArray([1f, 1f, 0f], [1, 3]))).Message);
        Assert.Throws<ArgumentException>(() => n.Fire(2, 0));
        Assert.Throws<ArgumentException>(() => n.Fire(1));
        Assert.Throws<ArgumentException>(() => new FormalNeuron([], 0f));
        Assert.Throws<ArgumentException>(() => new FormalNeuron([float.NaN], 0f));
        Assert.Throws<ArgumentException>(() => Gates.Xor().Forward(Tensor.FromArray([1f, 3f], [1, 2])));
    }

    public static IEnumerable<object[]> SeparableFunctions() =>
        from device in TestUtil.Devices().Select(d => (string)d[0])
        from f in new[] { "AND", "OR", "NOT" }
        select new object[] { device, f };

    private static (int Arity, Func<int[], int> F) Function(string name) => name switch
    {
        "AND" => (2, v => v[0] & v[1]),
        "OR" => (2, v => v[0] | v[1]),
        "NOT" => (1, v => 1 - v[0]),
        "XOR" => (2, v => v[0] ^ v[1]),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(SeparableFunctions))]
    public void Perceptron_ConvergesOnLinearlySeparableFunctions(string device, string function)
    {
        var d = Device.Get(device);
        var (arity, f) = Function(function);
        var r = Perceptron.Learn(f, arity, device: d);
        Assert.True(r.Converged, $"{function}: errors per epoch {string.Join(" ", r.ErrorsPerEpoch)}");
        Assert.Equal(0, r.ErrorsPerEpoch[^1]);
        Assert.True(r.Epochs <= 10, $"{function} took {r.Epochs} epochs");
        var learned = new FormalNeuron(r.Weights, r.Threshold, d);
        foreach (var x in Gates.AllInputs(arity)) Assert.Equal(f(x), learned.Fire(x));
    }

    [Fact]
    public void Perceptron_KnownTrajectories_OnCpu()
    {
        // η = 0.25, w = θ = 0, rows in the order 00, 01, 10, 11 (exact in float32: weights are multiples of 1/4).
        var and = Perceptron.Learn(Function("AND").F, 2);
        Assert.Equal(new[] { 1, 3, 3, 2, 1, 0 }, and.ErrorsPerEpoch);
        Assert.Equal(new[] { 0.5f, 0.25f }, and.Weights);
        Assert.Equal(0.5f, and.Threshold);
        var not = Perceptron.Learn(Function("NOT").F, 1);
        Assert.Equal(new[] { 2, 1, 0 }, not.ErrorsPerEpoch);
        Assert.Equal(new[] { -0.25f }, not.Weights);
        Assert.Equal(-0.25f, not.Threshold);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Perceptron_NeverConvergesOnXor(string device)
    {
        var r = Perceptron.Learn(Function("XOR").F, 2, maxEpochs: 30, device: Device.Get(device));
        Assert.False(r.Converged);
        Assert.Equal(30, r.Epochs);
        Assert.Equal(30, r.ErrorsPerEpoch.Count);
        Assert.All(r.ErrorsPerEpoch, e => Assert.True(e > 0));
        // From epoch 3 on the weights cycle through the same four updates: 4 errors every epoch.
        Assert.Equal(new[] { 2, 3 }, r.ErrorsPerEpoch.Take(2));
        Assert.All(r.ErrorsPerEpoch.Skip(2), e => Assert.Equal(4, e));
        Assert.Equal(new[] { 4 }, r.StuckAt());
    }

    [Fact]
    public void Perceptron_RejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => new Perceptron(0));
        Assert.Throws<ArgumentException>(() => new Perceptron(2, learningRate: 0f));
        var p = new Perceptron(2);
        Assert.Throws<ArgumentException>(() => p.Train([[0, 1]], [1, 0]));
        Assert.Throws<ArgumentException>(() => p.Train([[0, 1]], [2]));
        Assert.Throws<ArgumentException>(() => p.Train([[0, 5]], [1]));
        Assert.Throws<ArgumentException>(() => p.Train([[0, 1]], [1], maxEpochs: 0));
    }

    [Theory]
    [InlineData("tanh", 4, 1UL)]
    [InlineData("sigmoid", 4, 2UL)]
    [InlineData("tanh", 2, 0UL)]      // 2-2-1 nets can also end in a local minimum (seeds 1, 3 and 5 do): the seed matters
    [InlineData("sigmoid", 2, 0UL)]
    public void Mlp_LearnsXor_WithAFixedSeed(string activation, int hidden, ulong seed)
    {
        var model = new Mlp(2, hidden, 1, activation, new Generator(seed));
        var r = XorTraining.Train(model, epochs: 20000, learningRate: activation == "sigmoid" ? 2f : 0.5f);
        Assert.True(r.Solved, $"{activation} 2-{hidden}-1 seed {seed}: outputs {string.Join(" ", r.Outputs)} after {r.Epochs} epochs, loss {r.FinalLoss}");
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(r.Outputs[i] - XorTraining.Targets[i]) < 0.5f);
        Assert.True(r.LossHistory[^1] < r.LossHistory[0]);
    }

    [Fact]
    public void Mlp_XorOnIlgpuCpu_MatchesCpu()
    {
        var results = new[] { "cpu", "ilgpu-cpu" }.Select(dev =>
        {
            var model = new Mlp(2, 4, 1, "tanh", new Generator(1), Device.Get(dev));
            return XorTraining.Train(model, epochs: 20);
        }).ToArray();
        Assert.Equal(results[0].Epochs, results[1].Epochs);
        TestUtil.AssertClose(results[0].LossHistory.ToArray(), results[1].LossHistory.ToArray(), 1e-5f, 1e-3f, "loss history");
    }

    [Fact]
    public void MseLoss_IsTheMeanSquaredError()
    {
        var y = Tensor.FromArray([0.2f, 0.9f, 0.6f, 0.1f], [4, 1]);
        var t = Tensor.FromArray(XorTraining.Targets, [4, 1]);
        Assert.Equal((0.04 + 0.01 + 0.16 + 0.01) / 4, XorTraining.MseLoss(y, t).Item(), 6);
    }
}
