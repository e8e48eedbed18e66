using System.Diagnostics;
using ScratchNet.data;
using ScratchNet.distributed;
using ScratchNet.io;
using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Models.Training;

/// <summary>One row of metrics.csv: an epoch's averages over samples (not over batches).</summary>
/// <param name="Epoch">The epoch, counted from 1.</param>
/// <param name="Steps">Optimizer steps in the epoch, those before a resume included.</param>
/// <param name="TrainLoss">Mean cross-entropy per training image this run trained on in the epoch (NaN when none).</param>
/// <param name="TrainAccuracy">Fraction of those images classified correctly when they were trained on, in [0, 1].</param>
/// <param name="ValLoss">Mean cross-entropy per test image after the epoch, in eval mode.</param>
/// <param name="ValAccuracy">Fraction of the test set classified correctly after the epoch.</param>
/// <param name="LearningRate">The learning rate of the epoch (after StepLR).</param>
/// <param name="Seconds">Wall-clock seconds of the epoch, its evaluation included.</param>
/// <param name="ImagesPerSecond">Training images of the epoch divided by <paramref name="Seconds"/>.</param>
/// <param name="GlobalStep">Optimizer steps of the whole run when the epoch ended.</param>
public sealed record EpochMetrics(int Epoch, int Steps, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy,
                                  double LearningRate, double Seconds, double ImagesPerSecond, long GlobalStep = 0);

/// <summary>One optimizer step's batch loss and accuracy (the fine-grained training curve).</summary>
/// <param name="Step">The run's step number, from 1.</param>
/// <param name="Loss">Mean cross-entropy of the batch.</param>
/// <param name="Accuracy">Fraction of the batch classified correctly.</param>
public sealed record StepMetrics(long Step, double Loss, double Accuracy);

