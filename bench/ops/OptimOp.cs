using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Optimizer steps (kernels/optim): SGD (momentum, Nesterov, weight decay) and Adam, a few steps in a row. Versions: the cpu's
/// vector paths, the ILGPU kernels. Tolerance: 1e-6 relative for SGD, 1e-5 for Adam (a square root and a division). Work:
/// bytes read + written per step.
/// </summary>
public sealed class OptimOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "optim";

    /// <inheritdoc/>
    public override string Summary => "sgd step, adam step";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Optim.Cpu.Simd.cs") : IlgpuVersion("Optim.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        foreach (var (n, momentum, nesterov) in new[] { (1000, 0.9f, false), (333, 0f, false), (257, 0.9f, true) })
        {
            using var p = ctx.Floats(n); using var g = ctx.Floats(n); using var buf = ctx.Floats(n);
            for (int step = 0; step < 2; step++)
                ctx.Both((be, v) => be.SgdStep(v(p), v(g), momentum == 0f ? null : v(buf), n, 0.01f, momentum, 0f, 5e-4f, nesterov, step == 0));
            ctx.Compare($"sgd m={momentum}{(nesterov ? " nesterov" : "")} (2 steps)", $"[{n}]", p, 1e-6);
        }
        foreach (var (n, wd) in new[] { (1000, 0f), (129, 1e-2f) })
        {
            using var p = ctx.Floats(n); using var g = ctx.Floats(n); using var m = ctx.Floats(new float[n]); using var v2 = ctx.Floats(new float[n]);
            for (long step = 1; step <= 3; step++)
                ctx.Both((be, v) => be.AdamStep(v(p), v(g), v(m), v(v2), n, 1e-3f, 0.9f, 0.999f, 1e-8f, wd, step));
            ctx.Compare($"adam wd={wd} (3 steps)", $"[{n}]", p, 1e-5);
            ctx.Compare("adam exp_avg_sq", $"[{n}]", v2, 1e-5);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // 4M parameters (AlexNet-CIFAR has 36M: the step is memory-bound at any size past the caches).
        int n = s.Small ? 1 << 16 : 1 << 22;
        yield return new BenchCase($"sgd momentum [{n}]", BenchCase.Bytes, 20.0 * n, a =>   // read p, g, buf; write p, buf
        {
            var (p, g, buf) = (a.Random(n), a.Random(n, -1e-3f, 1e-3f), a.Random(n, -1e-3f, 1e-3f));
            return new Prepared(() => a.Backend.SgdStep(p, g, buf, n, 0.01f, 0.9f, 0f, 5e-4f, false, false));
        });
        yield return new BenchCase($"adam [{n}]", BenchCase.Bytes, 28.0 * n, a =>   // read p, g, m, v; write p, m, v
        {
            var (p, g, m, v) = (a.Random(n), a.Random(n, -1e-3f, 1e-3f), a.Empty(n), a.Empty(n));
            a.Backend.Fill(m, 0f, n); a.Backend.Fill(v, 0f, n);
            long step = 0;
            return new Prepared(() => a.Backend.AdamStep(p, g, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, ++step));
        });
    }
}
