using ScratchNet.Kernels;

namespace ScratchNet;

/// <summary>
/// An n-dimensional array of float32 (or int32 labels) on one device: contiguous and row-major, so
/// element (i0, i1, ..., ik) sits at offset ((i0·d1 + i1)·d2 + ...)·dk + ik. Images are NCHW.
///
/// A tensor is also a node of the autograd graph (see autograd/Autograd.cs): an op that produces it
/// records its parents and a closure that pushes this tensor's gradient back to them.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private Tensor? _grad;
    private bool _requiresGrad;
    // Lifetime: each tensor holds one reference to its storage and gives it back once: through its scope, Dispose(), or
    // (outside any scope) the lease that TensorMemory releases when the tensor becomes unreachable.
    private TensorMemory.Lease? _lease;
    private int _disposed;

    internal Tensor(int[] shape, Device device, DType dtype, Storage? storage = null)
    {
        Shape = Check.Shape("Tensor", shape);
        Numel = NumelOf(Shape);
        Device = device;
        DType = dtype;
        if (storage is null) Storage = device.Backend.Allocate(Numel, dtype);
        else { storage.Retain(); Storage = storage; }
        if (TensorScope.Current is { } scope) scope.Register(this);
        else _lease = TensorMemory.Track(this);
    }

    /// <summary>The size of each dimension, outermost first (NCHW for images).</summary>
    public int[] Shape { get; }
    /// <summary>The number of elements: the product of <see cref="Shape"/>.</summary>
    public int Numel { get; }
    /// <summary>Where the values live. Changes only when Module.To moves a parameter or buffer in place.</summary>
    public Device Device { get; private set; }
    /// <summary>Float32, or Int32 for labels and indices.</summary>
    public DType DType { get; }
    /// <summary>The device buffer (shared by reshape views). Changes only when Module.To moves a parameter or buffer in place.</summary>
    public Storage Storage { get; private set; }
    internal IBackend Backend => Device.Backend;
    /// <summary>The rank, Shape.Length (torch.Tensor.dim()); 0 for a one-element scalar tensor [].</summary>
    public int Dim => Shape.Length;
    /// <summary>Shape[dim] (torch.Tensor.size(dim)); a negative dim counts from the end (−1: the last).</summary>
    public int Size(int dim) => Shape[dim < 0 ? dim + Shape.Length : dim];
    /// <summary>Optional name (parameters carry their PyTorch module path, e.g. features.0.weight).</summary>
    public string? Name { get; set; }

    /// <summary>
    /// The gradient d(loss)/d(this), filled by Backward(); null until then. Leaves (parameters, inputs with RequiresGrad)
    /// accumulate it across Backward() calls until ZeroGrad(). A non-leaf keeps one only after <see cref="RetainGrad"/>,
    /// as in PyTorch: otherwise Backward() releases it once it has been pushed to the inputs.
    /// </summary>
    public Tensor? Grad { get => _grad ?? _retainedGrad; set => _grad = value; }

    /// <summary>Whether gradients flow to this tensor. Only leaves (parameters, inputs) may be set by hand.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf && !value) throw new ArgumentException($"RequiresGrad: cannot turn off gradients of a non-leaf tensor (op {Op}); use Detach()");
            if (value && DType != DType.Float32) throw new ArgumentException("RequiresGrad: only Float32 tensors can require gradients");
            _requiresGrad = value;
        }
    }

    /// <summary>The product of the sizes (1 for []); ArgumentException if it exceeds int.MaxValue.</summary>
    public static int NumelOf(int[] shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        if (n > int.MaxValue) throw new ArgumentException($"Tensor: shape [{string.Join(", ", shape)}] has {n} elements, more than {int.MaxValue}");
        return (int)n;
    }

    /// <summary>The shape as "[N, C, H, W]", as error messages name it.</summary>
    public string ShapeString => "[" + string.Join(", ", Shape) + "]";
    /// <summary>"Tensor[2, 3] Float32 on cpu (from op)": shape, dtype, device and the op that made it; the values are not read.</summary>
    public override string ToString() => $"Tensor{ShapeString} {DType} on {Device}{(Op.Length > 0 ? $" (from {Op})" : "")}";

    // ---------------------------------------------------------------- creation

    /// <summary>torch.empty: a tensor of <paramref name="shape"/> on <paramref name="device"/> (null: cpu) with unspecified values.
    /// ArgumentException for a size ≤ 0.</summary>
    public static Tensor Empty(int[] shape, Device? device = null, DType dtype = DType.Float32) => new(shape, device ?? Device.Cpu, dtype);

    /// <summary>torch.zeros: a Float32 tensor of zeros on <paramref name="device"/> (null: cpu).</summary>
    public static Tensor Zeros(int[] shape, Device? device = null) => Full(shape, 0f, device);
    /// <summary>torch.ones: a Float32 tensor of ones on <paramref name="device"/> (null: cpu).</summary>
    public static Tensor Ones(int[] shape, Device? device = null) => Full(shape, 1f, device);

    /// <summary>torch.full: a Float32 tensor with every element <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, float value, Device? device = null)
    {
        var t = Empty(shape, device);
        t.Backend.Fill(t.Storage, value, t.Numel);
        return t;
    }

    /// <summary>torch.tensor(data).reshape(shape): a Float32 tensor holding <paramref name="data"/> in row-major order (copied).
    /// ArgumentException unless data.Length is the shape's element count.</summary>
    public static Tensor FromArray(float[] data, int[] shape, Device? device = null)
    {
        var t = Empty(shape, device);
        if (data.Length != t.Numel)
            throw new ArgumentException($"FromArray: {data.Length} values do not fill shape {t.ShapeString} ({t.Numel} elements)");
        t.Backend.Upload(data, t.Storage);
        return t;
    }

    /// <summary>A 1-D Float32 tensor [data.Length] holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(float[] data, Device? device = null) => FromArray(data, [data.Length], device);

    /// <summary>An Int32 tensor of class labels (for CrossEntropyLoss) or indices.</summary>
    public static Tensor Labels(int[] labels, Device? device = null)
    {
        var t = Empty([labels.Length], device, DType.Int32);
        t.Backend.Upload(labels, t.Storage);
        return t;
    }

    /// <summary>Uniform U(low, high) from a seeded generator: the same seed gives the same values on every device.</summary>
    public static Tensor Uniform(int[] shape, float low, float high, Generator gen, Device? device = null)
    {
        var data = new float[NumelOf(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = low + (high - low) * gen.NextFloat();
        return FromArray(data, shape, device);
    }

    /// <summary>torch.rand: U(0, 1) from a seeded generator, the same values on every device.</summary>
    public static Tensor Rand(int[] shape, Generator gen, Device? device = null) => Uniform(shape, 0f, 1f, gen, device);

    /// <summary>Normal N(mean, std²) from a seeded generator.</summary>
    public static Tensor Randn(int[] shape, Generator gen, Device? device = null, float mean = 0f, float std = 1f)
    {
        var data = new float[NumelOf(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = mean + std * gen.NextNormal();
        return FromArray(data, shape, device);
    }

    // ---------------------------------------------------------------- moving and reading

    /// <summary>A copy on another device (the same tensor if it is already there). The copy is a new leaf.</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return this;
        var t = Empty(Shape, device, DType);
        CopyTo(t.Storage);
        t.RequiresGrad = RequiresGrad && IsLeaf;
        t.Name = Name;
        return t;
    }

    /// <summary>Copies the values into a storage of the same length on any device (through host memory).</summary>
    private void CopyTo(Storage dst)
    {
        if (DType == DType.Float32) dst.Backend.Upload(ToArray(), dst);
        else dst.Backend.Upload(ToIntArray(), dst);
    }

    /// <summary>
    /// Moves this tensor's values to <paramref name="device"/> in place: the object keeps its identity (the closures of
    /// optimizers, modules and user code that hold it see the new storage), the old buffer goes back to its pool. For
    /// parameters, buffers and optimizer state between steps (Module.To); a graph recorded before the move must not be
    /// backpropagated after it.
    /// </summary>
    internal void MoveTo(Device device)
    {
        if (device == Device) return;
        Storage.ThrowIfDisposed("To");
        var moved = device.Backend.Allocate(Numel, DType);
        CopyTo(moved);
        var old = Storage;
        Storage = moved;
        Device = device;
        if (_lease is not null) _lease.Storage = moved;
        old.Dispose();
        _grad?.MoveTo(device);
    }

    /// <summary>To(Device.Get(device)), as torch.Tensor.to("cuda"): "cpu", "ilgpu-cpu", "cuda", "opencl" or "auto".</summary>
    public Tensor To(string device) => To(Device.Get(device));

    /// <summary>The values in row-major order, copied to the host (waits for the device); ArgumentException for an Int32 tensor (use ToIntArray).</summary>
    public float[] ToArray()
    {
        Storage.ThrowIfDisposed("ToArray");
        if (DType != DType.Float32) throw new ArgumentException($"ToArray: tensor is {DType}; use ToIntArray()");
        var a = new float[Numel];
        Backend.Download(Storage, a);
        return a;
    }

    /// <summary>The values of an Int32 tensor (labels, indices) copied to the host; ArgumentException for a Float32 tensor (use ToArray).</summary>
    public int[] ToIntArray()
    {
        Storage.ThrowIfDisposed("ToIntArray");
        if (DType != DType.Int32) throw new ArgumentException($"ToIntArray: tensor is {DType}; use ToArray()");
        var a = new int[Numel];
        Backend.Download(Storage, a);
        return a;
    }

    /// <summary>The value of a one-element tensor (a host read: it waits for the device).</summary>
    public float Item()
    {
        if (Numel != 1) throw new ArgumentException($"Item: tensor has shape {ShapeString}, not one element");
        return ToArray()[0];
    }

    /// <summary>Overwrites this tensor's values from host memory (keeps its identity: used to load checkpoints).</summary>
    public void CopyFrom(float[] data)
    {
        if (data.Length != Numel) throw new ArgumentException($"CopyFrom: {data.Length} values for tensor of shape {ShapeString}");
        Backend.Upload(data, Storage);
    }

    /// <summary>Removes this tensor from the enclosing TensorScope so it outlives the step (parameters, optimizer state).
    /// From then on it is released like any tensor created outside a scope (see <see cref="TensorMemory"/>).</summary>
    public Tensor Unscoped()
    {
        if (TensorScope.Current?.Unregister(this) == true) LeaveScope();
        return this;
    }

    /// <summary>The tensor left every scope (Unscoped, or Keep from the outermost one): track it like one created outside.</summary>
    internal void LeaveScope()
    {
        if (_lease is null && Volatile.Read(ref _disposed) == 0) _lease = TensorMemory.Track(this);
    }

    /// <summary>Gives the buffer back to its device's pool now. Idempotent; reading the tensor afterwards throws.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_lease is not null) _lease.Release();
            else Storage.Dispose();
        }
        _grad = null;
        _retainedGrad = null;
        ReleaseGraph(freed: false);
    }
}