/// <summary>What the progress bar shows after each step.</summary>
/// <param name="Epoch">The current epoch, from 1.</param>
/// <param name="Epochs">Epochs the run trains in total.</param>
/// <param name="Step">Steps done in this epoch, those before a resume included.</param>
/// <param name="StepsInEpoch">Steps this epoch has in all.</param>
/// <param name="GlobalStep">Steps of the whole run so far.</param>
/// <param name="TotalSteps">Steps the run will have at its end (MaxSteps when that is sooner).</param>
/// <param name="Loss">Mean cross-entropy per image over the epoch's steps in this run so far.</param>
/// <param name="Accuracy">Fraction of those images classified correctly.</param>
/// <param name="ImagesPerSecond">Training throughput since this run started (BatchSize images per step).</param>
/// <param name="Elapsed">Time since this run started training.</param>
/// <param name="Eta">Time the remaining steps take at that throughput, capped by what is left of the time limit.</param>
public sealed record StepProgress(int Epoch, int Epochs, int Step, int StepsInEpoch, long GlobalStep, long TotalSteps,
                                  double Loss, double Accuracy, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
/// <param name="Model">The trained model, still on its device.</param>
/// <param name="Data">The data and transforms it was trained and evaluated with.</param>
/// <param name="History">Every epoch's metrics, those of a resumed run's earlier epochs included.</param>
/// <param name="Steps">Optimizer steps of the whole run.</param>
/// <param name="TestAccuracy">The last epoch's test accuracy (NaN when no epoch ran).</param>
/// <param name="TestLoss">The last epoch's test loss (NaN when no epoch ran).</param>
/// <param name="StoppedByBudget">MaxSteps or TimeLimit ended the run before its last epoch was complete.</param>
/// <param name="Device">The device it ran on.</param>
/// <param name="StepLog">Loss and accuracy of every step of this run (not of the steps before a resume).</param>
public sealed record TrainResult(Module Model, TrainingData Data, IReadOnlyList<EpochMetrics> History, long Steps,
                                 double TestAccuracy, double TestLoss, bool StoppedByBudget, Device Device,
                                 IReadOnlyList<StepMetrics> StepLog);

/// <summary>
/// The training loop of the lecture notebook:
/// <code>
/// for epoch in range(epochs):
///     model.train()
///     for x, y in train_loader:                  # shuffled, augmented, batch 64
///         optimizer.zero_grad()
///         loss = criterion(model(x), y)           # cross-entropy
///         loss.backward(); optimizer.step()       # SGD(lr 0.01, momentum 0.9, weight decay 5e-4)
///     model.eval(); with torch.no_grad(): evaluate on the test set
/// </code>
/// Each step runs inside a TensorScope, so every activation and gradient buffer goes back to the device's
/// caching allocator when the step ends: device memory stays flat. Loss and accuracy are summed per sample
/// (loss × batch size) and divided by the number of samples, so a short last batch weighs what it should.
///
/// After every epoch the run folder receives a checkpoint (model.safetensors, with PyTorch's parameter names, and
/// train_state.safetensors with the weights, the optimizer, dropout and progress state; see <see cref="Checkpoint"/>)
/// and then metrics.csv / metrics.json, each written atomically, so --resume continues exactly where the last save
/// ended, even after a kill in the middle of a save.
/// </summary>
public sealed class Trainer
{
    /// <summary>Raised after every optimizer step, on the training thread, with the progress so far.</summary>
    public event Action<StepProgress>? OnStep;
    /// <summary>Raised after each epoch's evaluation, before its checkpoint is written.</summary>
    public event Action<EpochMetrics>? OnEpoch;
    /// <summary>Notes for the user: a resume, a changed batch size, stale temporary files removed, a model file rewritten.</summary>
    public event Action<string>? OnMessage;

    /// <summary>The model a run trains: "mlp" here is Flatten, Linear(C·H·W, 256), ReLU, Linear(256, classes) over
    /// <paramref name="input"/> [C, H, W] (not the registry's XOR MLP); "onnx" (an imported run) is the graph of
    /// <paramref name="runDir"/>/model.onnx; any other name comes from <see cref="ModelRegistry"/>.</summary>
    public static Module CreateModel(string name, int classes, int[] input, Generator gen, Device device, string? runDir = null) => name switch
    {
        TrainOptions.ImportedModel => ScratchNet.onnx.Onnx.Import(Path.Combine(runDir ?? throw new ArgumentException("an imported model needs its run folder"), TrainOptions.ArchitectureFile), device).Model,
        "mlp" => new Sequential(new Flatten(),
                                new Linear(input[0] * input[1] * input[2], 256, generator: gen, device: device),
                                new ReLU(),
                                new Linear(256, classes, generator: gen, device: device)),
        _ => ModelRegistry.Create(name, classes, gen, device),
    };

    /// <summary>Hears every file event of every checkpoint save (tests inject crashes with it).</summary>
    public event Action<FileEvent>? OnFileEvent;

    /// <summary>
    /// Trains as <paramref name="o"/> says, writing metrics and a checkpoint to o.OutDir after every epoch (and when a budget
    /// stops it). Holds the run folder's lock meanwhile. Throws <see cref="TrainingDivergedException"/> at the first step whose
    /// loss is NaN or infinite, keeping the last good checkpoint.
    /// </summary>
    public TrainResult Run(TrainOptions o, CancellationToken cancel = default)
    {
        o.Validate();
        if (o.DataPath is { } dp) o = o with { DataPath = Path.GetFullPath(dp) };
        var device = Device.Get(o.Device, o.DeviceOptions);
        // Distributed: every rank runs this loop on its shard; rank 0 alone owns the run folder (lock, saves, metrics).
        if (o.Distributed) Distributed.InitProcessGroup();
        int rank = o.Distributed ? Distributed.Rank : 0, world = o.Distributed ? Distributed.WorldSize : 1;
        bool writer = rank == 0;
        using var folderLock = writer ? FolderLock.Acquire(o.OutDir, "train") : null;
        var stale = writer ? AtomicFile.RemoveStale(o.OutDir) : [];
        if (stale.Count > 0) OnMessage?.Invoke($"removed {stale.Count} temporary file(s) an interrupted save left in {o.OutDir}: {string.Join(", ", stale)}");
        var data = TrainingData.Load(o);

        var gen = new Generator(o.Seed);
        var model = CreateModel(o.Model, data.Classes.Count, data.InputShape, gen, device, o.OutDir);
        var optimizer = new SGD(model.Parameters(), o.LearningRate, o.Momentum, 0f, o.WeightDecay);
        var trainLoader = new DataLoader(data.Train, o.BatchSize, shuffle: true, seed: o.Seed + 1, dropLast: false,
                                         transform: data.TrainTransform, prefetch: 3, sampler: o.Distributed ? new DistributedSampler(world, rank) : null);
        var testLoader = new DataLoader(data.Test, o.EvalBatchSize, shuffle: false, transform: data.TestTransform, prefetch: 2,
                                        sampler: o.Distributed ? new DistributedSampler(world, rank, pad: false) : null);

        var history = new List<EpochMetrics>();
        var stepLog = new List<StepMetrics>();
        int startEpoch = 0, startSample = 0, startBatchSize = o.BatchSize, startWorld = world;
        long globalStep = 0;
        long? lastSave = null;
        if (o.Resume)
        {
            var state = Checkpoint.Load(o.OutDir, model, optimizer, o, out long? modelFileStep);
            (startEpoch, startSample, globalStep, startBatchSize, startWorld) = (state.Epoch, state.Sample, state.GlobalStep, state.Options.BatchSize, state.WorldSize);
            if (startSample > data.Train.Count)
                throw new ArgumentException($"resume: the checkpoint in {o.OutDir} stopped after image {startSample} of epoch {startEpoch + 1}, but the training set now has {data.Train.Count} images (was --train-limit changed?)");
            history.AddRange(state.History);
            lastSave = globalStep;
            string where = startSample == 0 ? $"the start of epoch {startEpoch + 1}" : $"image {startSample} of {data.Train.Count} in epoch {startEpoch + 1}";
            OnMessage?.Invoke($"resumed from {o.OutDir} at {where}, step {globalStep}");
            if (startSample > 0 && state.Options.BatchSize != o.BatchSize)
                OnMessage?.Invoke($"batch size changed from {state.Options.BatchSize} to {o.BatchSize}: the rest of epoch {startEpoch + 1} continues at image {startSample} in batches of {o.BatchSize}");
            if (startWorld != world)
                OnMessage?.Invoke($"the run was saved by {startWorld} rank(s) and continues on {world}: epoch {startEpoch + 1} continues at image {startSample}, resharded over {world} rank(s); the global batch is now {world} × {o.BatchSize}");
            if (modelFileStep is long fs && writer)
            {
                Checkpoint.SaveModel(o.OutDir, o, model, data.Classes, globalStep, OnFileEvent);
                OnMessage?.Invoke($"{Checkpoint.ModelFile} was {(fs < 0 ? "missing or unreadable" : $"from step {fs}")} (an interrupted save); rewritten from {Checkpoint.StateFile} (step {globalStep})");
            }
        }

        DistributedDataParallel? ddp = null;
        if (o.Distributed)
        {
            // Each rank its own dropout masks; rank 0 keeps the run's seeds, so its checkpoint restores every rank's stream.
            DistributedDataParallel.SeedDropoutPerRank(model, rank);
            ddp = new DistributedDataParallel(model);
            if (device.Name != "cpu") OnMessage?.Invoke($"distributed: gradients on {device.Name} are all-reduced by {ddp.CommunicationPath}");
        }
        using var ddpScope = ddp;
        int globalBatch = o.BatchSize * world;

        int perEpoch = trainLoader.BatchesPerEpoch;
        long plannedSteps = startEpoch < o.Epochs ? trainLoader.BatchesFrom(startSample) + (long)(o.Epochs - startEpoch - 1) * perEpoch : 0;
        long totalSteps = Math.Min(globalStep + plannedSteps, o.MaxSteps ?? long.MaxValue);
        var clock = Stopwatch.StartNew();
        bool budgetHit = false;
        long stepsThisRun = 0;

        for (int epoch = startEpoch; epoch < o.Epochs && !budgetHit; epoch++)
        {
            optimizer.LearningRate = LearningRateAt(o, epoch);
            model.Train();
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0; long correct = 0, seen = 0;
            int sample = epoch == startEpoch ? startSample : 0;
            // Steps of this epoch for the progress line: the ones before a resume (at the batch size of then) count too.
            int sizeBefore = epoch == startEpoch ? startBatchSize * startWorld : globalBatch;
            int epochStart = sample, taken = 0;
            int stepsBefore = (int)(((long)sample + sizeBefore - 1) / sizeBefore), batchIndex = stepsBefore;
            int stepsInEpoch = stepsBefore + trainLoader.BatchesFrom(sample);
            foreach (var batch in trainLoader.EpochFrom(epoch, sample))
            {
                cancel.ThrowIfCancellationRequested();
                using (var scope = new TensorScope())
                {
                    var (x, y) = batch.ToTensors(device);
                    optimizer.ZeroGrad();
                    var logits = model.Forward(x);
                    var loss = F.CrossEntropy(logits, y);
                    loss.Backward();
                    ddp?.FinishGradientSync();
                    optimizer.Step();
                    // The one host read of the step: the loss and the number of correct predictions. A NaN or
                    // infinite loss is caught here, where the value is on the host anyway: no extra synchronisation.
                    double batchLoss = loss.Item();
                    double batchCorrect = F.CountCorrect(logits, y), batchSize = batch.Size;
                    bool timeUp = o.TimeLimit is { } limit && clock.Elapsed >= limit;
                    if (o.Distributed)
                    {
                        // The step's numbers over all ranks, and whether any rank's clock says stop: every rank decides alike.
                        var sums = new[] { batchLoss * batchSize, batchCorrect, batchSize, timeUp ? 1 : 0 };
                        Distributed.AllReduce(sums);
                        (batchLoss, batchCorrect, batchSize, timeUp) = (sums[0] / sums[2], sums[1], sums[2], sums[3] > 0);
                    }
                    if (!double.IsFinite(batchLoss))
                        throw Diverged(o, batchLoss, globalStep + 1, epoch, batchIndex + 1, stepsInEpoch, optimizer.LearningRate, lastSave);
                    lossSum += batchLoss * batchSize;
                    correct += (long)batchCorrect;
                    seen += (long)batchSize;
                    stepLog.Add(new StepMetrics(globalStep + 1, batchLoss, batchCorrect / batchSize));
                    budgetHit = timeUp;
                }
                taken += batch.Size;
                sample = trainLoader.Sampler is { } sampler ? sampler.PositionAfter(data.Train.Count, epochStart, taken) : sample + batch.Size;
                batchIndex++; globalStep++; stepsThisRun++;
                var elapsed = clock.Elapsed;
                double ips = stepsThisRun * (double)globalBatch / Math.Max(1e-9, elapsed.TotalSeconds);
                var eta = TimeSpan.FromSeconds(Math.Min((totalSteps - globalStep) * globalBatch / Math.Max(1e-9, ips), TimeSpan.MaxValue.TotalSeconds / 2));
                if (o.TimeLimit is { } budget && budget - elapsed < eta) eta = budget > elapsed ? budget - elapsed : TimeSpan.Zero;
                OnStep?.Invoke(new StepProgress(epoch + 1, o.Epochs, batchIndex, stepsInEpoch, globalStep, totalSteps,
                    lossSum / seen, (double)correct / seen, ips, elapsed, eta));
                if (globalStep >= (o.MaxSteps ?? long.MaxValue) || budgetHit)
                {
                    budgetHit = true;
                    break;
                }
            }
            bool epochDone = sample >= data.Train.Count;
            var evalClock = Stopwatch.StartNew();
            var (valLoss, valAcc) = Evaluate(model, testLoader, device);
            // A time budget that has less left than this evaluation took ends here: another epoch would get a
            // few steps and then pay for a second evaluation (seen on a CPU: one step, then 27 s more).
            bool noTimeForMore = o.TimeLimit is { } left && epoch + 1 < o.Epochs && left - clock.Elapsed < evalClock.Elapsed;
            if (o.Distributed)
            {
                var any = new[] { noTimeForMore ? 1.0 : 0.0 };
                Distributed.AllReduce(any, ReduceOp.Max);
                noTimeForMore = any[0] > 0;
            }
            if (noTimeForMore) budgetHit = true;
            var m = new EpochMetrics(epoch + 1, batchIndex, seen > 0 ? lossSum / seen : double.NaN, seen > 0 ? (double)correct / seen : double.NaN,
                valLoss, valAcc, optimizer.LearningRate, epochClock.Elapsed.TotalSeconds, seen / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds), globalStep);
            history.Add(m);
            OnEpoch?.Invoke(m);
            if (writer)
            {
                Checkpoint.Save(o.OutDir, o, model, optimizer, epochDone ? epoch + 1 : epoch, epochDone ? 0 : sample, globalStep, history, data.Classes, OnFileEvent, world);
                MetricsFiles.Write(o.OutDir, history);
            }
            lastSave = globalStep;
        }
        var last = history.Count > 0 ? history[^1] : null;
        return new TrainResult(model, data, history, globalStep, last?.ValAccuracy ?? double.NaN, last?.ValLoss ?? double.NaN, budgetHit, device, stepLog);
    }

    private static TrainingDivergedException Diverged(TrainOptions o, double loss, long step, int epoch, int batch, int batches, float lr, long? lastSave)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string kept = lastSave is long s
            ? $"The last good checkpoint (step {s}) is kept in {o.OutDir}; --resume continues from it."
            : File.Exists(Path.Combine(o.OutDir, Checkpoint.StateFile))
                ? $"The checkpoint already in {o.OutDir} is untouched."
                : "No checkpoint was saved yet.";
        return new TrainingDivergedException(
            $"train: the loss became {loss.ToString(inv)} at step {step} (epoch {epoch + 1}, batch {batch} of {batches}) with learning rate {lr.ToString("G6", inv)}: the training diverged and stopped. {kept} " +
            $"Try a smaller --lr (for example {(lr / 10).ToString("G3", inv)}){(o.Momentum > 0 ? " or a smaller --momentum" : "")}.",
            step, loss, lr);
    }

    /// <summary>StepLR: lr · γ^⌊epoch / step⌋.</summary>
    public static float LearningRateAt(TrainOptions o, int epoch) =>
        o.LrStep > 0 ? o.LearningRate * MathF.Pow(o.LrGamma, epoch / o.LrStep) : o.LearningRate;

    /// <summary>Mean loss and accuracy over the whole set, in eval mode (dropout off) without recording a graph.</summary>
    public static (double Loss, double Accuracy) Evaluate(Module model, DataLoader loader, Device device)
    {
        bool wasTraining = model.Training;
        model.Eval();
        double lossSum = 0; long correct = 0, seen = 0;
        using (Tensor.NoGrad())
        {
            foreach (var batch in loader.Epoch(0))
            {
                using var scope = new TensorScope();
                var (x, y) = batch.ToTensors(device);
                var logits = model.Forward(x);
                lossSum += F.CrossEntropy(logits, y).Item() * batch.Size;
                correct += F.CountCorrect(logits, y);
                seen += batch.Size;
            }
        }
        model.Train(wasTraining);
        if (loader.Sampler is not null && Distributed.IsInitialized)
        {
            // Each rank evaluated its own part of the set (no padding: every image once); the sums make the whole set's figures.
            var sums = new[] { lossSum, correct, seen };
            Distributed.AllReduce(sums);
            (lossSum, correct, seen) = (sums[0], (long)sums[1], (long)sums[2]);
        }
        return (lossSum / seen, (double)correct / seen);
    }
}
