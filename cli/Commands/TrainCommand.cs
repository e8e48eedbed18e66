using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using ScratchNet.Cli.Report;
using ScratchNet.Models.Training;
using ScratchNet.distributed;

namespace ScratchNet.Cli.Commands;

/// <summary>
/// `scratchnet train [alexnet|seedcnn|mlp]`: the main job. With no arguments it trains the lecture's AlexNet on
/// the embedded Fashion-MNIST subset (or the full set when Debian's dataset-fashion-mnist is installed) with the
/// lecture's recipe, on the best device, with a budget that fits the device:
///   - on a GPU, the full recipe (10 epochs);
///   - on a CPU, as many steps as fit in 8.5 minutes, then a final evaluation and the report, within 10 minutes;
///     it then says how to run the full training. The budget run trains without the random augmentation:
///     augmentation pays over 10 epochs but slows the first ones: without it 80 % test accuracy comes about twice as
///     early, within what a 2-core CPU trains in 10 minutes (bench/results/h100/accuracy). --augment keeps it.
/// Passing --epochs asks for exactly that many epochs with no budget, and the full recipe.
/// </summary>
public sealed class TrainCommand : ICliCommand
{
    public static readonly TimeSpan CpuTimeLimit = TimeSpan.FromMinutes(8.5);

    public int Order => 5;

