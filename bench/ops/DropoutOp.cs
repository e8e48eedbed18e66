using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// Dropout (kernels/dropout): a counter-based random mask from (seed, step, index), so every device draws the same mask.
/// Versions: the cpu's vector paths, the ILGPU kernel. Tolerance: 0 for the mask (same bits everywhere), 1e-6 relative for the
/// output. Work: bytes read + written.
/// </summary>
public sealed class DropoutOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "dropout";

    /// <inheritdoc/>
    public override string Summary => "dropout forward (mask and output)";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) =>
        KindOf(device) == DeviceKind.Cpu ? VectorVersions("Dropout.Cpu.Simd.cs") : IlgpuVersion("Dropout.Ilgpu.cs");

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        foreach (var (n, p) in new[] { (1001, 0.5f), (4096, 0.1f), (77, 0.9f) })
        {
            using var x = ctx.Floats(n); using var y = ctx.Floats(n); using var mask = ctx.Floats(n);
            ctx.Both((be, v) => be.DropoutForward(v(x), v(y), v(mask), n, p, 1234, 7));
            ctx.Compare($"dropout mask p={p}", $"[{n}]", mask, 0);
            ctx.Compare($"dropout output p={p}", $"[{n}]", y, 1e-6);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        // AlexNet's classifier input at batch 64 is [64, 4096]; 4M floats measures the bandwidth.
        int n = s.Small ? 1 << 16 : 1 << 22;
        long step = 0;
        yield return new BenchCase($"dropout p=0.5 [{n}]", BenchCase.Bytes, 12.0 * n, a =>   // read x; write y, mask
        {
            var (x, y, mask) = (a.Random(n), a.Empty(n), a.Empty(n));
            return new Prepared(() => a.Backend.DropoutForward(x, y, mask, n, 0.5f, 1234, step++));
        });
    }
}
