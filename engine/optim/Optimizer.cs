using ScratchNet.Kernels;

namespace ScratchNet.optim;

/// <summary>
/// Base class of optimizers (torch.optim.Optimizer): the parameters, the learning rate, and the per-parameter
/// state (momentum buffers, Adam moments) with per-parameter step counts.
///
/// Usage, as in PyTorch: <c>opt.ZeroGrad(); loss.Backward(); opt.Step();</c>. Step() runs under NoGrad,
/// skips parameters whose Grad is null, and updates each parameter in place with one fused kernel
/// (kernels/optim/). State tensors are created on first use, outside any TensorScope, so they live as long
/// as the optimizer. For checkpoints, <see cref="StateTensors"/> lists them under stable names
/// ("state.{i}.momentum_buffer", "state.{i}.exp_avg", "state.{i}.exp_avg_sq", i = index of the parameter, as
/// in PyTorch's state_dict); it creates any that are missing, so a fresh optimizer can be restored with
/// <c>foreach (var (name, t) in opt.StateTensors()) t.CopyFrom(saved[name]); opt.StepCount = savedSteps;</c>
/// and its next Step() is the one the saved optimizer would have made.
/// The optimizer holds the parameter tensors themselves: Module.To(device) moves them in place, so an optimizer created
/// before the move keeps training the module, and its state follows on the next step.
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<(int Index, string Key), Tensor> _state = new();
    private readonly long[] _parameterSteps;
    private float _lr;
    private long _stepCount;

    /// <summary>Holds <paramref name="parameters"/> (distinct Float32 leaves, at least one) and the learning rate <paramref name="lr"/> (≥ 0);
    /// an ArgumentException names the optimizer and the offending parameter otherwise.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float lr)
    {
        string op = GetType().Name;
        if (parameters is null) throw new ArgumentException($"{op}: parameters is null");
        var list = parameters.ToList();
        if (list.Count == 0) throw new ArgumentException($"{op}: got an empty parameter list");
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < list.Count; i++)
        {
            var p = list[i] ?? throw new ArgumentException($"{op}: parameter {i} is null");
            if (p.DType != DType.Float32) throw new ArgumentException($"{op}: parameter {i} {p.ShapeString} is {p.DType}; only Float32 tensors can be optimized");
            if (!p.IsLeaf) throw new ArgumentException($"{op}: parameter {i} {p.ShapeString} is not a leaf (it comes from op {p.Op}); optimize leaves only");
            if (!seen.Add(p)) throw new ArgumentException($"{op}: parameter {i} ({p.Name ?? p.ShapeString}) appears more than once in the parameter list");
        }
        Parameters = list;
        _parameterSteps = new long[list.Count];
        LearningRate = lr;
    }

    /// <summary>The tensors updated by Step(), in the order given (the i of "state.{i}.*").</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The learning rate; may be changed between steps (learning-rate schedules). Must be ≥ 0.</summary>
    public float LearningRate
    {
        get => _lr;
        set
        {
            if (!(value >= 0f)) throw new ArgumentException($"{GetType().Name}: invalid learning rate {value} (must be >= 0)");
            _lr = value;
        }
    }

    /// <summary>optimizer.zero_grad(set_to_none=False): every parameter's Grad set back to zero, its buffer kept (Tensor.ZeroGrad).</summary>
    public void ZeroGrad() { foreach (var p in Parameters) p.ZeroGrad(); }

    /// <summary>optimizer.step(): one update of every parameter that has a gradient, in place, under NoGrad; StepCount advances.</summary>
    public abstract void Step();

    /// <summary>Named state tensors (momentum buffers, Adam moments) for checkpoints.</summary>
    public abstract IEnumerable<(string Name, Tensor State)> StateTensors();

    /// <summary>
    /// Step counter (Adam's t), saved with the state: the number of Step() calls so far. Each parameter also
    /// counts its own updates (PyTorch's state['step']), which differ only for a parameter that had no gradient
    /// on some steps. Setting this property (restoring a checkpoint) sets every parameter's count to the value.
    /// </summary>
    public long StepCount
    {
        get => _stepCount;
        set
        {
            if (value < 0) throw new ArgumentException($"{GetType().Name}: StepCount must be >= 0, got {value}");
            _stepCount = value;
            Array.Fill(_parameterSteps, value);
        }
    }

    /// <summary>
    /// The body of Step(): under NoGrad, calls update(i, p, grad, step) for every parameter that has a gradient,
    /// where step counts this parameter's updates including this one (1 on its first update).
    /// </summary>
    protected void UpdateEach(Action<int, Tensor, Tensor, long> update)
    {
        using var noGrad = Tensor.NoGrad();
        string op = GetType().Name;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            var g = p.Grad;
            if (g is null) continue;
            p.Storage.ThrowIfDisposed($"{op}.Step");
            g.Storage.ThrowIfDisposed($"{op}.Step");
            if (g.Numel != p.Numel || g.Device != p.Device || g.DType != DType.Float32)
                throw new ArgumentException($"{op}.Step: parameter {i} {p.ShapeString} on {p.Device} has a gradient {g.ShapeString} {g.DType} on {g.Device}");
        }
        _stepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is not { } g) continue;
            update(i, p, g, ++_parameterSteps[i]);
        }
    }

    /// <summary>The state tensor `key` of parameter i, created as zeros (shape and device of the parameter) on
    /// first use, outside any TensorScope so that it persists. Its Name is "state.{i}.{key}". It follows its parameter:
    /// after Module.To(device) moved the parameter, the state moves (in place) on its next use.</summary>
    protected Tensor State(int i, string key)
    {
        var p = Parameters[i];
        if (!_state.TryGetValue((i, key), out var t))
        {
            t = Tensor.Zeros(p.Shape, p.Device).Unscoped();
            t.Name = $"state.{i}.{key}";
            _state[(i, key)] = t;
        }
        else if (t.Device != p.Device) t.MoveTo(p.Device);
        return t;
    }

    /// <summary>State `key` of every parameter, as (name, tensor), creating the missing ones.</summary>
    protected IEnumerable<(string, Tensor)> AllStates(params string[] keys)
    {
        var list = new List<(string, Tensor)>();
        for (int i = 0; i < Parameters.Count; i++)
            foreach (var key in keys)
            {
                var t = State(i, key);
                list.Add((t.Name!, t));
            }
        return list;
    }

    /// <summary>Throws an ArgumentException "{optimizer}: {message}" unless <paramref name="ok"/> (hyper-parameter checks of the constructors).</summary>
    protected void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException($"{GetType().Name}: {message}");
    }
}

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay:
/// torch.optim.SGD. Per element (kernels/optim/Optim.cs): d = g + λ·p; with momentum m, buf = d on the
/// parameter's first update and buf = m·buf + (1 − dampening)·d after; d = d + m·buf (Nesterov) or buf;
/// p −= lr·d.
/// </summary>
public sealed class SGD : Optimizer
{
    /// <summary>torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov). Throws ArgumentException for a negative lr, momentum
    /// or weight decay, a non-finite dampening, or Nesterov without momentum &gt; 0 and zero dampening.</summary>
    public SGD(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr)
    {
        Require(momentum >= 0f, $"invalid momentum {momentum} (must be >= 0)");
        Require(weightDecay >= 0f, $"invalid weight decay {weightDecay} (must be >= 0)");
        Require(float.IsFinite(dampening), $"invalid dampening {dampening}");
        Require(!nesterov || (momentum > 0f && dampening == 0f), $"Nesterov momentum requires a momentum > 0 and zero dampening (got momentum {momentum}, dampening {dampening})");
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Momentum factor m (0: plain SGD, no buffer).</summary>
    public float Momentum { get; }
    /// <summary>Dampening of the momentum: buf = m·buf + (1 − dampening)·d.</summary>
    public float Dampening { get; }
    /// <summary>L2 penalty λ: d = g + λ·p.</summary>
    public float WeightDecay { get; }
    /// <summary>Nesterov momentum: d = d + m·buf instead of d = buf.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public override void Step() => UpdateEach((i, p, g, step) =>
    {
        Storage? buffer = Momentum != 0f ? State(i, "momentum_buffer").Storage : null;
        p.Device.Backend.SgdStep(p.Storage, g.Storage, buffer, p.Numel, LearningRate, Momentum, Dampening, WeightDecay, Nesterov, firstStep: step == 1);
    });

