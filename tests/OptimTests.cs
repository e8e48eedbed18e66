using ScratchNet.Kernels;
using ScratchNet.optim;

namespace ScratchNet.Tests;

// SGD and Adam. The definition (Reference.SgdStep / AdamStep, kernels/optim/Optim.Reference.cs) against a double-precision
// transcription of torch.optim.SGD / torch.optim.Adam over several steps; every version (each cpu vector path, the cpu
// default, the ILGPU kernels) through the optimizers against the definition over the same steps; checkpoint state round
// trips, and argument checks.
public class OptimTests
{
    // [40, 60] is bigger than one launch of the grid, so the grid-stride loops are exercised.
    static readonly int[][] ParamShapes = [[5, 7], [3], [40, 60]];
    const int Steps = 5;

    /// <summary>Parameters updated step by step with PyTorch's per-parameter state: a parameter without a gradient is skipped
    /// and its own step count (state['step']) does not advance. The update is either PyTorch's formulas in double or Reference's.</summary>
    sealed class Stepper<T>(Func<int, T[], T[], int, T[]> update)
    {
        public readonly Dictionary<int, int> StepsOf = new();
        public void Step(T[][] ps, T[]?[] gs)
        {
            for (int i = 0; i < ps.Length; i++)
            {
                if (gs[i] is null) continue;
                StepsOf[i] = StepsOf.GetValueOrDefault(i) + 1;
                ps[i] = update(i, ps[i], gs[i]!, StepsOf[i]);
            }
        }
    }

    // The math, for Reference_MatchesPyTorchFormulas only: the per-parameter update, in double, exactly as written in
    // PyTorch's _single_tensor_sgd / _single_tensor_adam.

    static Stepper<double> SgdInDouble(double lr, double momentum, double dampening, double wd, bool nesterov, Dictionary<int, double[]> bufs) => new((i, p, g, step) =>
    {
        var d = g.Select((v, k) => wd != 0 ? v + wd * p[k] : v).ToArray();
        if (momentum != 0)
        {
            var buf = step == 1 ? (double[])d.Clone() : bufs[i].Select((b, k) => momentum * b + (1 - dampening) * d[k]).ToArray();
            bufs[i] = buf;
            d = nesterov ? d.Select((v, k) => v + momentum * buf[k]).ToArray() : buf;
        }
        return p.Select((v, k) => v - lr * d[k]).ToArray();
    });

    static Stepper<double> AdamInDouble(double lr, double b1, double b2, double eps, double wd, Dictionary<int, double[]> ms, Dictionary<int, double[]> vs) => new((i, p, g0, t) =>
    {
        var g = g0.Select((v, k) => wd != 0 ? v + wd * p[k] : v).ToArray();
        var m = ms.GetValueOrDefault(i) ?? new double[p.Length];
        var v = vs.GetValueOrDefault(i) ?? new double[p.Length];
        m = m.Select((x, k) => b1 * x + (1 - b1) * g[k]).ToArray();
        v = v.Select((x, k) => b2 * x + (1 - b2) * g[k] * g[k]).ToArray();
        ms[i] = m; vs[i] = v;
        double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
        return p.Select((x, k) => x - lr * (m[k] / bc1) / (Math.Sqrt(v[k] / bc2) + eps)).ToArray();
    });

    // The definition: Reference's update on float copies, the state kept as the optimizers keep it.

    static Stepper<float> ReferenceSgd(float lr, float momentum, float dampening, float wd, bool nesterov, Dictionary<int, float[]> bufs) => new((i, p, g, step) =>
    {
        var q = (float[])p.Clone();
        if (momentum != 0 && !bufs.ContainsKey(i)) bufs[i] = new float[p.Length];
        Reference.SgdStep(q, g, momentum != 0 ? bufs[i] : null, p.Length, lr, momentum, dampening, wd, nesterov, firstStep: step == 1);
        return q;
    });

    static Stepper<float> ReferenceAdam(float lr, float b1, float b2, float eps, float wd, Dictionary<int, float[]> ms, Dictionary<int, float[]> vs) => new((i, p, g, t) =>
    {
        var q = (float[])p.Clone();
        if (!ms.ContainsKey(i)) { ms[i] = new float[p.Length]; vs[i] = new float[p.Length]; }
        Reference.AdamStep(q, g, ms[i], vs[i], p.Length, lr, b1, b2, eps, wd, t);
        return q;
    });

