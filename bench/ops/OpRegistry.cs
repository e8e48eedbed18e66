namespace ScratchNet.Bench;

/// <summary>
/// The kernel families `scratchnet check` and `scratchnet bench --op` know, in the order they run. Immutable: a test makes
/// its own with <see cref="With"/> (a fake op whose version returns wrong numbers) without touching <see cref="Default"/>.
/// </summary>
public sealed class OpRegistry
{
    private readonly List<KernelOp> _ops;

    /// <summary>A registry of these ops (family names must be distinct).</summary>
    public OpRegistry(IEnumerable<KernelOp> ops)
    {
        _ops = [.. ops];
        var twice = _ops.GroupBy(o => o.Family).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"OpRegistry: family '{twice.Key}' is registered twice");
    }

    /// <summary>Every family of kernels/: element-wise, GEMM, conv, bias, pool, activation, loss, dropout, reduce, optimizers, the tensor
    /// math's broadcast, reduce-along-a-dim and shape families, and batch normalisation.</summary>
    public static OpRegistry Default { get; } = new(
    [
        new ElementwiseOp(), new GemmOp(), new ConvOp(), new BiasOp(), new PoolOp(),
        new ActivationOp(), new LossOp(), new DropoutOp(), new ReduceOp(), new OptimOp(),
        new BroadcastOp(), new ReduceDimOp(), new ShapeOp(), new NormOp(),
    ]);

    /// <summary>The ops, in order.</summary>
    public IReadOnlyList<KernelOp> Ops => _ops;

    /// <summary>The family names, in order.</summary>
    public IReadOnlyList<string> Families => [.. _ops.Select(o => o.Family)];

    /// <summary>The op of a family, or null.</summary>
    public KernelOp? Find(string family) => _ops.FirstOrDefault(o => o.Family == family.Trim().ToLowerInvariant());

    /// <summary>This registry plus <paramref name="op"/>, last.</summary>
    public OpRegistry With(KernelOp op) => new([.. _ops, op]);
}
