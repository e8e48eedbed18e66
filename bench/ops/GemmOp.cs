using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// GEMM (kernels/gemm): C = α·op(A)·op(B) + β·C. Versions as llm.c numbers its kernels: on the cpu v1 is the reference loops
/// (Gemm.Reference.cs) and v2 the packed SGEMM (Sgemm*.cs) on each vector path; on ILGPU v1 … v5 (Gemm.Ilgpu.cs,
/// Gemm.Ilgpu.Fast.cs), each adding one idea. Tolerance: 2e-6·√K relative, since each device sums the K products in its own
/// order. Work: 2·M·N·K FLOPs. Baselines, in the same rounds: OpenBLAS's cblas_sgemm on the cpu (same inputs), torch.mm on
/// cuda (square sizes, FP32 with TF32 off).
/// </summary>
public sealed class GemmOp : KernelOp
{
    /// <inheritdoc/>
    public override string Family => "gemm";

    /// <inheritdoc/>
    public override string Summary => "SGEMM, NN/NT/TN, batched";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) => KindOf(device) == DeviceKind.Cpu
        ?
        [
            new OpVersion("v1", new DeviceOptions { GemmVersion = 1 }, "reference loops (Gemm.Reference.cs)", PlainLoops: true),
            .. CpuSimd.VectorPaths.Select(p => new OpVersion($"v2 {DeviceOptions.Name(p)}", new DeviceOptions { GemmVersion = 2, Kernels = p },
                $"packed SGEMM, {DeviceOptions.Name(p)} micro-kernel (Sgemm*.cs)")),
        ]
        : IlgpuVersions;

    /// <inheritdoc/>
    public override string? VersionSection => "gemm-v";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> SuiteVersions(string device) => KindOf(device) == DeviceKind.Cpu ? [] : IlgpuVersions;

    private static IReadOnlyList<OpVersion> IlgpuVersions =>
        [.. IlgpuBackend.GemmVersionNames.Select((name, i) => new OpVersion($"v{i + 1}", new DeviceOptions { GemmVersion = i + 1 }, name))];

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        // (transA, transB, M, N, K, batch): NN/NT/TN, M < K, K < M, sizes that are not multiples of any tile, batched.
        (bool ta, bool tb, int m, int n, int k, int batch)[] shapes =
        [
            (false, false, 37, 29, 71, 1),   // M < K
            (false, false, 70, 45, 13, 1),   // K < M
            (false, true, 33, 65, 47, 1),
            (true, false, 65, 31, 19, 1),
            (true, false, 17, 90, 129, 1),
            (false, false, 9, 21, 11, 3),    // batched, shared A (stride 0)
        ];
        foreach (var (ta, tb, m, n, k, batch) in shapes)
        {
            using var a = ctx.Floats(m * k); using var b = ctx.Floats(batch * k * n); using var c = ctx.Floats(batch * m * n);
            var g = new GemmArgs(ta, tb, m, n, k, 1f, 0.5f, batch, StrideA: 0, StrideB: k * n, StrideC: m * n);
            ctx.Both((be, v) => be.Gemm(g, v(a), v(b), v(c)));
            string kind = (ta ? "T" : "N") + (tb ? "T" : "N");
            ctx.Compare($"gemm {kind}", $"M{m} N{n} K{k}" + (batch > 1 ? $" x{batch}" : ""), c, 2e-6 * Math.Sqrt(k));
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        int[] squares = s.Small ? [64, 128] : s.Kind == DeviceKind.Gpu ? [256, 512, 1024, 2048, 4096] : [256, 512, 1024, 2048];
        int[] versionSizes = s.Small ? [128] : s.Kind == DeviceKind.Gpu ? [1024, 4096] : [];
        foreach (int n in squares)
            yield return Case($"sgemm {n}", false, false, n, n, n, "gemm", versionSizes.Contains(n));
        if (s.Small || s.Quick) yield break;
        yield return Case("sgemm 1024 NT", false, true, 1024, 1024, 1024);
        yield return Case("sgemm 1024 TN", true, false, 1024, 1024, 1024);
        // Convolutions as im2col GEMMs (AlexNet-224 at batch 4): weights [O, C·k·k] · col [C·k·k, N·OH·OW]; the weight
        // gradient dW = dY · colᵀ (NT) and the col gradient dcol = Wᵀ · dY (TN).
        yield return Case("conv1 fwd 64x12100x363", false, false, 64, 12100, 363);
        yield return Case("conv2 fwd 192x16384x1600", false, false, 192, 16384, 1600);
        yield return Case("conv3 fwd 384x10816x1728", false, false, 384, 10816, 1728);
        yield return Case("conv2 dW 192x1600x16384 NT", false, true, 192, 1600, 16384);
        yield return Case("conv2 dcol 1600x16384x192 TN", true, false, 1600, 16384, 192);
    }

    private static BenchCase Case(string name, bool ta, bool tb, int m, int n, int k, string? suite = null, bool versionSuite = false) =>
        new(name, BenchCase.Flops, 2.0 * m * n * k, arena =>
        {
            var a = arena.Random(m * k); var b = arena.Random(k * n); var c = arena.Empty(m * n);
            var g = new GemmArgs(ta, tb, m, n, k);
            var be = arena.Backend;
            Baseline? baseline = null;
            if (be.Name == "cpu" && arena.Baselines.OpenBlas && OpenBlas.Available)
            {
                float[] ha = arena.Host(a), hb = arena.Host(b), hc = new float[m * n];
                baseline = new Baseline("OpenBLAS", Call: () => OpenBlas.Sgemm(ta, tb, m, n, k, ha, hb, hc));
            }
            else if (!ta && !tb && m == n && n == k && arena.Baselines.Torch?.Invoke() is { HasSgemm: true } torch)
                baseline = new Baseline(torch.Label, Round: () => torch.Sgemm(n));
            return new Prepared(() => be.Gemm(g, a, b, c), baseline);
        }, suite, versionSuite);
}
