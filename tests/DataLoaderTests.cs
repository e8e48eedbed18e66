using ScratchNet.data;

namespace ScratchNet.Tests;

/// <summary>DataLoader: batching, drop_last, seeded shuffling, transforms, background prefetch and resume.</summary>
public class DataLoaderTests
{
    /// <summary>N one-channel 2×2 images whose pixels all equal their index, labels index % 3.</summary>
    private static ImageDataset Indexed(int n)
    {
        var px = new float[n * 4];
        for (int i = 0; i < px.Length; i++) px[i] = i / 4;
        return new ImageDataset(px, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 1, 2, 2, ["a", "b", "c"], "indexed");
    }

    private static int[] Ids(Batch b) => Enumerable.Range(0, b.Size).Select(j => (int)b.Images[j * b.Images.Length / b.Size]).ToArray();

    private static void AssertSame(IReadOnlyList<Batch> a, IReadOnlyList<Batch> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Index, b[i].Index);
            Assert.Equal(a[i].Labels, b[i].Labels);
            Assert.Equal(a[i].Images, b[i].Images);
        }
    }

    [Fact]
    public void BatchesCoverTheDatasetInOrderWithoutShuffle()
    {
        var loader = new DataLoader(Indexed(10), batchSize: 3, prefetch: 0);
        Assert.Equal(4, loader.BatchesPerEpoch);
        var batches = loader.Epoch(0).ToList();
        Assert.Equal([3, 3, 3, 1], batches.Select(b => b.Size));
        Assert.Equal(Enumerable.Range(0, 10), batches.SelectMany(Ids));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i % 3), batches.SelectMany(b => b.Labels));
        Assert.Equal([0, 1, 2, 3], batches.Select(b => b.Index));
        Assert.Equal([3, 1, 2, 2], batches[0].Shape);
        // Same order every epoch.
        Assert.Equal(Enumerable.Range(0, 10), loader.Epoch(5).SelectMany(Ids));
    }

    [Fact]
    public void DropLastDropsTheIncompleteBatch()
    {
        var loader = new DataLoader(Indexed(10), batchSize: 3, dropLast: true, shuffle: true, seed: 1);
        Assert.Equal(3, loader.BatchesPerEpoch);
        var batches = loader.Epoch(0).ToList();
        Assert.Equal([3, 3, 3], batches.Select(b => b.Size));
        Assert.Equal(9, batches.SelectMany(Ids).Distinct().Count());
        Assert.Equal(3, new DataLoader(Indexed(9), 3, dropLast: true).BatchesPerEpoch);
        Assert.Throws<ArgumentException>(() => new DataLoader(Indexed(2), 3, dropLast: true));
        Assert.Throws<ArgumentException>(() => new DataLoader(Indexed(2), 0));
        Assert.Throws<ArgumentException>(() => new DataLoader(Indexed(2), 1, prefetch: -1));
        Assert.Throws<ArgumentException>(() => new DataLoader(Indexed(2), 1, workers: 0));
    }

    [Fact]
    public void ShuffleIsAPermutationFixedBySeedAndEpoch()
    {
        var ds = Indexed(50);
        var a = new DataLoader(ds, 8, shuffle: true, seed: 42);
        var e0 = a.Epoch(0).SelectMany(Ids).ToArray();
        var e1 = a.Epoch(1).SelectMany(Ids).ToArray();
        Assert.Equal(Enumerable.Range(0, 50), e0.Order());
        Assert.Equal(Enumerable.Range(0, 50), e1.Order());
        Assert.NotEqual(Enumerable.Range(0, 50), e0);
        Assert.NotEqual(e0, e1);                                                     // a new order each epoch
        Assert.Equal(e0, new DataLoader(ds, 8, shuffle: true, seed: 42).Epoch(0).SelectMany(Ids));   // same seed
        Assert.NotEqual(e0, new DataLoader(ds, 8, shuffle: true, seed: 43).Epoch(0).SelectMany(Ids)); // other seed
        Assert.Equal(e0, a.Order(0));
    }

    [Fact]
    public void BackgroundPrefetchGivesTheSameBatchesAsSynchronous()
    {
        var ds = Datasets.FashionMnist(train: false, DataSource.Subset).Subset(Enumerable.Range(0, 70).ToArray());
        var t = Transform.FashionMnistTrain();
        var sync = new DataLoader(ds, 16, shuffle: true, seed: 7, transform: t, prefetch: 0);
        foreach (int prefetch in new[] { 1, 2, 4 })
        {
            var bg = new DataLoader(ds, 16, shuffle: true, seed: 7, transform: t, prefetch: prefetch, workers: prefetch == 1 ? 1 : 3);
            for (int epoch = 0; epoch < 2; epoch++)
                AssertSame(sync.Epoch(epoch).ToList(), bg.Epoch(epoch).ToList());
        }
        var first = sync.Epoch(0).First();
        Assert.Equal([16, 3, 32, 32], first.Shape);
        // Augmentation differs between epochs for the same image (seeded by epoch and index).
        Assert.NotEqual(sync.GetBatch(0, 0).Images, sync.GetBatch(1, 0).Images);
    }

    [Fact]
    public void ResumingMidEpochReproducesTheRemainingBatches()
    {
        var ds = Datasets.FashionMnist(train: false, DataSource.Subset).Subset(Enumerable.Range(0, 50).ToArray());
        var loader = new DataLoader(ds, 8, shuffle: true, seed: 3, transform: Transform.FashionMnistTrain(), prefetch: 2);
        var full = loader.Epoch(2).ToList();
        var resumed = new DataLoader(ds, 8, shuffle: true, seed: 3, transform: Transform.FashionMnistTrain(), prefetch: 3).Epoch(2, startBatch: 4).ToList();
        AssertSame(full.Skip(4).ToList(), resumed);
        AssertSame([full[5]], [loader.GetBatch(2, 5)]);
        Assert.Empty(loader.Epoch(2, startBatch: loader.BatchesPerEpoch));
        Assert.Throws<ArgumentException>(() => loader.Epoch(0, startBatch: loader.BatchesPerEpoch + 1));
    }

    /// <summary>Counts calls and records the thread that runs it.</summary>
    private sealed class Probe : Transform
    {
        public int Calls;
        public readonly HashSet<int> Threads = new();
        public int FailAt = -1;
        public override Image Apply(Image image, Generator gen)
        {
            int n = Interlocked.Increment(ref Calls);
            lock (Threads) Threads.Add(Environment.CurrentManagedThreadId);
            if (n == FailAt) throw new InvalidDataException("probe failure");
            return image.Clone();
        }
    }

    [Fact]
    public void PrefetchRunsOnAnotherThreadAndStaysBounded()
    {
        var probe = new Probe();
        var loader = new DataLoader(Indexed(100), 4, transform: probe, prefetch: 2);
        using (var e = loader.Epoch(0).GetEnumerator())
        {
            Assert.True(e.MoveNext());
            Thread.Sleep(300); // let the worker fill the queue
            // Consumed 1 batch; at most 2 queued plus 1 being built: 4 batches · 4 images.
            Assert.InRange(probe.Calls, 4, 16);
            Assert.DoesNotContain(Environment.CurrentManagedThreadId, probe.Threads);
        } // disposing the enumerator early stops the worker
        int after = probe.Calls;
        Thread.Sleep(100);
        Assert.Equal(after, probe.Calls);
        // Breaking out of a foreach is fine too, and the loader can be used again.
        foreach (var b in loader.Epoch(1)) break;
        Assert.Equal(25, loader.Epoch(2).Count());
    }

    [Fact]
    public void AFailureOnTheWorkerSurfacesInTheLoop()
    {
        var probe = new Probe { FailAt = 10 };
        var loader = new DataLoader(Indexed(20), 4, transform: probe, prefetch: 2);
        // The worker's own exception, with its type: a bad image stays a data error, not a generic failure.
        var e = Assert.Throws<InvalidDataException>(() => loader.Epoch(0).ToList());
        Assert.Contains("probe failure", e.Message);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void BatchesBecomeTensors(string device)
    {
        var loader = new DataLoader(Indexed(5), 2, shuffle: true, seed: 9);
        var batch = loader.GetBatch(0, 1);
        using var scope = new TensorScope();
        var (x, y) = batch.ToTensors(Device.Get(device));
        Assert.Equal([2, 1, 2, 2], x.Shape);
        Assert.Equal(batch.Images, x.ToArray());
        Assert.Equal([2], y.Shape);
        Assert.Equal(batch.Labels, y.ToIntArray());
    }
}
