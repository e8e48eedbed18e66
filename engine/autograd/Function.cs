using ScratchNet.Kernels;

namespace ScratchNet.autograd;

/// <summary>
/// An op with a hand-written backward, in the shape of torch.autograd.Function: subclass it, write
/// <see cref="Forward"/> and <see cref="Backward"/>, and call <see cref="Apply"/>.
/// <code>
/// sealed class Swish : Function            // y = x·σ(x),  dy/dx = σ(x)·(1 + x·(1 − σ(x)))
/// {
///     protected override Tensor Forward(FunctionContext ctx, Tensor[] x)
///     {
///         var s = F.Sigmoid(x[0]);
///         ctx.SaveForBackward(x[0], s);
///         return x[0] * s;
///     }
///     protected override Tensor?[] Backward(FunctionContext ctx, Tensor gy)
///     {
///         var (x, s) = (ctx.SavedTensors[0], ctx.SavedTensors[1]);
///         return [gy * s * (Tensor.Ones(x.Shape, x.Device) + x * (Tensor.Ones(x.Shape, x.Device) - s))];
///     }
/// }
/// var y = new Swish().Apply(x);   // records one node, "Swish", whose backward is the method above
/// </code>
/// Forward runs without recording a graph (its ops are not differentiated); it may compute with any F.* op, on any
/// device, or launch kernels of its own (<see cref="Tensor.AsArrayView"/>, <see cref="Tensor.AsSpan"/>). Backward receives
/// dL/dy and returns one gradient per input, in input order, each of the input's shape and on its device (null: no
/// gradient for that input); the engine adds them into the inputs' gradients, so returning <c>gy</c> itself is fine.
/// A gradient of the wrong shape, device or type is an ArgumentException naming the Function and the input.
/// Backward is not differentiated itself (no double backward). <see cref="nn.GradCheck"/> checks a Function against finite
/// differences: <c>GradCheck.Run(new Swish(), [x])</c>.
///
/// Memory: tensors saved for backward live as long as the graph; Backward() without retainGraph frees the node after
/// running it, and what only it held is then released like any intermediate (see <see cref="TensorMemory"/>).
/// </summary>
public abstract class Function
{
    /// <summary>The name of the op in the graph and in error messages (the class name by default).</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Computes the output from the inputs (grad mode is off). Save what Backward needs with ctx.SaveForBackward.</summary>
    protected abstract Tensor Forward(FunctionContext ctx, Tensor[] inputs);

    /// <summary>
    /// dL/d(inputs[i]) for every input, from dL/dy (<paramref name="gradOutput"/>, the output's shape). Return an array with
    /// one entry per input; null where no gradient flows (ctx.NeedsInputGrad[i] says which are wanted). Grad mode is off.
    /// <paramref name="gradOutput"/> is valid only during this call.
    /// </summary>
    protected abstract Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput);

    /// <summary>Runs Forward on <paramref name="inputs"/> and, when one of them requires a gradient, records a node whose
    /// backward calls <see cref="Backward"/>.</summary>
    public Tensor Apply(params Tensor[] inputs)
    {
        if (inputs is null) throw new ArgumentException($"{Name}: inputs is null");
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null) throw new ArgumentException($"{Name}: input {i} is null");
            inputs[i].Storage.ThrowIfDisposed($"{Name}: input {i}");
        }
        var given = (Tensor[])inputs.Clone();
        var needs = given.Select(x => Tensor.IsGradEnabled && x.RequiresGrad).ToArray();
        var ctx = new FunctionContext(given, needs);

        Tensor output;
        using (Tensor.NoGrad())
            output = Forward(ctx, (Tensor[])given.Clone()) ?? throw new InvalidOperationException($"{Name}.Forward returned null");
        output.Storage.ThrowIfDisposed($"{Name}.Forward's output");
        if (!needs.Any(n => n)) return output;
        if (output.DType != DType.Float32)
            throw new ArgumentException($"{Name}.Forward: the output is {output.DType} {output.ShapeString}; only a Float32 output can carry gradients");
        // The node must be a tensor of its own: returning an input (identity) or a tensor of another graph gets an alias.
        if (output.RequiresGrad || !output.IsLeaf || Array.Exists(given, x => ReferenceEquals(x, output))) output = output.Detach();

        var y = output;
        return y.SetBackward(Name, given, () => RunBackward(ctx, y));
    }

    private void RunBackward(FunctionContext ctx, Tensor y)
    {
        var inputs = ctx.Inputs;
        Tensor?[] grads;
        using (Tensor.NoGrad())
            grads = Backward(ctx, y.Grad!) ?? throw new InvalidOperationException($"{Name}.Backward returned null; return one gradient (or null) per input");
        if (grads.Length != inputs.Length)
            throw new ArgumentException($"{Name}.Backward returned {grads.Length} gradient(s) for {inputs.Length} input(s); return one per input, null where none flows");
        // Every gradient is checked before any is accumulated: a failed backward leaves the inputs' gradients untouched.
        for (int i = 0; i < grads.Length; i++)
        {
            var g = grads[i];
            if (g is null) continue;
            var x = inputs[i];
            g.Storage.ThrowIfDisposed($"{Name}.Backward: the gradient for input {i}");
            if (!g.Shape.SequenceEqual(x.Shape))
                throw new ArgumentException($"{Name}.Backward: the gradient for input {i} has shape {g.ShapeString}, but input {i} has shape {x.ShapeString}");
            if (g.Device != x.Device)
                throw new ArgumentException($"{Name}.Backward: the gradient for input {i} is on {g.Device}, but input {i} {x.ShapeString} is on {x.Device}");
            if (g.DType != DType.Float32)
                throw new ArgumentException($"{Name}.Backward: the gradient for input {i} is {g.DType}; gradients are Float32");
        }
        for (int i = 0; i < grads.Length; i++)
        {
            var x = inputs[i];
            if (grads[i] is { } g && x.RequiresGrad) x.Backend.Axpy(1f, g.Storage, x.GradStorage(), x.Numel);
        }
    }
}

/// <summary>
/// What one call of a <see cref="Function"/> keeps between its forward and its backward (PyTorch's ctx): the tensors saved
/// for backward, which inputs need a gradient, and any other values (<see cref="Items"/>).
/// </summary>
public sealed class FunctionContext
{
    private Tensor[] _saved = [];

    internal FunctionContext(Tensor[] inputs, bool[] needsInputGrad)
    {
        Inputs = inputs;
        NeedsInputGrad = needsInputGrad;
    }

    internal Tensor[] Inputs { get; }

    /// <summary>NeedsInputGrad[i]: whether input i requires a gradient (Backward may return null for the others).</summary>
    public IReadOnlyList<bool> NeedsInputGrad { get; }

    /// <summary>Keeps tensors for Backward (inputs, the output, or intermediates computed in Forward); replaces any saved before.</summary>
    public void SaveForBackward(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        for (int i = 0; i < tensors.Length; i++)
            if (tensors[i] is null) throw new ArgumentException($"SaveForBackward: tensor {i} is null");
        _saved = (Tensor[])tensors.Clone();
    }

    /// <summary>The tensors given to SaveForBackward, in order.</summary>
    public IReadOnlyList<Tensor> SavedTensors
    {
        get
        {
            for (int i = 0; i < _saved.Length; i++)
                _saved[i].Storage.ThrowIfDisposed($"SavedTensors[{i}] (was the TensorScope it was created in disposed before Backward?)");
            return _saved;
        }
    }

    /// <summary>Non-tensor values Forward passes to Backward (sizes, scalars, flags).</summary>
    public Dictionary<string, object?> Items { get; } = new();
}
