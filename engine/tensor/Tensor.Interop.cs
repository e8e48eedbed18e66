using ILGPU;
using ILGPU.Runtime;
using ScratchNet.Kernels;

namespace ScratchNet;

// Advanced: a tensor's raw buffer, for kernels of your own (for example in a custom autograd.Function).
//
// On an ILGPU device (ilgpu-cpu, cuda, opencl) a tensor is an ArrayView on the device's Accelerator. Load your kernel on
// that accelerator once (cache the delegate per accelerator, as kernels/*/*.Ilgpu.cs do) and launch it on the accelerator's
// default stream, which is the stream every engine kernel runs on: a plain call of the loaded delegate does that, so your
// kernel runs after the ops that produced its inputs and before the ops that read its output, with no synchronisation.
//
//     var acc = x.Device.Accelerator!;
//     var square = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(SquareKernel);  // cache it
//     var y = Tensor.Empty(x.Shape, x.Device);
//     square(x.Numel, x.AsArrayView(), y.AsArrayView());
//
// On the cpu device a tensor is a span over managed memory (AsSpan). Either way the view does not keep the tensor alive:
// keep a reference to the tensor (or GC.KeepAlive it) while the view is in use, and write only tensors you created.
public sealed partial class Tensor
{
    /// <summary>
    /// Advanced: the Float32 elements as an ILGPU view of exactly <see cref="Numel"/> elements, on an ILGPU device (ilgpu-cpu,
    /// cuda, opencl), for kernels of your own. Launch them on <see cref="DeviceInterop.get_Accelerator"/>'s default stream.
    /// </summary>
    public ArrayView<float> AsArrayView()
    {
        var s = IlgpuStorageOf("AsArrayView", DType.Float32);
        return s.F.SubView(0, Numel);
    }

    /// <summary>Advanced: the Int32 elements (labels, indices) as an ILGPU view; see <see cref="AsArrayView"/>.</summary>
    public ArrayView<int> AsIntArrayView()
    {
        var s = IlgpuStorageOf("AsIntArrayView", DType.Int32);
        return s.I.SubView(0, Numel);
    }

    /// <summary>Advanced: the Float32 elements of a tensor on the cpu device, as a span over its managed buffer.</summary>
    public Span<float> AsSpan() => CpuStorageOf("AsSpan", DType.Float32).FSpan;

    /// <summary>Advanced: the Int32 elements of a tensor on the cpu device, as a span over its managed buffer.</summary>
    public Span<int> AsIntSpan() => CpuStorageOf("AsIntSpan", DType.Int32).ISpan;

    private IlgpuStorage IlgpuStorageOf(string op, DType dtype)
    {
        Storage.ThrowIfDisposed(op);
        if (DType != dtype) throw new InvalidOperationException($"{op}: tensor {ShapeString} is {DType}, not {dtype}");
        return Storage as IlgpuStorage
            ?? throw new InvalidOperationException($"{op}: tensor {ShapeString} is on {Device}, not on an ILGPU device (ilgpu-cpu, cuda, opencl); on cpu use AsSpan()");
    }

    private CpuStorage CpuStorageOf(string op, DType dtype)
    {
        Storage.ThrowIfDisposed(op);
        if (DType != dtype) throw new InvalidOperationException($"{op}: tensor {ShapeString} is {DType}, not {dtype}");
        return Storage as CpuStorage
            ?? throw new InvalidOperationException($"{op}: tensor {ShapeString} is on {Device}, not on the cpu device; on an ILGPU device use AsArrayView()");
    }
}

/// <summary>Advanced: the ILGPU objects behind a device, for kernels of your own (see <see cref="Tensor.AsArrayView"/>).</summary>
public static class DeviceInterop
{
    extension(Device device)
    {
        /// <summary>The ILGPU accelerator of an ilgpu-cpu, cuda or opencl device (null for cpu). Engine kernels run on its
        /// DefaultStream; launch yours there too so that they are ordered with them.</summary>
        public Accelerator? Accelerator => (device.Backend as IlgpuBackend)?.Accelerator;
    }
}