    /// <summary>"state.{i}.momentum_buffer" for every parameter; nothing without momentum (PyTorch keeps none).</summary>
    public override IEnumerable<(string, Tensor)> StateTensors() => Momentum != 0f ? AllStates("momentum_buffer") : [];
}

/// <summary>
/// Adam with L2 weight decay added to the gradient: torch.optim.Adam (amsgrad = False). Per element, at the
/// parameter's t-th update: g += λ·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
/// p −= lr · m̂ / (sqrt(v̂) + ε) with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
/// </summary>
public sealed class Adam : Optimizer
{
    /// <summary>torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay). Throws ArgumentException for a negative lr, eps or
    /// weight decay, or a beta outside [0, 1).</summary>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : base(parameters, lr)
    {
        Require(beta1 >= 0f && beta1 < 1f, $"invalid beta1 {beta1} (must be in [0, 1))");
        Require(beta2 >= 0f && beta2 < 1f, $"invalid beta2 {beta2} (must be in [0, 1))");
        Require(eps >= 0f, $"invalid eps {eps} (must be >= 0)");
        Require(weightDecay >= 0f, $"invalid weight decay {weightDecay} (must be >= 0)");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    /// <summary>β1, decay of the first-moment average m.</summary>
    public float Beta1 { get; }
    /// <summary>β2, decay of the second-moment average v.</summary>
    public float Beta2 { get; }
    /// <summary>ε added to √v̂ in the denominator.</summary>
    public float Eps { get; }
    /// <summary>L2 penalty λ added to the gradient: g += λ·p (not AdamW's decoupled decay).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override void Step() => UpdateEach((i, p, g, step) =>
        p.Device.Backend.AdamStep(p.Storage, g.Storage, State(i, "exp_avg").Storage, State(i, "exp_avg_sq").Storage, p.Numel,
            LearningRate, Beta1, Beta2, Eps, WeightDecay, step));

    /// <summary>"state.{i}.exp_avg" (m) and "state.{i}.exp_avg_sq" (v) for every parameter.</summary>
    public override IEnumerable<(string, Tensor)> StateTensors() => AllStates("exp_avg", "exp_avg_sq");
}
