using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>
/// 2-D convolution (kernels/conv), its three passes through the entry points autograd calls. Versions: one per algorithm the
/// device takes (DeviceOptions.Conv): on the cpu direct (the definition's loops, Conv.Reference.cs), im2col and per-image,
/// each of the last two on every vector path; on ILGPU direct (Conv.Ilgpu.Direct.cs), im2col and implicit
/// (Conv.Ilgpu.Implicit.cs). Tolerances: 2e-6·√(length of the sums) relative: C·KH·KW forward, O·KH·KW backward data,
/// N·OH·OW backward weights. Work: 2·N·O·C·KH·KW·OH·OW FLOPs for each pass.
/// </summary>
public sealed class ConvOp : KernelOp
{
    /// <summary>The AlexNet-CIFAR convolutions (models/AlexNet.cs) on 32×32 inputs: name, C, H (= W), O, k, padding.</summary>
    public static readonly (string Name, int C, int H, int O, int K, int Pad)[] AlexNetConvs =
    [
        ("conv1", 3, 32, 64, 3, 1), ("conv2", 64, 16, 192, 5, 2), ("conv3", 192, 8, 384, 3, 1),
        ("conv4", 384, 8, 256, 3, 1), ("conv5", 256, 8, 256, 3, 1),
    ];

    /// <summary>The seed CNN's two convolutions (models/SeedCnn.cs): few channels, where overheads dominate.</summary>
    public static readonly (string Name, int C, int H, int O, int K, int Pad)[] SeedCnnConvs =
        [("seed conv1", 1, 28, 8, 5, 0), ("seed conv2", 8, 12, 16, 5, 0)];

    /// <inheritdoc/>
    public override string Family => "conv2d";

    /// <inheritdoc/>
    public override string Summary => "convolution forward, backward data, backward weights";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> Versions(string device) => KindOf(device) == DeviceKind.Cpu
        ?
        [
            new OpVersion("direct", new DeviceOptions { Conv = ConvAlgorithm.Direct }, "the definition's loops (Conv.Reference.cs)", PlainLoops: true),
            .. CpuSimd.VectorPaths.Select(p => new OpVersion($"im2col {DeviceOptions.Name(p)}", new DeviceOptions { Conv = ConvAlgorithm.Im2Col, Kernels = p },
                $"chunked im2col + packed SGEMM (Conv.Im2Col.cs) on {DeviceOptions.Name(p)}")),
            .. CpuSimd.VectorPaths.Select(p => new OpVersion($"per-image {DeviceOptions.Name(p)}", new DeviceOptions { Conv = ConvAlgorithm.PerImage, Kernels = p },
                $"one image per core (Conv.Cpu.PerImage.cs) on {DeviceOptions.Name(p)}")),
        ]
        :
        [
            new OpVersion("direct", new DeviceOptions { Conv = ConvAlgorithm.Direct }, "one thread per output (Conv.Ilgpu.Direct.cs)"),
            .. SuiteVersions(device),
        ];

    /// <inheritdoc/>
    public override string? VersionSection => "conv-alg";

    /// <inheritdoc/>
    public override IReadOnlyList<OpVersion> SuiteVersions(string device) => KindOf(device) == DeviceKind.Cpu ? [] :
    [
        new OpVersion("im2col", new DeviceOptions { Conv = ConvAlgorithm.Im2Col }, "chunked im2col + GEMM v5 (Conv.Im2Col.cs)"),
        new OpVersion("implicit", new DeviceOptions { Conv = ConvAlgorithm.Implicit }, "implicit GEMM (Conv.Ilgpu.Implicit.cs)"),
    ];

