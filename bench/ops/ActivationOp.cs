using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Activations (kernels/activation): relu, sigmoid, tanh, step, leaky relu (slope 0.01), gelu (exact and tanh), forward and
/// backward. Versions: the cpu's vector paths, the ILGPU kernels. Tolerance: 0 for relu, step and leaky relu (exact), 1e-5
/// relative for the others (through exp, which a GPU computes to a few ulp), at least 1e-6 for the backward passes. Work: bytes
/// read + written.
/// </summary>
public sealed class ActivationOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "activation";

    /// <inheritdoc/>
    public override string Summary => "relu, sigmoid, tanh, step, leaky_relu, gelu: forward, backward";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Activation.Cpu.Simd.cs") : IlgpuVersion("Activation.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        const int n = 2049;
        string shape = $"[{n}]";
        using var x = ctx.Floats(ctx.Rand(n, -6f, 6f)); using var y = ctx.Floats(n); using var dy = ctx.Floats(n); using var dx = ctx.Floats(n);
        foreach (var kind in Enum.GetValues<ActivationKind>())
        {
            string name = kind.ToString().ToLowerInvariant();
            double tol = kind is ActivationKind.Relu or ActivationKind.Step or ActivationKind.LeakyRelu ? 0 : 1e-5;
            float alpha = kind == ActivationKind.LeakyRelu ? 0.01f : 0f;
            ctx.Both((be, v) => be.ActivationForward(kind, v(x), v(y), n, alpha));
            ctx.Compare(name + " forward", shape, y, tol);
            ctx.Both((be, v) => be.ActivationBackward(kind, v(x), v(y), v(dy), v(dx), n, alpha));
            ctx.Compare(name + " backward", shape, dx, Math.Max(tol, 1e-6));
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // conv1's output [batch, 64, 32, 32], where AlexNet's first relu runs.
        int b = s.Batch, n = b * 64 * 32 * 32;
        string shape = $"[{b},64,32,32]";
        foreach (var kind in new[] { ActivationKind.Relu, ActivationKind.Sigmoid, ActivationKind.Tanh, ActivationKind.LeakyRelu, ActivationKind.Gelu })
        {
            float alpha = kind == ActivationKind.LeakyRelu ? 0.01f : 0f;
            string name = kind.ToString().ToLowerInvariant();
            string? suite = kind == ActivationKind.Relu ? "memory" : null;
            yield return new BenchCase($"{name} fwd {shape}", BenchCase.Bytes, 8.0 * n, a =>   // read x; write y
            {
                var (x, y) = (a.Random(n), a.Empty(n));
                return new Prepared(() => a.Backend.ActivationForward(kind, x, y, n, alpha));
            }, suite);
            yield return new BenchCase($"{name} bwd {shape}", BenchCase.Bytes, 16.0 * n, a =>  // read x (relu) or y, dy, dx; write dx
            {
                var (x, y, dy, dx) = (a.Random(n), a.Random(n, 0f, 1f), a.Random(n), a.Random(n));
                return new Prepared(() => a.Backend.ActivationBackward(kind, x, y, dy, dx, n, alpha));
            }, suite);
        }
    }
}
