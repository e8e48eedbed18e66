using ILGPU;
using ILGPU.Runtime;
using ScratchNet.autograd;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// Custom ops with a hand-written backward (autograd.Function): forward and backward, saved tensors, GradCheck on every
// device, the errors of a bad backward, and a Function that launches ILGPU kernels of its own.
public class FunctionTests
{
    /// <summary>y = x·σ(x); dy/dx = σ(x)·(1 + x·(1 − σ(x))), computed from the saved x and σ(x).</summary>
    private sealed class Swish : Function
    {
        public int BackwardCalls;

        protected override Tensor Forward(FunctionContext ctx, Tensor[] x)
        {
            var s = F.Sigmoid(x[0]);
            ctx.SaveForBackward(x[0], s);
            return x[0] * s;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy)
        {
            BackwardCalls++;
            var x = ctx.SavedTensors[0];
            var s = ctx.SavedTensors[1];
            var one = Tensor.Ones(x.Shape, x.Device);
            return [gy * s * (one + x * (one - s))];
        }
    }

    /// <summary>y = a ⊙ b + c·2 with c's gradient left out on purpose when asked (null), and a scale read from ctx.Items.</summary>
    private sealed class MulAdd(bool skipC = false) : Function
    {
        public bool[]? Needs;

        protected override Tensor Forward(FunctionContext ctx, Tensor[] x)
        {
            Needs = ctx.NeedsInputGrad.ToArray();
            ctx.SaveForBackward(x[0], x[1]);
            ctx.Items["scale"] = 2f;
            return x[0] * x[1] + x[2] * 2f;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy)
        {
            float scale = (float)ctx.Items["scale"]!;
            return [gy * ctx.SavedTensors[1], gy * ctx.SavedTensors[0], skipC ? null : gy * scale];
        }
    }

