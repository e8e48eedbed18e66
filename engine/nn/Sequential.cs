namespace ScratchNet.nn;

/// <summary>
/// A chain of modules applied in order (torch.nn.Sequential). Children given as a list are named "0", "1", ...,
/// so the first layer's weight is <c>0.weight</c>; children can also be given names, like PyTorch's
/// Sequential(OrderedDict(...)), which is how AlexNet names its <c>features</c> and <c>classifier</c>.
/// </summary>
public class Sequential : Module
{
    private readonly List<Module> _layers = new();
    private readonly List<string> _names = new();

    /// <summary>An empty chain; add modules with <see cref="Append"/>.</summary>
    public Sequential() { }

    /// <summary>torch.nn.Sequential(*modules): the modules in order, named "0", "1", ...</summary>
    public Sequential(params Module[] modules)
    {
        foreach (var m in modules) Append(m);
    }

    /// <summary>torch.nn.Sequential(OrderedDict(...)): the modules in order under the names given (state-dict keys "name.weight", ...).</summary>
    public Sequential(params (string Name, Module Module)[] modules)
    {
        foreach (var (name, m) in modules) { RegisterModule(name, m); _layers.Add(m); _names.Add(name); }
    }

    /// <summary>Adds a module at the end, named by its position.</summary>
    public Sequential Append(Module module)
    {
        _names.Add(_layers.Count.ToString());
        RegisterModule(_names[^1], module);
        _layers.Add(module);
        return this;
    }

    /// <summary>Number of modules in the chain (len(seq) in torch).</summary>
    public int Count => _layers.Count;
    /// <summary>The module at position <paramref name="index"/> (seq[i] in torch); ArgumentOutOfRangeException outside [0, Count).</summary>
    public Module this[int index] => _layers[index];

    /// <summary>Each module's Forward applied in order, the output of one the input of the next; with <see cref="Profiler.Enabled"/>, each layer is timed.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (Profiler.Enabled)
        {
            for (int i = 0; i < _layers.Count; i++)
            {
                var input = x;
                x = _layers[i] is Sequential inner ? inner.Forward(x)
                    : Profiler.Time($"fwd {_names[i]} {_layers[i].GetType().Name}", x.Device, () => _layers[i].Forward(input));
            }
            return x;
        }
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
