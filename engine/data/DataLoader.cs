using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace ScratchNet.data;

/// <summary>One mini-batch on the host: images [Size, C, H, W] and their labels.</summary>
public sealed class Batch
{
    /// <summary>A batch over <paramref name="images"/> [labels.Length, channels, height, width] (kept, not copied), batch
    /// <paramref name="index"/> of epoch <paramref name="epoch"/>.</summary>
    public Batch(float[] images, int[] labels, int channels, int height, int width, int epoch, int index)
    {
        Images = images;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        Epoch = epoch;
        Index = index;
    }

    /// <summary>The pixels, [Size, Channels, Height, Width] row-major, after the loader's transform.</summary>
    public float[] Images { get; }
    /// <summary>The class index of each image, in [0, NumClasses) of the dataset.</summary>
    public int[] Labels { get; }
    /// <summary>Images in this batch: the loader's batch size, or fewer for the last batch of an epoch without dropLast.</summary>
    public int Size => Labels.Length;
    /// <summary>Channels of each image.</summary>
    public int Channels { get; }
    /// <summary>Height of each image, in pixels.</summary>
    public int Height { get; }
    /// <summary>Width of each image, in pixels.</summary>
    public int Width { get; }
    /// <summary>The epoch and the position of this batch in it, for logs and checkpoints.</summary>
    public int Epoch { get; }
    /// <summary>The batch's position in its epoch: its first image's position in the epoch's order divided by the batch size,
    /// rounded up (k for the k-th batch of an epoch read from its start).</summary>
    public int Index { get; }
    /// <summary>The image tensor's shape, [Size, Channels, Height, Width].</summary>
    public int[] Shape => [Size, Channels, Height, Width];

    /// <summary>The images as a Float32 tensor [B, C, H, W] on <paramref name="device"/>.</summary>
    public Tensor ImagesTensor(Device? device = null) => Tensor.FromArray(Images, Shape, device);

    /// <summary>The labels as an Int32 tensor [B] on <paramref name="device"/> (for CrossEntropyLoss).</summary>
    public Tensor LabelsTensor(Device? device = null) => Tensor.Labels(Labels, device);

    /// <summary>Both tensors on <paramref name="device"/>: <c>var (x, y) = batch.ToTensors(device);</c></summary>
    public (Tensor Images, Tensor Labels) ToTensors(Device? device = null) => (ImagesTensor(device), LabelsTensor(device));
}

/// <summary>
/// Mini-batches of an <see cref="ImageDataset"/> (torch.utils.data.DataLoader): optional per-epoch shuffle,
/// drop_last, a per-sample transform, and a background thread that prepares the next batches while the
/// device computes.
///
/// Determinism: everything random is derived from (seed, epoch, ...) alone:
///   - the order of epoch e is a Fisher-Yates permutation from Generator(Derive(seed, e));
///   - the transform of dataset image i in epoch e draws from Generator(Derive(seed, e, i)).
/// So a batch depends only on (seed, epoch, batch index): the background thread, the prefetch depth and
/// the number of workers and resuming in the middle of an epoch (<see cref="Epoch(int, int)"/> with startBatch) all give the same
/// batches as a plain synchronous loop.
/// </summary>
public sealed class DataLoader
{
    /// <summary>Batches of <paramref name="batchSize"/> images of <paramref name="dataset"/>, in a new order every epoch when
    /// <paramref name="shuffle"/>, each image passed through <paramref name="transform"/>; everything random derives from
    /// <paramref name="seed"/>. ArgumentException for a batch size or worker count below 1, a negative prefetch, an empty
    /// dataset, or dropLast with fewer images than one batch.</summary>
    /// <param name="dataset">The images and labels.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="shuffle">A fresh permutation each epoch (else dataset order).</param>
    /// <param name="seed">Base seed of the permutations and the transforms' generators.</param>
    /// <param name="dropLast">Leave out the last batch of an epoch when it would be smaller than batchSize.</param>
    /// <param name="transform">Applied to each image as it is batched (augmentation, normalisation), or null.</param>
    /// <param name="prefetch">Batches a background thread builds ahead; 0 builds each on demand on the caller's thread.</param>
    /// <param name="workers">Threads that transform the images of one batch.</param>
    /// <param name="sampler">This rank's share of each epoch in distributed training (null: the whole epoch).</param>
    public DataLoader(ImageDataset dataset, int batchSize, bool shuffle = false, ulong seed = 0, bool dropLast = false,
                      Transform? transform = null, int prefetch = 2, int workers = 1, DistributedSampler? sampler = null)
    {
        Sampler = sampler;
        const string op = "DataLoader";
        Dataset = dataset;
        BatchSize = Check.Positive(op, "batchSize", batchSize);
        Prefetch = Check.NonNegative(op, "prefetch", prefetch);
        Workers = Check.Positive(op, "workers", workers);
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Transform = transform;
        (Channels, Height, Width) = transform?.OutputShape(dataset.Channels, dataset.Height, dataset.Width)
                                    ?? (dataset.Channels, dataset.Height, dataset.Width);
        if (dataset.Count == 0) throw new ArgumentException($"{op}: the dataset {dataset.Name} is empty");
        if (dropLast && dataset.Count < batchSize)
            throw new ArgumentException($"{op}: with dropLast, {dataset.Count} images make no full batch of {batchSize}");
    }

