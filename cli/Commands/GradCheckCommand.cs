using System.CommandLine;
using ScratchNet.Models;
using ScratchNet.nn;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet gradcheck &lt;model&gt;`: autograd gradients of a model against central finite differences
/// (nn/GradCheck.cs), for the input and every parameter, on a chosen device. Exit code 1 when a tensor fails.
/// </summary>
public sealed class GradCheckCommand : ICliCommand
{
    public int Order => 50;

    public Command Build()
    {
        var model = CommonOptions.Model();
        var device = CommonOptions.Device();
        var seed = CommonOptions.Seed();
        var classes = CommonOptions.Classes();
        var samples = new Option<int>("--samples", "-s") { Description = "Coordinates compared per tensor", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch", "-b") { Description = "Batch size of the random input", DefaultValueFactory = _ => 1 };
        var only = new Option<string[]>("--only")
        {
            Description = "Check only the tensors whose name starts with one of these prefixes (input, features.0, classifier.6.bias, ...)",
            AllowMultipleArgumentsPerToken = true,
        };
        var eps = new Option<float>("--eps") { Description = "Finite-difference step added to one float32 coordinate", DefaultValueFactory = _ => 1e-3f };
        var cmd = new Command("gradcheck", "Compare a model's autograd gradients with central finite differences (input and every parameter, sampled coordinates)")
        {
            model, device, samples, batch, eps, only, seed, classes,
        };
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            var d = Device.Get(parse.GetValue(device)!);
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            int n = Check.Positive("gradcheck", "--batch", parse.GetValue(batch));
            var gen = new Generator(parse.GetValue(seed));
            var m = info.Create(parse.GetValue(classes), gen, d);
            var prefixes = parse.GetValue(only) ?? [];
            var input = Tensor.Uniform([n, .. info.InputShape], -1f, 1f, gen, d).Unscoped();
            output.WriteLine($"gradcheck {info.Name} on {d}: input [{n}, {string.Join(", ", info.InputShape)}], {m.ParameterCount:N0} parameters");
            var report = GradCheck.Run(m, input, new GradCheckOptions
            {
                SamplesPerTensor = parse.GetValue(samples),
                Eps = parse.GetValue(eps),
                Seed = parse.GetValue(seed) + 1,
                Include = prefixes.Length == 0 ? null : name => prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)),
            });
            if (report.Tensors.Count == 0)
                throw new ArgumentException($"gradcheck: --only {string.Join(" ", prefixes)} matches no tensor of {info.Name} " +
                                            $"(names: input, {string.Join(", ", m.NamedParameters().Select(p => p.Name))})");
            output.WriteLine(report.ToString());
            if (report.Passed) return 0;
            error.WriteLine($"error: gradcheck failed for {string.Join(", ", report.Tensors.Where(t => !t.Passed).Select(t => t.Name))}");
            return 1;
        });
        return cmd;
    }
}
