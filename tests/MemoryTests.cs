using ScratchNet.nn;
using ScratchNet.optim;

namespace ScratchNet.Tests;

// The caching allocator keeps device memory flat in a training loop: after the first steps every buffer a
// step needs comes from the pool, so the number of real allocations (cuMemAlloc on CUDA) stops growing.
public class MemoryTests
{
    [Theory]
    [InlineData("ilgpu-cpu")]
    [InlineData("cpu")]
    public void TrainingLoop_1000Steps_AllocationsStayFlat(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(5);
        var model = new Sequential(new Conv2d(1, 2, 3, padding: 1, generator: gen, device: d), new ReLU(), new MaxPool2d(2),
                                   new Flatten(), new Dropout(0.25f, gen), new Linear(2 * 4 * 4, 3, generator: gen, device: d));
        var opt = new SGD(model.Parameters(), 0.05f, momentum: 0.9f, weightDecay: 5e-4f);
        var x = Tensor.Uniform([2, 1, 8, 8], -1, 1, gen, d).Unscoped();
        var y = Tensor.Labels([0, 2], d).Unscoped();
        long afterWarmup = 0, reservedAfterWarmup = 0;
        float firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < 1000; step++)
        {
            using var scope = new TensorScope();
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            opt.Step();
            if (step == 0) firstLoss = loss.Item();
            if (step == 999) lastLoss = loss.Item();
            if (step == 2) { afterWarmup = d.Memory.Allocations; reservedAfterWarmup = d.Memory.BytesReserved; }
        }
        Assert.Equal(afterWarmup, d.Memory.Allocations);
        Assert.Equal(reservedAfterWarmup, d.Memory.BytesReserved);
        Assert.True(lastLoss < firstLoss * 0.2f, $"loss {firstLoss} → {lastLoss}: the loop must also learn");
    }
}