    /// <summary>The dataset the batches are drawn from.</summary>
    public ImageDataset Dataset { get; }
    /// <summary>Images per batch (the last one of an epoch may have fewer unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; }
    /// <summary>Whether each epoch visits the dataset in its own random order (a Fisher-Yates permutation from (seed, epoch)).</summary>
    public bool Shuffle { get; }
    /// <summary>The base seed that every epoch's order and every image's transform generator derive from (<see cref="Seeds"/>).</summary>
    public ulong Seed { get; }
    /// <summary>Whether an epoch's incomplete last batch is left out (torch's drop_last).</summary>
    public bool DropLast { get; }
    /// <summary>The per-image transform, or null for the dataset's images as they are.</summary>
    public Transform? Transform { get; }
    /// <summary>How many batches the background thread may prepare ahead (0 = no thread, build each batch on demand).</summary>
    public int Prefetch { get; }
    /// <summary>How many threads transform the images of one batch (each image has its own generator, so any number gives the same batch).</summary>
    public int Workers { get; }
    /// <summary>This rank's share of each epoch, or null when the loader yields the whole epoch.</summary>
    public DistributedSampler? Sampler { get; }
    /// <summary>Shape of one output image (after the transform).</summary>
    public int Channels { get; }
    /// <summary>Height of one output image, in pixels (after the transform).</summary>
    public int Height { get; }
    /// <summary>Width of one output image, in pixels (after the transform).</summary>
    public int Width { get; }

    /// <summary>Batches per epoch: N / B rounded down with dropLast, up without (in long: N + B − 1 overflows int for a huge B).</summary>
    public int BatchesPerEpoch => BatchesFrom(0);

    /// <summary>Batches left in an epoch from image <paramref name="startSample"/> of its order on (this rank's, with a sampler).</summary>
    public int BatchesFrom(int startSample)
    {
        long left = Sampler is { } s ? s.NumSamples(Dataset.Count, startSample) : Dataset.Count - (long)startSample;
        return (int)(DropLast ? left / BatchSize : (left + BatchSize - 1) / BatchSize);
    }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the dataset.</summary>
    public int[] Order(int epoch)
    {
        if (!Shuffle)
        {
            var identity = new int[Dataset.Count];
            for (int i = 0; i < identity.Length; i++) identity[i] = i;
            return identity;
        }
        return new Generator(Seeds.Derive(Seed, epoch)).Permutation(Dataset.Count);
    }

    /// <summary>Builds batch <paramref name="index"/> of epoch <paramref name="epoch"/> on the calling thread.</summary>
    public Batch GetBatch(int epoch, int index) => Build(Order(epoch), epoch, 0, index);

    /// <summary>
    /// The batches of one epoch, from <paramref name="startBatch"/> on (to resume from a checkpoint taken
    /// after batch startBatch−1). With <see cref="Prefetch"/> &gt; 0 a background thread builds up to Prefetch
    /// batches ahead into a bounded queue; leaving the loop early stops it.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch = 0)
    {
        Check.NonNegative("DataLoader.Epoch", "epoch", epoch);
        if (startBatch < 0 || startBatch > BatchesPerEpoch)
            throw new ArgumentException($"DataLoader.Epoch: startBatch {startBatch} out of range [0, {BatchesPerEpoch}]");
        return EpochFrom(epoch, (int)Math.Min((long)startBatch * BatchSize, Dataset.Count));
    }

