using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Models;

/// <summary>
/// A multilayer perceptron with one hidden layer, as a Sequential:
///     0: Linear(inputs, hidden)   1: Tanh or Sigmoid   2: Linear(hidden, outputs)   3: Sigmoid
/// The output sigmoid gives a value in (0, 1), read as "1" when above 0.5. Parameter names: 0.weight, 0.bias,
/// 2.weight, 2.bias. Replacing the step of the formal neuron by a smooth activation is what makes the network
/// differentiable, so it can be trained by gradient descent through autograd.
/// </summary>
public sealed class Mlp : Sequential
{
    /// <summary>An MLP inputs → hidden → outputs with a tanh or sigmoid hidden layer (<paramref name="activation"/>,
    /// case-insensitive; anything else is an ArgumentException), weights drawn from <paramref name="generator"/> on
    /// <paramref name="device"/>.</summary>
    public Mlp(int inputs = 2, int hidden = 4, int outputs = 1, string activation = "tanh", Generator? generator = null, Device? device = null)
        : base(new Linear(inputs, hidden, generator: generator, device: device),
               Activation(activation),
               new Linear(hidden, outputs, generator: generator, device: device),
               new Sigmoid())
    {
        Inputs = inputs; Hidden = hidden; Outputs = outputs; ActivationName = activation.ToLowerInvariant();
    }

    /// <summary>Width of the input layer.</summary>
    public int Inputs { get; }
    /// <summary>Neurons in the hidden layer.</summary>
    public int Hidden { get; }
    /// <summary>Width of the output layer, each output in (0, 1).</summary>
    public int Outputs { get; }
    /// <summary>The hidden activation, lower case: "tanh" or "sigmoid".</summary>
    public string ActivationName { get; }

    private static Module Activation(string name) => name.ToLowerInvariant() switch
    {
        "tanh" => new Tanh(),
        "sigmoid" => new Sigmoid(),
        _ => throw new ArgumentException($"Mlp: activation must be 'tanh' or 'sigmoid', got '{name}'"),
    };
}

/// <summary>The outcome of <see cref="XorTraining.Train"/>.</summary>
/// <param name="Solved">Every final output is on the right side of 0.5.</param>
/// <param name="Epochs">Full-batch steps taken (fewer than asked when every output came within 0.2 of its target).</param>
/// <param name="FinalLoss">The mean squared error after the last step.</param>
/// <param name="Outputs">The final outputs for the rows 00, 01, 10, 11.</param>
/// <param name="LossHistory">The loss of each step, computed before its update.</param>
public sealed record XorResult(bool Solved, int Epochs, float FinalLoss, float[] Outputs, IReadOnlyList<float> LossHistory);

/// <summary>
/// Learning XOR, the function a single perceptron cannot represent, with a 2-h-1 MLP and gradient descent.
///
/// Loss: mean squared error between the sigmoid outputs y and the targets t over the four rows,
///     L = (1/4) Σ (y − t)²,
/// built from engine ops: d = y − t (F.Add, F.Scale), F.Mul(d, d), F.Mean. (MSE rather than binary cross-entropy
/// because it needs no logarithm: every step of it is an element-wise op of kernels/elementwise/ plus the mean of
/// kernels/reduce/.) Each epoch is one full-batch step of plain SGD (optim.SGD, no momentum).
/// </summary>
public static class XorTraining
{
    /// <summary>The XOR truth table's inputs as a row-major [4, 2] matrix: rows 00, 01, 10, 11.</summary>
    public static readonly float[] Inputs = [0, 0, 0, 1, 1, 0, 1, 1];
    /// <summary>XOR of each input row: 0, 1, 1, 0.</summary>
    public static readonly float[] Targets = [0, 1, 1, 0];

    /// <summary>MSE = mean((y − t)²) from F.* ops.</summary>
    public static Tensor MseLoss(Tensor y, Tensor t)
    {
        var d = y - t;
        return F.Mean(F.Mul(d, d));
    }

    /// <summary>
    /// Trains <paramref name="model"/> on the XOR truth table for up to <paramref name="epochs"/> full-batch steps,
    /// stopping early once every output is on the right side of 0.5 by a margin (|y − t| &lt; 0.2 on all rows).
    /// </summary>
    public static XorResult Train(Mlp model, int epochs = 5000, float learningRate = 0.5f)
    {
        Check.Positive("XorTraining", "epochs", epochs);
        if (model.Inputs != 2 || model.Outputs != 1)
            throw new ArgumentException($"XorTraining: needs a 2-input, 1-output MLP, got {model.Inputs}-{model.Hidden}-{model.Outputs}");
        var device = model.Device;
        var x = Tensor.FromArray(Inputs, [4, 2], device).Unscoped();
        var t = Tensor.FromArray(Targets, [4, 1], device).Unscoped();
        var opt = new SGD(model.Parameters(), learningRate);
        var history = new List<float>();
        float[] outputs = [];
        int epoch = 0;
        try
        {
            model.Train();
            for (epoch = 1; epoch <= epochs; epoch++)
            {
                using var scope = new TensorScope();
                opt.ZeroGrad();
                var y = model.Forward(x);
                var loss = MseLoss(y, t);
                loss.Backward();
                opt.Step();
                float l = loss.Item();
                history.Add(l);
                outputs = y.ToArray();
                if (Solved(outputs, 0.2f)) break;
            }
            epoch = Math.Min(epoch, epochs);
            using (var scope = new TensorScope())
            using (Tensor.NoGrad())
            {
                outputs = model.Forward(x).ToArray();
                float final = MseLoss(Tensor.FromArray(outputs, [4, 1], device), t).Item();
                return new XorResult(Solved(outputs, 0.5f), epoch, final, outputs, history);
            }
        }
        finally
        {
            x.Dispose();
            t.Dispose();
        }
    }

    private static bool Solved(float[] y, float margin) => y.Select((v, i) => Math.Abs(v - Targets[i]) < margin).All(ok => ok);
}
