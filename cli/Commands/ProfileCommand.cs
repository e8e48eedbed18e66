using ScratchNet.Kernels;
using System.CommandLine;
using System.Globalization;
using ScratchNet.Models;
using ScratchNet.Bench;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet profile MODEL`: one training step (forward, backward, SGD) split into its layers and ops, each
/// timed with a device synchronisation around it (Profiler), averaged over a few steps after a warm-up step.
/// </summary>
public sealed class ProfileCommand : ICliCommand
{
    public int Order => 44;

    public Command Build()
    {
        var model = CommonOptions.Model();
        var device = CommonOptions.Device();
        var batch = new Option<int>("--batch-size", "-b") { Description = "Images per step", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "Steps to average (after one warm-up step)", DefaultValueFactory = _ => 5 };
        var kernels = new KernelFlags();
        var cmd = new Command("profile", "Time one training step of a model layer by layer and op by op (synchronised), on random data")
        {
            model, device, batch, steps,
        };
        kernels.AddTo(cmd);
        CliApp.SetAction(cmd, (parse, output, _) =>
        {
            var dev = Device.Get(parse.GetValue(device)!, kernels.Read(parse));
            int b = parse.GetValue(batch), n = parse.GetValue(steps);
            if (b < 1 || n < 1) throw new ArgumentException($"profile: --batch-size and --steps must be >= 1, got {b} and {n}");
            var info = ModelRegistry.Get(parse.GetValue(model)!);
            var (net, opt, x, y) = TrainingSetup.Create(info.Name, b, dev);
            void Step()
            {
                using var scope = new TensorScope();
                Profiler.Time("zero_grad", dev, opt.ZeroGrad);
                var logits = net.Forward(x);
                var loss = Profiler.Time("fwd cross_entropy", dev, () => F.CrossEntropy(logits, y));
                loss.Backward();
                Profiler.Time("sgd step", dev, opt.Step);
            }
            Step(); dev.Synchronize();                       // warm-up: kernels compile, buffers fill the cache
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < n; i++) Step();
            dev.Synchronize();
            double plain = sw.Elapsed.TotalSeconds / n;

            Profiler.Reset();
            Profiler.Enabled = true;
            try { for (int i = 0; i < n; i++) Step(); }
            finally { Profiler.Enabled = false; }
            var rows = Profiler.Results();
            double total = rows.Sum(r => r.Seconds) / n;
            var inv = CultureInfo.InvariantCulture;
            output.WriteLine($"{info.Name} training step, batch {b}, on {dev.Name} ({dev.Backend.Description})");
            output.WriteLine($"unprofiled: {(plain * 1e3).ToString("F2", inv)} ms/step = {(b / plain).ToString("F0", inv)} img/s; " +
                             $"profiled (a sync around every op): {(total * 1e3).ToString("F2", inv)} ms/step");
            output.WriteLine();
            int w = Math.Max(48, rows.Max(r => r.Name.Length));
            output.WriteLine($"{"op".PadRight(w)} {"ms/step",9} {"share",7}");
            foreach (var (name, s, calls) in rows)
                output.WriteLine($"{name.PadRight(w)} {(s / n * 1e3).ToString("F3", inv),9} {(s / n / total * 100).ToString("F1", inv),6}%");
            if (dev.Backend is IlgpuBackend il && il.Tuned.Count > 0)
            {
                // What ConvAlgorithm = Auto measured in the warm-up step, per conv pass and shape.
                output.WriteLine();
                output.WriteLine($"conv algorithms chosen by Auto (best of 3 runs each, ms):");
                foreach (var t in il.Tuned)
                    output.WriteLine($"  {t.Pass,-17} {t.Geometry}: im2col {t.Im2ColMs.ToString("F3", inv)}, implicit {t.ImplicitMs.ToString("F3", inv)} -> {t.Algorithm}");
            }
            return 0;
        });
        return cmd;
    }
}