    static readonly (float Lr, float Momentum, float Dampening, float Wd, bool Nesterov)[] SgdConfigs =
    [
        (0.1f, 0f, 0f, 0f, false),       // plain
        (0.1f, 0f, 0f, 0.01f, false),    // weight decay
        (0.05f, 0.9f, 0f, 0f, false),    // momentum
        (0.05f, 0.9f, 0.3f, 0f, false),  // dampening
        (0.05f, 0.9f, 0f, 0f, true),     // nesterov
        (0.05f, 0.8f, 0.1f, 0.05f, false),
        (0.05f, 0.7f, 0f, 0.02f, true),
    ];

    static readonly (float Lr, float B1, float B2, float Eps, float Wd)[] AdamConfigs =
    [
        (1e-3f, 0.9f, 0.999f, 1e-8f, 0f),   // PyTorch's defaults
        (0.01f, 0.9f, 0.999f, 1e-8f, 0.1f), // with weight decay
        (0.05f, 0.8f, 0.99f, 1e-6f, 0f),
        (0.02f, 0.5f, 0.9f, 1e-3f, 0.01f),
    ];

    static Tensor[] MakeParams(Device d, Generator g) => ParamShapes.Select(s =>
    {
        var t = Tensor.FromArray(TestUtil.RandomArray(g, Tensor.NumelOf(s)), s, d);
        t.RequiresGrad = true;
        return t;
    }).ToArray();

    /// <summary>Random gradients for one step. With skipFirst, parameter 1 has none on step 0 (it must be skipped,
    /// and its own step count must start one later, as PyTorch's per-parameter state['step']).</summary>
    static float[]?[] Grads(Generator g, int step, bool skipFirst = true) =>
        ParamShapes.Select((s, i) => skipFirst && i == 1 && step == 0 ? null : TestUtil.RandomArray(g, Tensor.NumelOf(s))).ToArray();

    static void SetGrads(Tensor[] ps, float[]?[] gs)
    {
        for (int i = 0; i < ps.Length; i++)
            ps[i].Grad = gs[i] is null ? null : Tensor.FromArray(gs[i]!, ps[i].Shape, ps[i].Device);
    }

    /// <summary>Reference's updates against PyTorch's formulas in double, side by side for Steps steps on the parameters and
    /// gradients of RunAgainstReference, comparing parameters and state.</summary>
    static void CompareWithPyTorch(Stepper<float> reference, Stepper<double> math, Func<int, float[]?>[] states, Func<int, double[]?>[] mathStates,
        string[] stateKeys, string what)
    {
        var g = new Generator(31);
        var ps = ParamShapes.Select(s => TestUtil.RandomArray(g, Tensor.NumelOf(s))).ToArray();
        var mathPs = ps.Select(TestUtil.ToDouble).ToArray();
        for (int step = 0; step < Steps; step++)
        {
            var grads = Grads(g, step);
            reference.Step(ps, grads);
            math.Step(mathPs, grads.Select(a => a is null ? null : TestUtil.ToDouble(a)).ToArray());
            for (int i = 0; i < ps.Length; i++)
                TestUtil.AssertClose(mathPs[i], ps[i], 1e-5f, 1e-5f, $"{what}: parameter {i} after step {step + 1}");
        }
        for (int i = 0; i < ps.Length; i++)
            for (int k = 0; k < stateKeys.Length; k++)
                TestUtil.AssertClose(mathStates[k](i)!, states[k](i)!, 1e-5f, 1e-5f, $"{what}: {stateKeys[k]} of parameter {i}");
    }

    /// <summary>The definition itself, independent of it: Reference.SgdStep and AdamStep against PyTorch's formulas in double.</summary>
    [Fact]
    public void Reference_MatchesPyTorchFormulas()
    {
        foreach (var c in SgdConfigs)
        {
            var bufs = new Dictionary<int, float[]>(); var mathBufs = new Dictionary<int, double[]>();
            string[] keys = c.Momentum != 0 ? ["momentum_buffer"] : [];
            CompareWithPyTorch(ReferenceSgd(c.Lr, c.Momentum, c.Dampening, c.Wd, c.Nesterov, bufs),
                SgdInDouble(c.Lr, c.Momentum, c.Dampening, c.Wd, c.Nesterov, mathBufs), [i => bufs[i]], [i => mathBufs[i]], keys, $"Reference SGD {c}");
        }
        foreach (var c in AdamConfigs)
        {
            var ms = new Dictionary<int, float[]>(); var vs = new Dictionary<int, float[]>();
            var mathMs = new Dictionary<int, double[]>(); var mathVs = new Dictionary<int, double[]>();
            CompareWithPyTorch(ReferenceAdam(c.Lr, c.B1, c.B2, c.Eps, c.Wd, ms, vs), AdamInDouble(c.Lr, c.B1, c.B2, c.Eps, c.Wd, mathMs, mathVs),
                [i => ms[i], i => vs[i]], [i => mathMs[i], i => mathVs[i]], ["exp_avg", "exp_avg_sq"], $"Reference Adam {c}");
        }
    }

