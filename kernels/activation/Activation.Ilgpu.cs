using ILGPU;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

// Activations as ILGPU kernels: grid-stride loops (thread t handles i = t, t + T, ...), one kernel for all
// kinds. The kind is a kernel argument, the same for every thread, so the branch in Activations.Forward /
// Grad never diverges within a warp. The formulas are the shared ones in Activation.cs.
public sealed partial class IlgpuBackend
{
    static void ActivationForwardKernel(ArrayView<float> x, ArrayView<float> y, int n, int kind, float alpha)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            y[i] = Activations.Forward(kind, x[i], alpha);
    }

    static void ActivationBackwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, int kind, float alpha)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            dx[i] += Activations.Grad(kind, x[i], y[i], dy[i], alpha);
    }

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float>? _activationForward;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>? _activationBackward;

    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, Storage x, Storage y, int n, float alpha = 0f)
    {
        if (n == 0) return;
        (_activationForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float>(ActivationForwardKernel))(
            Grid1D(n), F(x), F(y), n, (int)kind, alpha);
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha = 0f)
    {
        if (n == 0 || kind == ActivationKind.Step) return;  // Step: f' = 0, nothing to add
        (_activationBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(ActivationBackwardKernel))(
            Grid1D(n), F(x), F(y), F(dy), F(dx), n, (int)kind, alpha);
    }
}
