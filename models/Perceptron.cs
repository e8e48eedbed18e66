namespace ScratchNet.Models;

/// <summary>The outcome of <see cref="Perceptron.Train"/>.</summary>
/// <param name="Converged">An epoch went by with no error.</param>
/// <param name="Epochs">Epochs run (including the error-free one when it converged).</param>
/// <param name="ErrorsPerEpoch">Misclassified rows in each epoch.</param>
/// <param name="Weights">The weights w after training.</param>
/// <param name="Threshold">The threshold θ after training.</param>
public sealed record PerceptronResult(bool Converged, int Epochs, IReadOnlyList<int> ErrorsPerEpoch, float[] Weights, float Threshold)
{
    /// <summary>The distinct error counts of the last epochs (for XOR: where the rule stays stuck).</summary>
    public IReadOnlyList<int> StuckAt(int lastEpochs = 4) => ErrorsPerEpoch.TakeLast(lastEpochs).Distinct().Order().ToList();
}

/// <summary>
/// Rosenblatt's perceptron (1958): a formal neuron y = H(w·x − θ) whose weights are learned. For each training row
/// (x, t), online, in a fixed order:
///     y = H(w·x − θ)
///     w ← w + η·(t − y)·x
///     θ ← θ − η·(t − y)
/// Nothing changes when the answer is right; a wrong answer moves the separating line w·x = θ towards the row.
/// The convergence theorem: if a line separates the 1-rows from the 0-rows (AND, OR, NOT), the rule finds one in
/// finitely many updates. XOR is not linearly separable, so it never stops making errors.
///
/// The neuron's output is computed by the engine (<see cref="FormalNeuron"/>: F.Linear + F.Step on the chosen device);
/// the update of the n + 1 numbers is done on the host. Weights start at 0; with the default η = 0.25 (a power of two)
/// every weight is a multiple of 1/4, exact in float32, so a run is bit-identical on every device.
/// </summary>
public sealed class Perceptron
{
    private readonly float[] _w;

    /// <summary>A perceptron with <paramref name="inputs"/> inputs, weights and threshold 0, learning rate
    /// <paramref name="learningRate"/> (finite and positive), evaluated on <paramref name="device"/> (default cpu).</summary>
    public Perceptron(int inputs, float learningRate = 0.25f, Device? device = null)
    {
        Check.Positive("Perceptron", "inputs", inputs);
        if (!(learningRate > 0f) || !float.IsFinite(learningRate))
            throw new ArgumentException($"Perceptron: learning rate must be positive, got {learningRate}");
        _w = new float[inputs];
        LearningRate = learningRate;
        Device = device ?? Device.Cpu;
    }

    /// <summary>η, the step of every update.</summary>
    public float LearningRate { get; }
    /// <summary>Where the neuron's output is computed; the updates happen on the host.</summary>
    public Device Device { get; }
    /// <summary>A copy of the current weights w.</summary>
    public float[] Weights => (float[])_w.Clone();
    /// <summary>The current threshold θ.</summary>
    public float Threshold { get; private set; }

    /// <summary>The current neuron y = H(w·x − θ).</summary>
    public FormalNeuron Neuron => new(_w, Threshold, Device);

    /// <summary>The current neuron's output, 0 or 1, for one row of binary inputs <paramref name="x"/>.</summary>
    public int Predict(params int[] x) => Neuron.Fire(x);

    /// <summary>Applies the learning rule until an epoch has no error, or for at most maxEpochs epochs.</summary>
    public PerceptronResult Train(int[][] inputs, int[] targets, int maxEpochs = 100)
    {
        Check.Positive("Perceptron.Train", "maxEpochs", maxEpochs);
        if (inputs.Length != targets.Length || inputs.Length == 0)
            throw new ArgumentException($"Perceptron.Train: {inputs.Length} input rows and {targets.Length} targets");
        if (targets.Any(t => t is not (0 or 1)))
            throw new ArgumentException("Perceptron.Train: targets must be 0 or 1");
        using (new TensorScope()) Gates.Rows(inputs, _w.Length, Device);   // validates shapes and 0/1 values

        var errors = new List<int>();
        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            int wrong = 0;
            for (int r = 0; r < inputs.Length; r++)
            {
                int y = Predict(inputs[r]);
                int delta = targets[r] - y;                       // +1, 0 or −1
                if (delta == 0) continue;
                wrong++;
                for (int i = 0; i < _w.Length; i++) _w[i] += LearningRate * delta * inputs[r][i];
                Threshold -= LearningRate * delta;
            }
            errors.Add(wrong);
            if (wrong == 0) return new PerceptronResult(true, epoch, errors, Weights, Threshold);
        }
        return new PerceptronResult(false, maxEpochs, errors, Weights, Threshold);
    }

    /// <summary>Trains a fresh perceptron on the truth table of a Boolean function of n inputs.</summary>
    public static PerceptronResult Learn(Func<int[], int> function, int inputs, int maxEpochs = 100, float learningRate = 0.25f, Device? device = null)
    {
        var rows = Gates.AllInputs(inputs);
        return new Perceptron(inputs, learningRate, device).Train(rows, rows.Select(function).ToArray(), maxEpochs);
    }
}
