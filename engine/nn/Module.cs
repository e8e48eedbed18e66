using System.Text;

namespace ScratchNet.nn;

/// <summary>
/// Base class of every layer and model (torch.nn.Module).
///
/// A module owns named parameters (leaf tensors with RequiresGrad = true, created outside any TensorScope
/// so they live across steps) and named child modules. Names compose into PyTorch module paths: the
/// weight of child "0" of child "features" is <c>features.0.weight</c>, exactly the key PyTorch's
/// state_dict() would use, so checkpoints and printed summaries line up with PyTorch code.
///
/// Subclasses create their parameters with <see cref="RegisterParameter"/>, their buffers (state that is not trained, such
/// as BatchNorm's running statistics) with <see cref="RegisterBuffer"/>, their children with <see cref="RegisterModule{T}"/>,
/// and implement <see cref="Forward"/>. <see cref="StateDict"/> lists what a checkpoint holds, under PyTorch's names.
/// </summary>
public abstract class Module
{
    // Parameters and buffers live in slots (not fields of the subclasses); subclasses read them back with
    // GetParameter("weight") / GetBuffer("running_mean"). To(device) moves them in place, so the tensors keep their identity.
    private readonly List<string> _parameterOrder = new();
    private readonly Dictionary<string, Tensor> _parameters = new();
    private readonly List<string> _bufferOrder = new();
    private readonly Dictionary<string, Tensor> _buffers = new();
    private readonly HashSet<string> _nonPersistent = new();
    private readonly List<(string Name, Module Module)> _children = new();

    /// <summary>True in training mode (Dropout drops), false in evaluation mode. Set for the whole tree with Train()/Eval().</summary>
    public bool Training { get; set; } = true;

    /// <summary>Computes the module's output; this is what a PyTorch module's forward() is.</summary>
    public abstract Tensor Forward(Tensor x);

    // ---------------------------------------------------------------- registration

