namespace ScratchNet.optim;

// CONTRACT STUB (replaced by the loss/reduce/optim work).
/// <summary>Base class of optimizers (torch.optim.Optimizer).</summary>
public abstract class Optimizer
{
    protected Optimizer(IEnumerable<Tensor> parameters, float lr) { Parameters = parameters.ToList(); LearningRate = lr; }
    public IReadOnlyList<Tensor> Parameters { get; }
    public float LearningRate { get; set; }
    public void ZeroGrad() { foreach (var p in Parameters) p.ZeroGrad(); }
    public abstract void Step();
    /// <summary>Named state tensors (momentum buffers, Adam moments) for checkpoints.</summary>
    public abstract IEnumerable<(string Name, Tensor State)> StateTensors();
    /// <summary>Step counter (Adam's t), saved with the state.</summary>
    public long StepCount { get; set; }
}

public sealed class SGD(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false) : Optimizer(parameters, lr)
{
    public float Momentum { get; } = momentum;
    public float Dampening { get; } = dampening;
    public float WeightDecay { get; } = weightDecay;
    public bool Nesterov { get; } = nesterov;
    public override void Step() => throw new NotImplementedException("SGD pending");
    public override IEnumerable<(string, Tensor)> StateTensors() => throw new NotImplementedException("SGD pending");
}

public sealed class Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f) : Optimizer(parameters, lr)
{
    public float Beta1 { get; } = beta1;
    public float Beta2 { get; } = beta2;
    public float Eps { get; } = eps;
    public float WeightDecay { get; } = weightDecay;
    public override void Step() => throw new NotImplementedException("Adam pending");
    public override IEnumerable<(string, Tensor)> StateTensors() => throw new NotImplementedException("Adam pending");
}