    /// <summary>Runs the optimizer and Reference side by side for Steps steps, comparing parameters and state.</summary>
    static void RunAgainstReference(Device d, Func<Tensor[], Optimizer> make, Stepper<float> reference,
        Func<int, float[]?>[] states, string[] stateKeys, string what)
    {
        var g = new Generator(31);
        var ps = MakeParams(d, g);
        var opt = make(ps);
        var refPs = ps.Select(p => p.ToArray()).ToArray();
        for (int step = 0; step < Steps; step++)
        {
            var grads = Grads(g, step);
            SetGrads(ps, grads);
            opt.Step();
            reference.Step(refPs, grads);
            Assert.Equal(step + 1, opt.StepCount);
            for (int i = 0; i < ps.Length; i++)
                TestUtil.AssertClose(refPs[i], ps[i].ToArray(), 1e-5f, 1e-5f, $"{what}: parameter {i} after step {step + 1}");
        }
        var named = opt.StateTensors().ToDictionary(s => s.Item1, s => s.Item2);
        for (int i = 0; i < ps.Length; i++)
            for (int k = 0; k < stateKeys.Length; k++)
                TestUtil.AssertClose(states[k](i)!, named[$"state.{i}.{stateKeys[k]}"].ToArray(), 1e-5f, 1e-5f, $"{what}: {stateKeys[k]} of parameter {i}");
    }

    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Sgd_MatchesReference(string version)
    {
        var d = KernelVersions.Device(version);
        foreach (var c in SgdConfigs)
        {
            var bufs = new Dictionary<int, float[]>();
            string[] keys = c.Momentum != 0 ? ["momentum_buffer"] : [];
            RunAgainstReference(d, ps => new SGD(ps, c.Lr, c.Momentum, c.Dampening, c.Wd, c.Nesterov),
                ReferenceSgd(c.Lr, c.Momentum, c.Dampening, c.Wd, c.Nesterov, bufs), [i => bufs[i]], keys, $"{version} SGD {c}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelVersions.All), MemberType = typeof(KernelVersions))]
    public void Adam_MatchesReference(string version)
    {
        var d = KernelVersions.Device(version);
        foreach (var c in AdamConfigs)
        {
            var ms = new Dictionary<int, float[]>(); var vs = new Dictionary<int, float[]>();
            RunAgainstReference(d, ps => new Adam(ps, c.Lr, c.B1, c.B2, c.Eps, c.Wd), ReferenceAdam(c.Lr, c.B1, c.B2, c.Eps, c.Wd, ms, vs),
                [i => ms[i], i => vs[i]], ["exp_avg", "exp_avg_sq"], $"{version} Adam {c}");
        }
        // the defaults are PyTorch's
        var adam = new Adam([Tensor.Zeros([1])]);
        Assert.Equal((1e-3f, 0.9f, 0.999f, 1e-8f, 0f), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Eps, adam.WeightDecay));
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void RestoredState_MakesTheNextStepIdentical(string device)
    {
        var d = Device.Get(device);
        var makers = new (string Name, Func<Tensor[], Optimizer> Make)[]
        {
            ("sgd", ps => new SGD(ps, 0.05f, momentum: 0.9f, dampening: 0.5f, weightDecay: 0.01f)),
            ("adam", ps => new Adam(ps, 0.01f, weightDecay: 0.01f)),
        };
        foreach (var (name, make) in makers)
        {
            var g = new Generator(32);
            var a = MakeParams(d, g);
            var optA = make(a);
            // (every parameter has a gradient on every step: a checkpoint stores one step count, see Optimizer.StepCount)
            for (int step = 0; step < 3; step++) { SetGrads(a, Grads(g, step, skipFirst: false)); optA.Step(); }

            // the checkpoint: parameters, named state, step count
            var saved = optA.StateTensors().ToDictionary(s => s.Item1, s => s.Item2.ToArray());
            Assert.NotEmpty(saved);
            var b = a.Select(p => { var t = Tensor.FromArray(p.ToArray(), p.Shape, d); t.RequiresGrad = true; return t; }).ToArray();
            var fresh = b.Select(p => { var t = Tensor.FromArray(p.ToArray(), p.Shape, d); t.RequiresGrad = true; return t; }).ToArray();
            var optB = make(b);
            var restored = optB.StateTensors().ToList();
            Assert.Equal(saved.Keys.Order(), restored.Select(s => s.Item1).Order());
            foreach (var (n, t) in restored) t.CopyFrom(saved[n]);
            optB.StepCount = optA.StepCount;
            var optFresh = make(fresh);

            var grads = Grads(g, 3);
            SetGrads(a, grads); SetGrads(b, grads); SetGrads(fresh, grads);
            optA.Step(); optB.Step(); optFresh.Step();
            for (int i = 0; i < a.Length; i++)
                Assert.Equal(a[i].ToArray(), b[i].ToArray());   // bit for bit
            var stateA = optA.StateTensors().ToDictionary(s => s.Item1, s => s.Item2.ToArray());
            foreach (var (n, t) in optB.StateTensors()) Assert.Equal(stateA[n], t.ToArray());
            // and the state matters: without it the step differs
            Assert.NotEqual(a[0].ToArray(), fresh[0].ToArray());
            Assert.Equal(4, optB.StepCount);
        }
    }

    [Theory]
    [MemberData(nameof(TestUtil.Devices), MemberType = typeof(TestUtil))]
    public void State_OutlivesTensorScope_AndHasStableNames(string device)
    {
        var d = Device.Get(device);
        var g = new Generator(33);
        var ps = MakeParams(d, g);
        var sgd = new SGD(ps, 0.1f, momentum: 0.9f);
        var adam = new Adam(ps);
        for (int step = 0; step < 3; step++)
        {
            using var scope = new TensorScope();
            // a tiny training step: loss = Σ p², gradient 2p, built inside the scope
            sgd.ZeroGrad(); adam.ZeroGrad();
            foreach (var p in ps) F.Sum(p * p).Backward();
            sgd.Step();
            adam.Step();
        }
        Assert.Equal(ps.Select((_, i) => $"state.{i}.momentum_buffer"), sgd.StateTensors().Select(s => s.Item1));
        Assert.Equal(ps.SelectMany((_, i) => new[] { $"state.{i}.exp_avg", $"state.{i}.exp_avg_sq" }), adam.StateTensors().Select(s => s.Item1));
        foreach (var (_, t) in sgd.StateTensors().Concat(adam.StateTensors()))
            Assert.Contains(t.ToArray(), v => v != 0f);   // readable after the scopes ended, and written
        Assert.Empty(new SGD(ps, 0.1f).StateTensors());   // no momentum: no state, as PyTorch
        foreach (var p in ps) Assert.True(p.IsLeaf);
    }

    [Fact]
    public void BadInput_IsRejected()
    {
        var p = Tensor.Zeros([3]); p.RequiresGrad = true;
        var e = Assert.Throws<ArgumentException>(() => new SGD([p], -0.1f));
        Assert.Contains("SGD", e.Message); Assert.Contains("learning rate", e.Message); Assert.Contains("-0.1", e.Message);
        Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => new Adam([p], -1e-3f)).Message);
        Assert.Throws<ArgumentException>(() => new SGD([p], 0.1f, momentum: -0.5f));
        Assert.Throws<ArgumentException>(() => new SGD([p], 0.1f, weightDecay: -1f));
        Assert.Throws<ArgumentException>(() => new SGD([p], 0.1f, nesterov: true));
        Assert.Throws<ArgumentException>(() => new SGD([p], 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Adam([p], beta1: 1f));
        Assert.Throws<ArgumentException>(() => new Adam([p], beta2: -0.1f));
        Assert.Throws<ArgumentException>(() => new Adam([p], eps: -1f));
        Assert.Throws<ArgumentException>(() => new Adam([p], weightDecay: -1f));
        Assert.Throws<ArgumentException>(() => new SGD([], 0.1f));
        Assert.Throws<ArgumentException>(() => new SGD([p, p], 0.1f));
        Assert.Throws<ArgumentException>(() => new SGD([p * 2f], 0.1f));          // not a leaf
        Assert.Throws<ArgumentException>(() => new SGD([Tensor.Labels([1, 2])], 0.1f));
        var opt = new SGD([p], 0.1f);
        Assert.Throws<ArgumentException>(() => opt.LearningRate = -1f);
        Assert.Throws<ArgumentException>(() => opt.LearningRate = float.NaN);

        // a gradient that does not fit its parameter (shape or device): rejected before any kernel runs
        p.Grad = Tensor.Zeros([4]);
        e = Assert.Throws<ArgumentException>(() => opt.Step());
        Assert.Contains("[3]", e.Message); Assert.Contains("[4]", e.Message);
        p.Grad = Tensor.Zeros([3], Device.Get("ilgpu-cpu"));
        Assert.Throws<ArgumentException>(() => opt.Step());
        Assert.Equal(0, opt.StepCount);
        p.Grad = null;
        opt.Step();   // no gradient: nothing to do
        Assert.Equal(new float[3], p.ToArray());
    }
}