    public Command Build()
    {
        var model = new Argument<string>("model") { Description = "Model to train: alexnet, seedcnn or mlp", DefaultValueFactory = _ => "alexnet" };
        model.AcceptOnlyFromAmong([.. TrainOptions.Models]);
        var data = CommonOptions.Data("Training data: fashion-mnist [PATH] (default: the full set if installed, else the embedded subset), mnist PATH, cifar10 PATH, or folder PATH (one subfolder per class)");
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: 10 on a GPU; on a CPU as many steps as fit in 8.5 minutes)" }.TrainRule();
        var batch = new Option<int>("--batch-size") { Description = $"Batch size (1 to {TrainOptions.MaxBatchSize})", DefaultValueFactory = _ => 64 }.TrainRule();
        var lr = new Option<float>("--lr") { Description = "Learning rate of SGD", DefaultValueFactory = _ => 0.01f }.TrainRule();
        var momentum = new Option<float>("--momentum") { Description = "SGD momentum, in [0, 1)", DefaultValueFactory = _ => 0.9f }.TrainRule();
        var wd = new Option<float>("--weight-decay") { Description = "SGD weight decay (L2)", DefaultValueFactory = _ => 5e-4f }.TrainRule();
        var lrStep = new Option<int>("--lr-step") { Description = "StepLR: multiply the learning rate by --lr-gamma every N epochs (0: constant)", DefaultValueFactory = _ => 0 }.TrainRule();
        var lrGamma = new Option<float>("--lr-gamma") { Description = "StepLR factor, > 0", DefaultValueFactory = _ => 0.1f }.TrainRule();
        var device = CommonOptions.Device("auto");
        var seed = CommonOptions.Seed();
        var maxSteps = new Option<int?>("--max-steps") { Description = "Stop after this many steps in total" }.TrainRule();
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop training after this many minutes (then evaluate and save)" }.TrainRule();
        var noAugment = new Option<bool>("--no-augment") { Description = "Train without the random flip/rotation/translation" };
        var augment = new Option<bool>("--augment") { Description = "Keep the augmentation in the CPU budget run too (it is off there by default: it slows the first epochs)" };
        var trainLimit = new Option<int?>("--train-limit") { Description = "Use only the first N training images" }.TrainRule();
        var testLimit = new Option<int?>("--test-limit") { Description = "Use only the first N test images" }.TrainRule();
        var outDir = new Option<string?>("--out") { Description = "Run folder (default: runs/<model>-<data>)" }.NonEmptyPath();
        var maxPixels = CommonOptions.MaxImagePixels();
        var kernels = new KernelFlags();
        var resume = new Option<bool>("--resume") { Description = "Continue the run in the run folder from its last checkpoint, with its options (options given here override them)" };
        var distributed = new Option<bool>("--distributed") { Description = "Data-parallel training over the processes of `mpirun -np N` (Open MPI): --batch-size per rank, gradients averaged, rank 0 writes the run folder" };
        var cmd = new Command("train", "Train a model with the lecture's recipe (SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 64, augmentation) and write runs/<name>/ with metrics, plots, Grad-CAM, checkpoints and report.html")
        {
            model, data, epochs, batch, lr, momentum, wd, lrStep, lrGamma, device, seed, maxSteps, timeLimit, noAugment, augment, trainLimit, testLimit, maxPixels, outDir, resume, distributed,
        };
        kernels.AddTo(cmd);
        CliApp.SetAction(cmd, (parse, output, error) =>
        {
            bool dist = parse.GetValue(distributed);
            CheckLaunch(dist);
            var dataArgs = parse.GetValue(data) ?? [];
            var devOptions = kernels.Read(parse);
            var dev = Device.Get(parse.GetValue(device)!, devOptions);
            string name = parse.GetValue(model)!;
            bool budget = !parse.Given(epochs) && !dev.IsGpu;
            TrainOptions o;
            if (parse.GetValue(resume))
            {
                // A resumed run keeps its own options (data, recipe, seed, augmentation); what is typed here overrides them.
                string dir = parse.GetValue(outDir) ?? Path.Combine("runs", $"{name}-{(dataArgs.Length > 0 ? dataArgs[0] : "fashion-mnist")}");
                o = Checkpoint.ReadState(dir).Options with { OutDir = dir, Resume = true };
                if (parse.Given(model)) o = o with { Model = name };
                if (dataArgs.Length > 0) o = o with { Data = dataArgs[0], DataPath = dataArgs.Length > 1 ? dataArgs[1] : null };
                if (parse.Given(epochs)) o = o with { Epochs = parse.GetValue(epochs)!.Value };
                if (parse.Given(batch)) o = o with { BatchSize = parse.GetValue(batch) };
                if (parse.Given(lr)) o = o with { LearningRate = parse.GetValue(lr) };
                if (parse.Given(momentum)) o = o with { Momentum = parse.GetValue(momentum) };
                if (parse.Given(wd)) o = o with { WeightDecay = parse.GetValue(wd) };
                if (parse.Given(lrStep)) o = o with { LrStep = parse.GetValue(lrStep) };
                if (parse.Given(lrGamma)) o = o with { LrGamma = parse.GetValue(lrGamma) };
                if (parse.Given(seed)) o = o with { Seed = parse.GetValue(seed) };
                if (parse.Given(trainLimit)) o = o with { TrainLimit = parse.GetValue(trainLimit) };
                if (parse.Given(testLimit)) o = o with { TestLimit = parse.GetValue(testLimit) };
                if (parse.Given(maxPixels)) o = o with { MaxImagePixels = parse.GetValue(maxPixels) };
                if (parse.Given(augment)) o = o with { Augment = true };
                if (parse.Given(noAugment)) o = o with { Augment = false };
                if (o.DataPath is { } saved && !parse.Given(data) && !Directory.Exists(saved))
                    throw new ArgumentException($"train --resume: the run's data folder {saved} no longer exists; pass --data {o.Data} PATH");
            }
            else
            {
                string dataKind = dataArgs.Length > 0 ? dataArgs[0] : "fashion-mnist";
                o = new TrainOptions
                {
                    Model = name, Data = dataKind, DataPath = dataArgs.Length > 1 ? dataArgs[1] : null,
                    Epochs = parse.GetValue(epochs) ?? 10, BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
                    Momentum = parse.GetValue(momentum), WeightDecay = parse.GetValue(wd), LrStep = parse.GetValue(lrStep), LrGamma = parse.GetValue(lrGamma),
                    Seed = parse.GetValue(seed),
                    Augment = !parse.GetValue(noAugment) && (parse.GetValue(augment) || !budget), TrainLimit = parse.GetValue(trainLimit), TestLimit = parse.GetValue(testLimit),
                    MaxImagePixels = parse.GetValue(maxPixels),
                    OutDir = parse.GetValue(outDir) ?? Path.Combine("runs", $"{name}-{dataKind}"),
                };
            }
            // The budget belongs to this invocation, not to the run: a resumed run gets the CPU budget again unless --epochs is given.
            o = o with
            {
                Device = dev.Name,
                DeviceOptions = devOptions,
                MaxSteps = parse.GetValue(maxSteps),
                Distributed = dist,
                TimeLimit = parse.GetValue(timeLimit) is double min ? TimeSpan.FromMinutes(min) : budget ? CpuTimeLimit : null,
            };
            o.Validate("train");
            return dist ? RunDistributed(o, output, error, budget) : Run(o, output, budget);
        });
        return cmd;
    }

    /// <summary>Refuses a launch that cannot be what was meant: --distributed outside mpirun, or N copies under mpirun without it
    /// (they would all train the same run into one folder).</summary>
    public static void CheckLaunch(bool distributed)
    {
        int? launched = Distributed.LauncherWorldSize();
        if (distributed && launched is null)
            throw new ArgumentException("train --distributed: this process was not started by mpirun (no OMPI_COMM_WORLD_SIZE or PMI_SIZE in the environment); launch it as: mpirun -np N scratchnet train ... --distributed");
        if (!distributed && launched > 1)
            throw new ArgumentException($"train: started by mpirun as one of {launched} processes without --distributed: the {launched} copies would train the same run and write one run folder; add --distributed to train data-parallel over the {launched} ranks, or run without mpirun");
    }

    /// <summary>
    /// One rank of `mpirun -np N scratchnet train ... --distributed`: rank 0 prints and writes the run folder, the others are silent.
    /// Any failure on any rank prints "error: rank R of N: ..." and ends the whole job with MPI_Abort, so no rank is left waiting.
    /// </summary>
    public static int RunDistributed(TrainOptions o, TextWriter output, TextWriter error, bool cpuBudget)
    {
        try
        {
            Distributed.InitProcessGroup();
            var quiet = Distributed.Rank == 0 ? output : TextWriter.Null;
            if (Distributed.Rank == 0)
                output.WriteLine($"scratchnet train: distributed over {Distributed.WorldSize} rank(s) (Open MPI), batch {o.BatchSize} per rank = {o.BatchSize * Distributed.WorldSize} per step");
            int code = Run(o, quiet, cpuBudget, Distributed.Rank == 0);
            Distributed.DestroyProcessGroup();
            return code;
        }
        catch (Exception e)
        {
            var inner = CliApp.Unwrap(e);
            string where = Distributed.IsInitialized && !inner.Message.StartsWith("rank ", StringComparison.Ordinal) ? $"rank {Distributed.Rank} of {Distributed.WorldSize}: " : "";
            error.WriteLine($"error: {where}{inner.Message.ReplaceLineEndings(" ")}");
            if (Environment.GetEnvironmentVariable("SCRATCHNET_VERBOSE") == "1") error.WriteLine(inner.ToString());
            error.Flush();
            Distributed.Abort(CliApp.IsUserError(inner) ? 1 : 2);
            return 2;
        }
    }

    public static int Run(TrainOptions o, TextWriter output, bool cpuBudget, bool writeReport = true)
    {
        var inv = CultureInfo.InvariantCulture;
        var trainer = new Trainer();
        var dev = Device.Get(o.Device, o.DeviceOptions);
        output.WriteLine($"scratchnet train: {o.Model} on {o.Data}, device {dev.Name} ({dev.Backend.Description})");
        output.WriteLine($"  recipe: SGD lr {o.LearningRate.ToString(inv)}, momentum {o.Momentum.ToString(inv)}, weight decay {o.WeightDecay.ToString(inv)}, batch {o.BatchSize}, {(o.Augment ? "flip/rotate ±15°/shift ±10%" : "no augmentation")}");
        if (cpuBudget && !o.Augment)
            output.WriteLine("  CPU budget run without augmentation: it slows the first epochs (--augment keeps it; --epochs N runs the full recipe)");
        if (o.MaxSteps is int ms || o.TimeLimit is not null)
            output.WriteLine($"  budget: {(o.MaxSteps is int s ? $"{s} steps" : "")}{(o.MaxSteps is not null && o.TimeLimit is not null ? " or " : "")}{(o.TimeLimit is { } t ? $"{t.TotalMinutes.ToString("F1", inv)} minutes of training" : "")}{(o.MaxSteps is not null && o.TimeLimit is not null ? ", whichever comes first" : "")}, then a final evaluation");
        trainer.OnMessage += m => output.WriteLine("  " + m);

        bool interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        TrainResult result;
        if (interactive)
        {
            result = null!;
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: 1);
                    trainer.OnStep += p =>
                    {
                        task.MaxValue = p.TotalSteps;
                        task.Value = p.GlobalStep;
                        task.Description = $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsInEpoch}  loss {p.Loss:F4}  acc {p.Accuracy:P1}  {p.ImagesPerSecond:F0} img/s  ETA {p.Eta:hh\\:mm\\:ss}";
                    };
                    trainer.OnEpoch += m => AnsiConsole.MarkupLine(Markup.Escape(EpochLine(m)));
                    result = trainer.Run(o);
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            long every = 50;
            trainer.OnStep += p =>
            {
                if (p.GlobalStep % every == 0 || p.GlobalStep == p.TotalSteps)
                    output.WriteLine($"  epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsInEpoch} (total {p.GlobalStep}/{p.TotalSteps})  loss {p.Loss:F4}  acc {p.Accuracy:P1}  {p.ImagesPerSecond:F0} img/s  elapsed {p.Elapsed:hh\\:mm\\:ss}  ETA {p.Eta:hh\\:mm\\:ss}");
            };
            trainer.OnEpoch += m => output.WriteLine(EpochLine(m));
            result = trainer.Run(o);
        }

        if (!writeReport) return 0;
        RunReport.Write(o.OutDir, o, result, o.Seed);
        if (SkiaSharp.SKFontManager.Default.FontFamilyCount == 0)
            output.WriteLine("  note: no fonts are installed here, so the PNGs have no text (install one, e.g. Debian's fonts-dejavu-core)");
        output.WriteLine();
        output.WriteLine($"test accuracy {result.TestAccuracy.ToString("P2", inv)} (loss {result.TestLoss.ToString("F4", inv)}) after {result.Steps} steps");
        output.WriteLine($"run folder: {Path.GetFullPath(o.OutDir)}");
        output.WriteLine($"  {string.Join(", ", RunReport.Files)}");
        if (cpuBudget || result.StoppedByBudget)
        {
            output.WriteLine();
            output.WriteLine("This was the CPU budget run. The full recipe (10 epochs over the training set, with augmentation) is:");
            output.WriteLine($"  scratchnet train {o.Model} --epochs 10 --device cuda        # on a GPU");
            output.WriteLine($"  scratchnet train {o.Model} --epochs 10 --device cpu         # here: hours on 2 cores");
            output.WriteLine($"  scratchnet train {o.Model} --epochs 10 --augment --out {o.OutDir} --resume   # continue this run to 10 epochs");
        }
        return 0;
    }

    private static string EpochLine(EpochMetrics m) =>
        $"epoch {m.Epoch}: {m.Steps} steps  train loss {m.TrainLoss:F4} acc {m.TrainAccuracy:P2}  |  val loss {m.ValLoss:F4} acc {m.ValAccuracy:P2}  |  {m.ImagesPerSecond:F0} img/s, {m.Seconds:F0} s";
}