    /// <inheritdoc/>
    public override void Check(CheckContext ctx)
    {
        // (n, c, h, w, o, k, stride, pad): kernels 1/3/5, stride 1-2, padding 0-2, pointwise and batch 1.
        (int n, int c, int h, int w, int o, int k, int s, int p)[] shapes =
        [
            (2, 3, 9, 7, 4, 3, 1, 1),
            (1, 2, 11, 10, 3, 5, 2, 2),
            (2, 4, 8, 9, 5, 3, 2, 0),
            (3, 5, 6, 5, 6, 1, 1, 0),   // pointwise: the GEMMs read x directly
            (2, 3, 7, 7, 2, 1, 2, 1),
            (1, 3, 10, 8, 4, 5, 1, 2),
            (3, 5, 8, 8, 130, 3, 1, 1), // 130 output channels: two row tiles of the GEMM; 64 pixels: float4 paths of the implicit conv
            (4, 2, 12, 12, 3, 3, 1, 1), // the implicit weight gradient's K = 576 may be split
        ];
        // im2col converts as many images per chunk as its col bound allows; these shapes fit one chunk, so the im2col versions
        // run with a bound of one image (the chunked driver, as in a large batch). The reference side runs the definition.
        bool chunked = ctx.Version.Options.Conv == ConvAlgorithm.Im2Col;
        foreach (var (n, c, h, w, o, k, s, p) in shapes)
        {
            var g = new ConvGeometry(n, c, h, w, o, k, k, s, s, p, p);
            string shape = $"x[{n},{c},{h},{w}] w[{o},{c},{k},{k}] s{s} p{p}";
            int maxCol = g.ColRows * g.ColCols;
            using var x = ctx.Floats(g.InputSize); using var wt = ctx.Floats(o * c * k * k); using var bias = ctx.Floats(o);
            using var y = ctx.Floats(g.OutputSize); using var dy = ctx.Floats(g.OutputSize);
            using var dx = ctx.Floats(g.InputSize); using var dw = ctx.Floats(o * c * k * k);
            bool Chunked(IBackend be) => chunked && be == ctx.Device;
            ctx.Both((be, v) =>
            {
                if (Chunked(be)) ConvIm2Col.Forward(be, g, v(x), v(wt), v(bias), v(y), maxCol);
                else be.Conv2dForward(g, v(x), v(wt), v(bias), v(y));
            });
            ctx.Compare("conv2d forward", shape, y, 2e-6 * Math.Sqrt(c * k * k));
            ctx.Both((be, v) =>
            {
                if (Chunked(be)) ConvIm2Col.BackwardData(be, g, v(wt), v(dy), v(dx), maxCol);
                else be.Conv2dBackwardData(g, v(wt), v(dy), v(dx));
            });
            ctx.Compare("conv2d backward data", shape, dx, 2e-6 * Math.Sqrt(o * k * k));
            ctx.Both((be, v) =>
            {
                if (Chunked(be)) ConvIm2Col.BackwardWeights(be, g, v(x), v(dy), v(dw), maxCol);
                else be.Conv2dBackwardWeights(g, v(x), v(dy), v(dw));
            });
            ctx.Compare("conv2d backward weights", shape, dw, 2e-6 * Math.Sqrt(n * g.ColCols));
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<BenchCase> BenchCases(BenchScale s)
    {
        int batch = s.Batch;
        var layers = s.Kind == DeviceKind.Simulator ? AlexNetConvs[..1] : [.. AlexNetConvs, .. SeedCnnConvs];
        foreach (var (name, ch, h, oc, k, pad) in layers)
        {
            var g = new ConvGeometry(batch, ch, h, h, oc, k, k, 1, 1, pad, pad);
            double flops = 2.0 * batch * oc * ch * k * k * g.OH * g.OW;
            string shape = $"{name} b{batch}";
            yield return new BenchCase(shape + " fwd", BenchCase.Flops, flops, a =>
            {
                var (x, w, bias, y) = (a.Random(g.InputSize), a.Random(oc * ch * k * k), a.Random(oc), a.Empty(g.OutputSize));
                return new Prepared(() => a.Backend.Conv2dForward(g, x, w, bias, y));
            }, "conv", VersionSuite: true);
            yield return new BenchCase(shape + " bwd-data", BenchCase.Flops, flops, a =>
            {
                var (w, dy, dx) = (a.Random(oc * ch * k * k), a.Random(g.OutputSize), a.Random(g.InputSize));
                return new Prepared(() => a.Backend.Conv2dBackwardData(g, w, dy, dx));
            }, "conv", VersionSuite: true);
            yield return new BenchCase(shape + " bwd-weights", BenchCase.Flops, flops, a =>
            {
                var (x, dy, dw) = (a.Random(g.InputSize), a.Random(g.OutputSize), a.Random(oc * ch * k * k));
                return new Prepared(() => a.Backend.Conv2dBackwardWeights(g, x, dy, dw));
            }, "conv", VersionSuite: true);
        }
    }
}
