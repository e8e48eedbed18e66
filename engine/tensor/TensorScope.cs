namespace ScratchNet;

/// <summary>
/// Deterministic memory release for the tensors of one step. C# has no reference counting, so instead
/// of waiting for the garbage collector every tensor created while a scope is open is registered with
/// it, and disposing the scope gives all their buffers back to the device's caching allocator:
/// <code>
/// for (...) {
///     using var scope = new TensorScope();
///     var loss = lossFn.Forward(model.Forward(x), y);
///     loss.Backward(); opt.Step();
/// }   // activations, gradients of activations and temporaries go back to the pool here
/// </code>
/// Parameters, their gradients and optimizer state are created outside any scope and stay.
/// Without a scope, the engine releases a step's intermediates itself (see <see cref="TensorMemory"/>), at the cost of a
/// small garbage collection per step.
/// <see cref="Keep"/> moves a tensor out to the enclosing scope (or makes it unscoped).
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _parent;
    private readonly List<Tensor> _tensors = new();
    private bool _disposed;

    /// <summary>Opens a scope on this thread: every tensor created until it is disposed belongs to it.</summary>
    public TensorScope()
    {
        _parent = _current;
        _current = this;
    }

    internal static TensorScope? Current => _current;

    internal void Register(Tensor t) => _tensors.Add(t);
    internal bool Unregister(Tensor t) => _tensors.Remove(t);

    /// <summary>Keeps t alive after this scope ends: it moves to the enclosing scope, or, from the outermost one, it becomes
    /// an unscoped tensor, released once unreachable (see <see cref="TensorMemory"/>).</summary>
    public Tensor Keep(Tensor t)
    {
        if (!_tensors.Remove(t)) return t;
        if (_parent is not null) _parent.Register(t);
        else t.LeaveScope();
        return t;
    }

    /// <summary>The number of tensors this scope will dispose.</summary>
    public int Count => _tensors.Count;

    /// <summary>Disposes every tensor of the scope (their buffers go back to the pools) and closes it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current != this)
            throw new InvalidOperationException("TensorScope: scopes must be disposed in reverse order of creation");
        _current = _parent;
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