    /// <summary>
    /// The batches of one epoch from image <paramref name="startSample"/> of its order on: batch k holds the images
    /// at positions startSample + k·B … of <see cref="Order"/>. The order and each image's augmentation depend on
    /// (seed, epoch, image) only, so a run resumed at the image where it stopped sees the same images, augmented
    /// alike, whatever the batch size before and after.
    /// </summary>
    public IEnumerable<Batch> EpochFrom(int epoch, int startSample)
    {
        Check.NonNegative("DataLoader.EpochFrom", "epoch", epoch);
        if (startSample < 0 || startSample > Dataset.Count)
            throw new ArgumentException($"DataLoader.EpochFrom: startSample {startSample} out of range [0, {Dataset.Count}]");
        return Prefetch == 0 ? Synchronous(epoch, startSample) : Prefetched(epoch, startSample);
    }

    // The positions a pass from startSample walks: the epoch's order, or this rank's shard of it from startSample (then from 0).
    private (int[] Order, int Start) Plan(int epoch, int startSample) =>
        Sampler is { } s ? (s.Shard(Order(epoch), startSample), 0) : (Order(epoch), startSample);

    private IEnumerable<Batch> Synchronous(int epoch, int startSample)
    {
        int n = BatchesFrom(startSample);
        (var order, startSample) = Plan(epoch, startSample);
        for (int b = 0; b < n; b++) yield return Build(order, epoch, startSample, b);
    }

    private IEnumerable<Batch> Prefetched(int epoch, int startSample)
    {
        using var queue = new BlockingCollection<Batch>(Prefetch);
        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try
            {
                var (order, start) = Plan(epoch, startSample);
                for (int b = 0, n = BatchesFrom(startSample); b < n && !stop.IsCancellationRequested; b++)
                    queue.Add(Build(order, epoch, start, b), stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        }) { IsBackground = true, Name = "DataLoader prefetch" };
        worker.Start();
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable()) yield return batch;
            worker.Join();
            // The worker's exception, with its own type and stack: a bad image stays a DataFormatException.
            if (failure is not null) ExceptionDispatchInfo.Capture(failure).Throw();
        }
        finally
        {
            // Reached on early exit (break, exception in the training step) too: stop the worker and wait
            // for it, so no thread outlives the loop.
            stop.Cancel();
            worker.Join();
        }
    }

    // Batch k of an epoch that starts at image startSample: positions startSample + k·B … of the order.
    private Batch Build(int[] order, int epoch, int startSample, int k)
    {
        int start = (int)(startSample + (long)k * BatchSize);
        int size = (int)Math.Min(BatchSize, (long)order.Length - start);
        int index = (int)(((long)start + BatchSize - 1) / BatchSize);
        int sample = Channels * Height * Width;
        var images = new float[(long)size * sample];
        var labels = new int[size];
        void One(int j)
        {
            int i = order[start + j];
            labels[j] = Dataset.Labels[i];
            if (Transform is null)
            {
                Dataset.Pixels(i).CopyTo(images.AsSpan(j * sample, sample));
                return;
            }
            var output = Transform.Apply(Dataset.GetImage(i), new Generator(Seeds.Derive(Seed, epoch, i)));
            if (output.Data.Length != sample)
                throw new InvalidOperationException($"DataLoader: the transform returned {output} for image {i}, expected [{Channels}, {Height}, {Width}]");
            output.Data.CopyTo(images, (long)j * sample);
        }
        if (Workers == 1 || Transform is null)
        {
            for (int j = 0; j < size; j++) One(j);
        }
        else
        {
            try { Parallel.For(0, size, new ParallelOptions { MaxDegreeOfParallelism = Workers }, One); }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0) { ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); }
        }
        return new Batch(images, labels, Channels, Height, Width, epoch, index);
    }
}

/// <summary>Derives independent seeds from a base seed and integers (SplitMix64 finalizer at each step).</summary>
public static class Seeds
{
    /// <summary>SplitMix64's step: adds the golden-ratio increment 0x9E3779B97F4A7C15, then its finalizer, a bijective mix that
    /// spreads every input bit over the whole word.</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The seed of item <paramref name="a"/> under <paramref name="seed"/> (e.g. an epoch): Mix(Mix(seed) xor a).</summary>
    public static ulong Derive(ulong seed, long a) => Mix(Mix(seed) ^ (ulong)a);
    /// <summary>The seed of item (<paramref name="a"/>, <paramref name="b"/>) under <paramref name="seed"/> (e.g. epoch and
    /// image): Mix(Derive(seed, a) xor b).</summary>
    public static ulong Derive(ulong seed, long a, long b) => Mix(Derive(seed, a) ^ (ulong)b);
}