    /// <summary>
    /// Adds a parameter named <paramref name="name"/> (no dots). The tensor is taken out of any TensorScope,
    /// marked RequiresGrad = true and named with its path.
    /// </summary>
    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        CheckName(name);
        if (parameter.DType != Kernels.DType.Float32)
            throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be Float32, got {parameter.DType}");
        parameter.Unscoped();
        parameter.RequiresGrad = true;
        parameter.Name = name;
        _parameterOrder.Add(name);
        _parameters[name] = parameter;
        return parameter;
    }

    /// <summary>
    /// Adds a buffer named <paramref name="name"/> (no dots): a tensor that belongs to the module's state but is not trained
    /// (torch.nn.Module.register_buffer), such as BatchNorm's running_mean. The tensor is taken out of any TensorScope, does not
    /// require gradients and is named with its path. Buffers move with <see cref="To(Device)"/>; a persistent buffer is part of
    /// <see cref="StateDict"/> (so it is saved and loaded with the weights), a non-persistent one is not.
    /// </summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer, bool persistent = true)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.RequiresGrad || !buffer.IsLeaf)
            throw new ArgumentException($"{GetType().Name}: buffer '{name}' must be a leaf without gradients (Detach() it); buffers are not trained");
        buffer.Storage.ThrowIfDisposed($"{GetType().Name}.RegisterBuffer");
        buffer.Unscoped();
        buffer.Name = name;
        _bufferOrder.Add(name);
        _buffers[name] = buffer;
        if (!persistent) _nonPersistent.Add(name);
        return buffer;
    }

    /// <summary>Adds a child module; its parameters and buffers are renamed to <c>name.childPath</c>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        _children.Add((name, module));
        foreach (var (path, p) in module.NamedParameters()) p.Name = name + "." + path;
        foreach (var (path, b) in module.NamedBuffers()) b.Name = name + "." + path;
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: a parameter, buffer or module name must be non-empty and contain no '.', got '{name}'");
        if (_parameters.ContainsKey(name) || _buffers.ContainsKey(name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{GetType().Name}: the name '{name}' is already used");
    }

    /// <summary>The parameter registered under <paramref name="name"/> (its current tensor, after any To()).</summary>
    protected Tensor GetParameter(string name) =>
        _parameters.TryGetValue(name, out var p) ? p : throw new ArgumentException($"{GetType().Name}: no parameter named '{name}'");

    /// <summary>The parameter registered under <paramref name="name"/>, or null (an optional bias).</summary>
    protected Tensor? GetParameterOrNull(string name) => _parameters.GetValueOrDefault(name);

    /// <summary>The buffer registered under <paramref name="name"/>.</summary>
    protected Tensor GetBuffer(string name) =>
        _buffers.TryGetValue(name, out var b) ? b : throw new ArgumentException($"{GetType().Name}: no buffer named '{name}'");

    // ---------------------------------------------------------------- traversal

    /// <summary>Direct children with their names, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>Direct children, in registration order.</summary>
    public IEnumerable<Module> Children() => _children.Select(c => c.Module);

    /// <summary>This module (path "") and every descendant, depth first, with its path (e.g. "features.0").</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name))
                yield return item;
    }

    /// <summary>All parameters of this module and its descendants with their PyTorch paths, in registration order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var name in _parameterOrder)
            yield return (prefix.Length == 0 ? name : prefix + "." + name, _parameters[name]);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedParameters(prefix.Length == 0 ? name : prefix + "." + name))
                yield return item;
    }

    /// <summary>All parameters (what an optimizer is given).</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>All buffers of this module and its descendants, persistent or not, with their paths (named_buffers()).</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var name in _bufferOrder)
            yield return (prefix.Length == 0 ? name : prefix + "." + name, _buffers[name]);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedBuffers(prefix.Length == 0 ? name : prefix + "." + name))
                yield return item;
    }

    /// <summary>All buffers (persistent or not).</summary>
    public IEnumerable<Tensor> Buffers() => NamedBuffers().Select(b => b.Buffer);

    /// <summary>
    /// What a checkpoint of this module holds, in PyTorch's state_dict() order and names: each module's parameters, then its
    /// persistent buffers, then its children's, recursively (<c>0.weight</c>, <c>0.bias</c>, <c>1.running_mean</c>, ...). Saving
    /// these with Safetensors.Save and loading them with Safetensors.LoadInto round-trips with PyTorch's save_file /
    /// load_state_dict.
    /// </summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateDict(string prefix = "")
    {
        string Path(string name) => prefix.Length == 0 ? name : prefix + "." + name;
        foreach (var name in _parameterOrder) yield return (Path(name), _parameters[name]);
        foreach (var name in _bufferOrder)
            if (!_nonPersistent.Contains(name)) yield return (Path(name), _buffers[name]);
        foreach (var (name, child) in _children)
            foreach (var item in child.StateDict(Path(name)))
                yield return item;
    }

    /// <summary>Number of scalar parameters (sum of the parameters' element counts).</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Numel);

    /// <summary>The device of the parameters (of the buffers without parameters; cpu for a module with neither).</summary>
    public Device Device => Parameters().FirstOrDefault()?.Device ?? Buffers().FirstOrDefault()?.Device ?? Device.Cpu;

    // ---------------------------------------------------------------- modes, gradients, devices

    /// <summary>Sets training mode on this module and every descendant (model.train(mode) in PyTorch).</summary>
    public Module Train(bool mode = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = mode;
        return this;
    }

    /// <summary>Evaluation mode for the whole tree: Dropout becomes the identity.</summary>
    public Module Eval() => Train(false);

    /// <summary>Resets the gradients of all parameters to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>
    /// Moves every parameter (with its gradient) and buffer to <paramref name="device"/>, in place, as torch.nn.Module.to: the
    /// tensors keep their identity, only their storage moves (the old buffers go back to their pools). An optimizer created
    /// before the move therefore still trains the module; its state follows the parameters on its next step. Call it between
    /// steps: a graph recorded before the move cannot be backpropagated after it.
    /// </summary>
    public Module To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach (var (_, m) in NamedModules())
        {
            foreach (var name in m._parameterOrder) m._parameters[name].MoveTo(device);
            foreach (var name in m._bufferOrder) m._buffers[name].MoveTo(device);
        }
        return this;
    }

    /// <summary>To(Device.Get(device)): "cpu", "ilgpu-cpu", "cuda", "opencl" or "auto".</summary>
    public Module To(string device) => To(Device.Get(device));

    // ---------------------------------------------------------------- printing

    /// <summary>The arguments shown between the parentheses of ToString(), e.g. "3, 64, kernel_size=(3, 3)".</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>A PyTorch-style tree: <c>Sequential(\n  (0): Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1))\n  ...)</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb, 0);
        return sb.ToString();
    }

    private void Append(StringBuilder sb, int indent)
    {
        sb.Append(GetType().Name).Append('(').Append(ExtraRepr());
        if (_children.Count == 0) { sb.Append(')'); return; }
        sb.Append('\n');
        foreach (var (name, child) in _children)
        {
            sb.Append(' ', indent + 2).Append('(').Append(name).Append("): ");
            child.Append(sb, indent + 2);
            sb.Append('\n');
        }
        sb.Append(' ', indent).Append(')');
    }
}
