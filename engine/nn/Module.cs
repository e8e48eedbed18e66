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
/// Subclasses create their parameters with <see cref="RegisterParameter"/>, their children with
/// <see cref="RegisterModule{T}"/>, and implement <see cref="Forward"/>.
/// </summary>
public abstract class Module
{
    // Parameters live in slots (not fields of the subclasses) so that To(device) can swap in the moved
    // tensors; subclasses read them back with GetParameter("weight").
    private readonly List<string> _parameterOrder = new();
    private readonly Dictionary<string, Tensor> _parameters = new();
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

    /// <summary>Adds a child module; its parameters are renamed to <c>name.childPath</c>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        _children.Add((name, module));
        foreach (var (path, p) in module.NamedParameters()) p.Name = name + "." + path;
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: a parameter or module name must be non-empty and contain no '.', got '{name}'");
        if (_parameters.ContainsKey(name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{GetType().Name}: the name '{name}' is already used");
    }

    /// <summary>The parameter registered under <paramref name="name"/> (its current tensor, after any To()).</summary>
    protected Tensor GetParameter(string name) =>
        _parameters.TryGetValue(name, out var p) ? p : throw new ArgumentException($"{GetType().Name}: no parameter named '{name}'");

    /// <summary>The parameter registered under <paramref name="name"/>, or null (an optional bias).</summary>
    protected Tensor? GetParameterOrNull(string name) => _parameters.GetValueOrDefault(name);

    // ---------------------------------------------------------------- traversal

    /// <summary>Direct children with their names, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

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

    /// <summary>Number of scalar parameters (sum of the parameters' element counts).</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Numel);

    /// <summary>The device of the parameters (cpu for a module without parameters).</summary>
    public Device Device => Parameters().FirstOrDefault()?.Device ?? Device.Cpu;

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
    /// Moves every parameter to <paramref name="device"/>. The moved parameters are new leaf tensors (their
    /// old buffers and gradients are released), so create the optimizer after moving the model.
    /// </summary>
    public Module To(Device device)
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var name in m._parameterOrder)
            {
                var old = m._parameters[name];
                if (old.Device == device) continue;
                var moved = old.To(device).Unscoped();
                moved.RequiresGrad = true;
                moved.Name = old.Name;
                m._parameters[name] = moved;
                old.Grad?.Dispose();
                old.Dispose();
            }
        }
        return this;
    }

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
