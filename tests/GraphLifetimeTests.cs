using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Tests;

// What Backward() frees (as PyTorch with retain_graph=False) and what it must keep, and the release of unscoped tensors:
// the no-scope training loop stays bounded in device memory, and every tensor the user holds stays readable.
public class GraphLifetimeTests
{
    [Fact]
    public void NonLeafGradients_AreReleased_UnlessRetained_AndRetainedOnesAccumulateLikeLeaves()
    {
        var x = Tensor.FromArray([1f, -2f, 3f], [3]); x.RequiresGrad = true;
        var h = x * 2f;
        var kept = F.Relu(h).RetainGrad();
        var loss = F.Sum(kept * kept);
        loss.Backward();
        Assert.Null(h.Grad);                                  // a relay: released during Backward
        Assert.Null(loss.Grad);
        Assert.Equal([4f, 0f, 12f], kept.Grad!.ToArray());    // 2·relu(2x)
        Assert.Equal([8f, 0f, 24f], x.Grad!.ToArray());
        Assert.False(h.IsLeaf);                                // still a non-leaf after its graph is freed
        Assert.Equal([2f, -4f, 6f], h.ToArray());              // and still readable

        // retainGraph: a second pass adds the same gradient once more, to leaves and retained non-leaves alike
        // (the per-pass gradient of a non-leaf never leaks into the next pass).
        var y = F.Relu(x * 2f).RetainGrad();
        var l2 = F.Sum(y * y);
        x.ZeroGrad();
        l2.Backward(retainGraph: true);
        l2.Backward();
        Assert.Equal([16f, 0f, 48f], x.Grad!.ToArray());
        Assert.Equal([8f, 0f, 24f], y.Grad!.ToArray());
    }

    [Fact]
    public void ASecondBackwardThroughAFreedGraph_IsAnErrorNamingTheOp()
    {
        var x = Tensor.FromArray([1f, 2f], [2]); x.RequiresGrad = true;
        var h = F.Sigmoid(x);
        F.Sum(h).Backward();
        var e = Assert.Throws<InvalidOperationException>(() => F.Sum(h * 2f).Backward());
        Assert.Contains("sigmoid", e.Message);
        Assert.Contains("retainGraph: true", e.Message);
        // Detach() cuts the freed part off: backpropagating into the new graph alone works.
        var w = Tensor.FromArray([3f, 4f], [2]); w.RequiresGrad = true;
        F.Sum(h.Detach() * w).Backward();
        Assert.Equal(h.ToArray(), w.Grad!.ToArray());
    }

    private static Sequential Net(Device d, Generator gen) =>
        new(new Conv2d(1, 4, 3, padding: 1, generator: gen, device: d), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Dropout(0.25f, gen), new Linear(4 * 8 * 8, 16, generator: gen, device: d), new ReLU(), new Linear(16, 3, generator: gen, device: d));

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void TrainingWithoutAScope_KeepsDeviceMemoryBounded_AndWhatTheUserHoldsReadable(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(5);
        var model = Net(d, gen);
        var opt = new SGD(model.Parameters(), 0.05f, momentum: 0.9f);
        var x = Tensor.Uniform([8, 1, 16, 16], -1, 1, gen, d);
        var y = Tensor.Labels([0, 1, 2, 0, 1, 2, 0, 1], d);
        // A low threshold makes every Backward() check, as a real model's step (megabytes) does.
        long threshold = TensorMemory.BackwardThresholdBytes;
        TensorMemory.BackwardThresholdBytes = 1;
        try
        {
            int steps = device == "cpu" ? 400 : 12;
            long inUseAfterWarmup = 0, maxInUse = 0;
            float firstLoss = 0;
            Tensor? logits = null, loss = null;
            for (int step = 0; step < steps; step++)
            {
                opt.ZeroGrad();
                logits = model.Forward(x);
                loss = F.CrossEntropy(logits, y);
                loss.Backward();
                opt.Step();
                if (step == 0) firstLoss = loss.Item();
                if (step == 5) inUseAfterWarmup = d.Memory.BytesInUse;
                if (step > 5) maxInUse = Math.Max(maxInUse, d.Memory.BytesInUse);
            }
            // Between steps only the parameters, their gradients and momentum, the batch and the last step's logits and loss
            // are alive: the bytes in use do not grow with the number of steps.
            Assert.True(maxInUse <= inUseAfterWarmup + 4096, $"bytes in use grew from {inUseAfterWarmup} to {maxInUse} over {steps} steps");
            Assert.True(loss!.Item() < firstLoss, $"loss {firstLoss} → {loss.Item()}: the loop must learn");
            Assert.Equal(3 * 8, logits!.ToArray().Length);    // held by the user: readable after Backward and Step
        }
        finally { TensorMemory.BackwardThresholdBytes = threshold; }
    }

    [Fact]
    public void Collect_ReleasesUnreachableTensorsOnly()
    {
        var d = Device.Get("cpu", new Kernels.DeviceOptions { Kernels = Kernels.KernelPath.Reference });   // a pool of its own
        TensorMemory.Collect(full: true);
        long before = d.Memory.BytesInUse;
        var held = Tensor.Full([1000], 7f, d);
        MakeGarbage(d);
        TensorMemory.Collect(full: true);
        Assert.Equal(before + 4 * CachingBucket(1000), d.Memory.BytesInUse);
        Assert.All(held.ToArray(), v => Assert.Equal(7f, v));
        GC.KeepAlive(held);

        // Disposed explicitly, then found unreachable: the storage goes back once.
        var t = Tensor.Zeros([1000], d);
        t.Dispose();
        t.Dispose();
        TensorMemory.Collect();
        Assert.Equal(before + 4 * CachingBucket(1000), d.Memory.BytesInUse);
    }

    private static long CachingBucket(long n) => Kernels.CachingAllocator<object>.BucketSize(n);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeGarbage(Device d)
    {
        for (int i = 0; i < 10; i++) F.Relu(Tensor.Full([5000], -1f, d));
    }
}
