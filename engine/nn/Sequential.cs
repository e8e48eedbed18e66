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

    public Sequential() { }

    public Sequential(params Module[] modules)
    {
        foreach (var m in modules) Append(m);
    }

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

    public int Count => _layers.Count;
    public Module this[int index] => _layers[index];

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
