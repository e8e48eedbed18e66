using ScratchNet.Kernels;

namespace ScratchNet;

/// <summary>
/// Define-by-run reverse-mode autodiff, in the style of micrograd's engine.py.
///
/// Every op computes its output y and, when any input requires a gradient, records on y:
///   - Parents: the inputs;
///   - BackwardFn: a closure that reads y.Grad and ACCUMULATES (+=) into each parent's gradient.
/// Accumulation is what makes a tensor used twice (x + x, a skip connection) get the sum of both paths.
///
/// loss.Backward() sorts the graph topologically (every node after all of its inputs), seeds
/// d(loss)/d(loss) = 1 and calls each BackwardFn in reverse order, so a node's gradient is complete
/// before it is pushed further back. Gradients of leaves (parameters) live outside any TensorScope so
/// they survive the step; ZeroGrad() resets them.
///
/// Memory, as PyTorch with retain_graph=False: a non-leaf's gradient is released as soon as its node has pushed it
/// back (it is only a relay; <see cref="RetainGrad"/> keeps it), and each node's closure and links to its inputs are
/// dropped once it has run, so what only the graph held (activations no one else references, max-pool indices, dropout
/// masks) becomes unreachable; outside a TensorScope, <see cref="TensorMemory"/> then returns those buffers to the pool
/// at the end of Backward(). A second Backward() through a freed graph is an error naming the op; pass
/// retainGraph: true to the first one to backpropagate twice.
/// For op authors: a backward closure must capture the Tensor objects it reads (x, y, an index tensor), never only their
/// Storage or a raw view of it: outside a scope, reachability of the Tensor is what keeps its buffer out of the pool.
/// </summary>
public sealed partial class Tensor
{
    internal Tensor[] Parents = [];
    internal Action? BackwardFn;
    // Set by SetBackward and never cleared: a tensor stays a non-leaf after Backward() has freed its graph.
    private bool _hasGradFn;
    private bool _graphFreed;
    private bool _retainGrad;
    private Tensor? _retainedGrad;

    /// <summary>The op that produced this tensor ("" for leaves).</summary>
    public string Op { get; private set; } = "";
    /// <summary>True for tensors no recorded op produced: parameters, inputs, and results computed without gradients.</summary>
    public bool IsLeaf => !_hasGradFn;

    [ThreadStatic] private static int _noGradDepth;
    /// <summary>False inside a <see cref="NoGrad"/> scope (on this thread).</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    /// <summary>Inside a NoGrad scope ops record nothing (evaluation, optimizer updates).</summary>
    public static IDisposable NoGrad() => new NoGradScope();

    private sealed class NoGradScope : IDisposable
    {
        private bool _done;
        public NoGradScope() => _noGradDepth++;
        public void Dispose() { if (!_done) { _done = true; _noGradDepth--; } }
    }

