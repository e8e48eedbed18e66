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
/// </summary>
public sealed partial class Tensor
{
    internal Tensor[] Parents = [];
    internal Action? BackwardFn;
    /// <summary>The op that produced this tensor ("" for leaves).</summary>
    public string Op { get; private set; } = "";
    public bool IsLeaf => BackwardFn is null;

    [ThreadStatic] private static int _noGradDepth;
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

    /// <summary>Backpropagates from this scalar: fills .Grad of every tensor that requires it.</summary>
    public void Backward()
    {
        if (Numel != 1)
            throw new ArgumentException($"Backward: can only start from a one-element tensor (a loss), got shape {ShapeString}");
        Backward(Ones(Shape, Device));
    }

    /// <summary>Backpropagates with an explicit upstream gradient dL/d(this) of the same shape.</summary>
    public void Backward(Tensor gradient)
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
            if (next < node.Parents.Length)
            {
                stack.Push((node, next + 1));
                var p = node.Parents[next];
                if (seen.Add(p)) stack.Push((p, 0));
            }
            else order.Add(node);
        }

        Backend.Axpy(1f, gradient.Storage, GradStorage(), Numel);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            if (node.BackwardFn is null || node._grad is null) continue;
            node.Grad!.Storage.ThrowIfDisposed($"Backward through {node.Op}");
            // Named by the output's and the inputs' shapes: conv4 and conv5 of AlexNet-CIFAR share their output shape.
            if (Profiler.Enabled) Profiler.Time($"bwd {node.Op} {node.ShapeString} <- {string.Join(" ", node.Parents.Select(p => p.ShapeString))}", Device, node.BackwardFn);
            else node.BackwardFn();
        }
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
        if (_grad is not null) Backend.Fill(_grad.Storage, 0f, _grad.Numel);
    }
}