    /// <summary>Returns its input itself: the output must still be a node of its own.</summary>
    private sealed class Identity : Function
    {
        protected override Tensor Forward(FunctionContext ctx, Tensor[] x) => x[0];
        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy) => [gy];
    }

    /// <summary>A Function whose backward is whatever the test says.</summary>
    private sealed class Bad(Func<Tensor[], Tensor, Tensor?[]> backward) : Function
    {
        private Tensor[] _inputs = [];
        public override string Name => "MyBadOp";
        protected override Tensor Forward(FunctionContext ctx, Tensor[] x) { _inputs = x; return x[0] * 1f; }
        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy) => backward(_inputs, gy);
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void Swish_ForwardAndBackward_MatchTheMath(string device)
    {
        var d = Device.Get(device);
        var xs = TestUtil.RandomArray(new Generator(1), 12, -3f, 3f);
        var x = Tensor.FromArray(xs, [3, 4], d);
        x.RequiresGrad = true;
        var swish = new Swish();
        var y = swish.Apply(x);
        Assert.Equal("Swish", y.Op);
        Assert.False(y.IsLeaf);
        F.Sum(y).Backward();
        Assert.Equal(1, swish.BackwardCalls);

        var yv = y.ToArray();
        var g = x.Grad!.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            double s = 1 / (1 + Math.Exp(-xs[i]));
            Assert.Equal(xs[i] * s, yv[i], 5);
            Assert.Equal(s * (1 + xs[i] * (1 - s)), g[i], 5);
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void GradCheck_PassesOnACorrectFunction_AndFailsOnAWrongOne(string device)
    {
        var d = Device.Get(device);
        var gen = new Generator(2);
        Tensor R(params int[] shape) => Tensor.Uniform(shape, -1.5f, 1.5f, gen, d);

        var swish = GradCheck.Run(new Swish(), [R(2, 5)]);
        Assert.True(swish.Passed, swish.ToString());

        var mulAdd = GradCheck.Run(new MulAdd(), [R(3, 3), R(3, 3), R(3, 3)]);
        Assert.True(mulAdd.Passed, mulAdd.ToString());
        Assert.Equal(["input0", "input1", "input2"], mulAdd.Tensors.Select(t => t.Name));

        // A backward off by a factor of 2 on input 0 is caught there, and only there.
        var wrong = GradCheck.Run(new Bad((x, gy) => [gy * 2f]), [R(4)]);
        Assert.False(wrong.Passed, wrong.ToString());

        // Any differentiable function of several tensors, Int32 inputs passed through.
        var labels = Tensor.Labels([1, 0, 2], d);
        var ce = GradCheck.Run(xs => F.CrossEntropy(new Swish().Apply(xs[0]), xs[1]), [R(3, 4), labels]);
        Assert.True(ce.Passed, ce.ToString());
        Assert.Equal(["input0"], ce.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void SavedTensors_NeedsInputGrad_NullGradients_AndAliasedOutputs()
    {
        var a = Tensor.FromArray([1f, 2f], [2]); a.RequiresGrad = true;
        var b = Tensor.FromArray([3f, 4f], [2]);                 // no gradient wanted
        var c = Tensor.FromArray([5f, 6f], [2]); c.RequiresGrad = true;
        var fn = new MulAdd(skipC: true);
        var y = fn.Apply(a, b, c);
        Assert.Equal([true, false, true], fn.Needs!);
        Assert.Equal([13f, 20f], y.ToArray());
        F.Sum(y).Backward();
        Assert.Equal([3f, 4f], a.Grad!.ToArray());
        Assert.Null(b.Grad);
        Assert.Null(c.Grad);                                     // Backward returned null for c: nothing flows

        // A Function that returns its input gets a node of its own; the gradient flows through it.
        var x0 = Tensor.FromArray([1f, -1f], [2]); x0.RequiresGrad = true;
        var z = new Identity().Apply(x0);
        Assert.NotSame(x0, z);
        Assert.Equal("Identity", z.Op);
        (F.Sum(z) * 3f).Backward();
        Assert.Equal([3f, 3f], x0.Grad!.ToArray());

        // Without any input requiring a gradient nothing is recorded.
        using (Tensor.NoGrad()) Assert.True(new Swish().Apply(a).IsLeaf);
    }

    [Fact]
    public void BadGradients_AreArgumentExceptionsNamingTheFunctionTheInputAndTheShapesOrDevices()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);
        x.RequiresGrad = true;
        void Expect(Func<Tensor[], Tensor, Tensor?[]> backward, params string[] parts)
        {
            var y = new Bad(backward).Apply(x);
            var e = Assert.Throws<ArgumentException>(() => F.Sum(y).Backward());
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Expect((_, gy) => [Tensor.Ones([4])], "MyBadOp", "input 0", "[4]", "[2, 2]");
        Expect((_, gy) => [Tensor.Ones([2, 2], Device.Get("ilgpu-cpu"))], "MyBadOp", "input 0", "ilgpu-cpu", "cpu");
        Expect((_, gy) => [gy, gy], "MyBadOp", "2 gradient(s)", "1 input(s)");
        Expect((_, gy) => [Tensor.Labels([1, 2, 3, 4]).Reshape(2, 2)], "MyBadOp", "input 0", "Int32");
        Assert.Null(x.Grad);   // every gradient is checked before any is accumulated
    }

    // ---------------------------------------------------------------- kernels of one's own

    private static void SquareKernel(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = x[i] * x[i];
    private static void SquareBackwardKernel(Index1D i, ArrayView<float> x, ArrayView<float> gy, ArrayView<float> gx) => gx[i] = 2f * x[i] * gy[i];

    /// <summary>y = x², by an ILGPU kernel of the user's on ILGPU devices and a span loop on the cpu.</summary>
    private sealed class Square : Function
    {
        private static readonly Dictionary<Accelerator, (Action<Index1D, ArrayView<float>, ArrayView<float>> Fwd,
                                                          Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Bwd)> Kernels = new();

        private static (Action<Index1D, ArrayView<float>, ArrayView<float>>, Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>) For(Accelerator acc)
        {
            lock (Kernels)
            {
                if (!Kernels.TryGetValue(acc, out var k))
                    Kernels[acc] = k = (acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(SquareKernel),
                                        acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(SquareBackwardKernel));
                return k;
            }
        }

        protected override Tensor Forward(FunctionContext ctx, Tensor[] inputs)
        {
            var x = inputs[0];
            ctx.SaveForBackward(x);
            var y = Tensor.Empty(x.Shape, x.Device);
            if (x.Device.Accelerator is { } acc) For(acc).Item1(x.Numel, x.AsArrayView(), y.AsArrayView());
            else
            {
                Span<float> xs = x.AsSpan(), ys = y.AsSpan();
                for (int i = 0; i < xs.Length; i++) ys[i] = xs[i] * xs[i];
            }
            return y;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy)
        {
            var x = ctx.SavedTensors[0];
            var gx = Tensor.Empty(x.Shape, x.Device);
            if (x.Device.Accelerator is { } acc) For(acc).Item2(x.Numel, x.AsArrayView(), gy.AsArrayView(), gx.AsArrayView());
            else
            {
                Span<float> xs = x.AsSpan(), g = gy.AsSpan(), o = gx.AsSpan();
                for (int i = 0; i < xs.Length; i++) o[i] = 2f * xs[i] * g[i];
            }
            return [gx];
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void AFunctionCanRunKernelsOfItsOwn_OrderedWithTheEnginesKernels(string device)
    {
        var d = Device.Get(device);
        Assert.Equal(d.Name == "cpu", d.Accelerator is null);
        var x = Tensor.FromArray([1f, -2f, 3f, 0.5f, -1.5f], [5], d);
        x.RequiresGrad = true;
        // The engine's ops before and after the kernel: relu(x)·3 → square → sum.
        var y = new Square().Apply(F.Relu(x) * 3f);
        Assert.Equal([9f, 0f, 81f, 2.25f, 0f], y.ToArray());
        F.Sum(y).Backward();
        Assert.Equal([18f, 0f, 54f, 9f, 0f], x.Grad!.ToArray());

        var report = GradCheck.Run(new Square(), [Tensor.Uniform([3, 7], -2f, 2f, new Generator(3), d)]);
        Assert.True(report.Passed, report.ToString());

        var wrongDevice = Assert.Throws<InvalidOperationException>(() => d.Name == "cpu" ? x.AsArrayView().Length : x.AsSpan().Length);
        Assert.Contains(d.Name, wrongDevice.Message);
    }
}