    /// <summary>Whether an op with these inputs must record a backward.</summary>
    internal static bool NeedsGrad(params Tensor?[] inputs)
    {
        if (_noGradDepth > 0) return false;
        foreach (var t in inputs) if (t is not null && t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Records the backward closure on an op's output (a no-op when no input needs a gradient).</summary>
    internal Tensor SetBackward(string op, Tensor?[] parents, Action backward)
    {
        Op = op;
        if (!NeedsGrad(parents)) return this;
        Parents = parents.Where(p => p is not null && p.RequiresGrad).ToArray()!;
        BackwardFn = backward;
        _hasGradFn = true;
        _requiresGrad = true;
        return this;
    }

    /// <summary>
    /// The storage to accumulate this tensor's gradient into, created as zeros on first use.
    /// Leaves get theirs outside any scope (it persists across steps, like PyTorch's .grad).
    /// </summary>
    internal Storage GradStorage()
    {
        if (_grad is null)
        {
            var g = Empty(Shape, Device);
            if (IsLeaf) g.Unscoped();
            g.Backend.Fill(g.Storage, 0f, g.Numel);
            _grad = g;
        }
        return _grad.Storage;
    }

    /// <summary>
    /// Keeps this non-leaf tensor's gradient after Backward() (torch.Tensor.retain_grad): .Grad then holds d(loss)/d(this),
    /// summed over later Backward() calls, like a leaf's. Without it a non-leaf's gradient is released during Backward().
    /// </summary>
    public Tensor RetainGrad()
    {
        if (!IsLeaf) _retainGrad = true;
        return this;
    }

    /// <summary>Backpropagates from this scalar: fills .Grad of every tensor that requires it.</summary>
    /// <param name="retainGraph">Keep the graph (and what it saved) for another Backward() through it; by default it is freed as
    /// the pass goes, and its intermediates are released (see <see cref="TensorMemory"/>).</param>
    public void Backward(bool retainGraph = false)
    {
        if (Numel != 1)
            throw new ArgumentException($"Backward: can only start from a one-element tensor (a loss), got shape {ShapeString}");
        var seed = Ones(Shape, Device);
        try { Backward(seed, retainGraph); }
        finally { seed.Dispose(); }
    }

    /// <summary>Backpropagates with an explicit upstream gradient dL/d(this) of the same shape.</summary>
    /// <param name="gradient">dL/d(this), on this tensor's device.</param>
    /// <param name="retainGraph">Keep the graph for another Backward() through it (see <see cref="Backward(bool)"/>).</param>
    public void Backward(Tensor gradient, bool retainGraph = false)
    {
        RunBackward(gradient, retainGraph);
        // Here, after RunBackward's frame is gone: its locals (the node list) must not keep the step's tensors reachable
        // during the check, and whether the JIT reports them dead before the method returns depends on its tier.
        if (!retainGraph && TensorScope.Current is null) TensorMemory.AfterBackward();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void RunBackward(Tensor gradient, bool retainGraph)
    {
        Check.SameShape("Backward", this, gradient);
        Check.SameDevice("Backward", this, gradient);
        if (!RequiresGrad) throw new ArgumentException("Backward: this tensor does not require grad (no parameter or input on its path has RequiresGrad = true)");

        var order = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // Iterative post-order DFS (deep nets would overflow a recursive one).
        var stack = new Stack<(Tensor node, int next)>();
        stack.Push((this, 0)); seen.Add(this);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (node._graphFreed)
                throw new InvalidOperationException(
                    $"Backward: the graph through '{node.Op}' {node.ShapeString} was already freed by an earlier Backward(); pass retainGraph: true " +
                    "to the first Backward() to backpropagate through it again, or Detach() what should not be backpropagated through");
            if (next < node.Parents.Length)
            {
                stack.Push((node, next + 1));
                var p = node.Parents[next];
                if (seen.Add(p)) stack.Push((p, 0));
            }
            else order.Add(node);
        }

        // A non-leaf's gradient is per pass: one retained from an earlier pass must not be added into this one.
        foreach (var node in order)
            if (node._hasGradFn && node._grad is not null) node.KeepGradOfPass();

        Backend.Axpy(1f, gradient.Storage, GradStorage(), Numel);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            if (node.BackwardFn is not null && node._grad is not null)
            {
                node._grad.Storage.ThrowIfDisposed($"Backward through {node.Op}");
                // Named by the output's and the inputs' shapes: conv4 and conv5 of AlexNet-CIFAR share their output shape.
                if (Profiler.Enabled) Profiler.Time($"bwd {node.Op} {node.ShapeString} <- {string.Join(" ", node.Parents.Select(p => p.ShapeString))}", Device, node.BackwardFn);
                else node.BackwardFn();
            }
            // The node has pushed its gradient to its inputs: the gradient was only a relay, and without retainGraph nothing
            // will run this closure again, so what it captured (saved activations, indices, masks) can go.
            node.KeepGradOfPass();
            if (!retainGraph) node.ReleaseGraph(freed: true);
            // A leaf comes after every node that reads it in this reverse topological walk: its gradient is final here.
            if (node._postAccumulateGradHooks is { } hooks && !node._hasGradFn && node._grad is not null)
                foreach (var hook in hooks.ToArray()) hook(node);
        }
    }

    private List<Action<Tensor>>? _postAccumulateGradHooks;

    /// <summary>
    /// torch.Tensor.register_post_accumulate_grad_hook: <paramref name="hook"/> runs during Backward() as soon as this leaf's
    /// .Grad holds the whole pass's contribution, while the rest of the graph is still being backpropagated (distributed data
    /// parallel starts a gradient bucket's all-reduce from here). Dispose the result to remove the hook.
    /// </summary>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf) throw new ArgumentException($"RegisterPostAccumulateGradHook: only leaf tensors (parameters) take this hook; this one comes from '{Op}'");
        if (!RequiresGrad) throw new ArgumentException($"RegisterPostAccumulateGradHook: tensor {ShapeString} does not require grad");
        (_postAccumulateGradHooks ??= []).Add(hook);
        return new HookHandle(this, hook);
    }

    private sealed class HookHandle(Tensor owner, Action<Tensor> hook) : IDisposable
    {
        public void Dispose() => owner._postAccumulateGradHooks?.Remove(hook);
    }

    /// <summary>Ends a pass for a non-leaf: its gradient of the pass is added to the retained one (RetainGrad) or released.</summary>
    private void KeepGradOfPass()
    {
        var g = _grad;
        if (g is null || !_hasGradFn) return;
        _grad = null;
        if (!_retainGrad) { g.Dispose(); return; }
        if (_retainedGrad is null) { _retainedGrad = g; return; }
        Backend.Axpy(1f, g.Storage, _retainedGrad.Storage, Numel);
        g.Dispose();
    }

    /// <summary>Drops this node's closure and links to its inputs (freed: a later Backward() through it is an error).</summary>
    private void ReleaseGraph(bool freed)
    {
        if (BackwardFn is null && Parents.Length == 0) return;
        BackwardFn = null;
        Parents = [];
        if (freed) _graphFreed = true;
    }

    /// <summary>A tensor sharing this one's values but cut from the graph (no gradient flows through it).</summary>
    public Tensor Detach()
    {
        var t = new Tensor(Shape, Device, DType, Storage);
        return t;
    }

    /// <summary>Sets .Grad back to zero (keeps the buffer, as PyTorch's zero_grad(set_to_none=False)).</summary>
    public void ZeroGrad()
    {
        if (Grad is { } g) Backend.Fill(g.Storage, 0f, g.Numel);
    }
}
