using System.CommandLine;
using System.Globalization;
using ScratchNet.Models;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet neuron`: the truth tables of the lecture's gates computed by formal neurons on a device, then
/// Rosenblatt's perceptron rule learning AND, OR and NOT and failing on XOR (and, with --mlp, an MLP solving XOR).
/// </summary>
public sealed class NeuronCommand : ICliCommand
{
    public int Order => 20;

    public Command Build()
    {
        var device = CommonOptions.Device();
        var epochs = new Option<int>("--epochs") { Description = "Maximum epochs of the perceptron rule", DefaultValueFactory = _ => 100 };
        var mlp = new Option<bool>("--mlp") { Description = "Also train an MLP on XOR by gradient descent" };
        var hidden = new Option<int>("--hidden") { Description = "Hidden units of the --mlp network (2 or 4 in the lecture)", DefaultValueFactory = _ => 4 };
        var activation = new Option<string>("--activation") { Description = "Hidden activation of the --mlp network", DefaultValueFactory = _ => "tanh" };
        activation.AcceptOnlyFromAmong("tanh", "sigmoid");
        var seed = CommonOptions.Seed();
        var cmd = new Command("neuron", "Formal neurons (McCulloch–Pitts): the gates' truth tables, then the perceptron learning rule on AND, OR, NOT and XOR")
        {
            device, epochs, mlp, hidden, activation, seed,
        };
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var d = Device.Get(parse.GetValue(device)!);
            int maxEpochs = Check.Positive("neuron", "--epochs", parse.GetValue(epochs));
            var inv = CultureInfo.InvariantCulture;

            output.WriteLine($"Formal neurons (McCulloch & Pitts 1943) on {d}: y = H(w·x − θ), H(u) = 1 if u > 0 else 0");
            foreach (var gate in Gates.All(d))
            {
                output.WriteLine();
                output.WriteLine($"{gate.Name}: {gate.Formula}");
                var names = Enumerable.Range(1, gate.Arity).Select(i => $"x{i}");
                output.WriteLine($"  {string.Join(" ", names)} | y");
                foreach (var row in gate.TruthTable(d))
                    output.WriteLine($"  {string.Join(" ", row.Inputs.Select(v => v.ToString().PadLeft(2)))} | {row.Output}");
            }

            output.WriteLine();
            output.WriteLine("Perceptron learning rule (Rosenblatt 1958): w ← w + η(t − y)x, θ ← θ − η(t − y); η = 0.25, w = 0, θ = 0 at the start");
            var tasks = new (string Name, int Arity, Func<int[], int> F)[]
            {
                ("AND", 2, v => v[0] & v[1]), ("OR", 2, v => v[0] | v[1]), ("NOT", 1, v => 1 - v[0]), ("XOR", 2, v => v[0] ^ v[1]),
            };
            foreach (var (name, arity, f) in tasks)
            {
                var r = Perceptron.Learn(f, arity, maxEpochs, device: d);
                string errors = string.Join(" ", r.ErrorsPerEpoch.Take(12)) + (r.ErrorsPerEpoch.Count > 12 ? " ..." : "");
                if (r.Converged)
                    output.WriteLine($"  {name,-3}: converged after {r.Epochs} epochs to {new FormalNeuron(r.Weights, r.Threshold)} (errors per epoch: {errors})");
                else
                    output.WriteLine($"  {name,-3}: no convergence after {r.Epochs} epochs: stuck at {string.Join(" / ", r.StuckAt())} errors per epoch " +
                                     $"(errors per epoch: {errors}); no line w·x = θ separates XOR's 1s from its 0s");
            }

            if (parse.GetValue(mlp))
            {
                output.WriteLine();
                int h = Check.Positive("neuron", "--hidden", parse.GetValue(hidden));
                string act = parse.GetValue(activation)!;
                float lr = act == "sigmoid" ? 2f : 0.5f;   // sigmoid's derivative is at most 1/4: a larger step
                var model = new Mlp(2, h, 1, act, new Generator(parse.GetValue(seed)), d);
                var res = XorTraining.Train(model, epochs: 20000, learningRate: lr);
                output.WriteLine($"MLP 2-{h}-1 ({act}, sigmoid output), MSE loss, full-batch SGD lr {lr.ToString(inv)}, seed {parse.GetValue(seed)}: " +
                                 (res.Solved ? $"XOR solved after {res.Epochs} epochs" : $"XOR not solved after {res.Epochs} epochs") +
                                 $", loss {res.FinalLoss.ToString("G3", inv)}, outputs for 00 01 10 11: " +
                                 string.Join(" ", res.Outputs.Select(v => v.ToString("F3", inv))));
            }
            return 0;
        });
        return cmd;
    }
}
