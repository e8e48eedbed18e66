using System.Diagnostics;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

/// <summary>How an ILGPU device runs a convolution; see IlgpuBackend.ConvAlgorithm.</summary>
public enum IlgpuConvAlgorithm
{
    /// <summary>Time Chunked and Implicit once per shape and pass and keep the faster, like cudnn.benchmark (when AutoTunes; otherwise Chunked).</summary>
    Auto,
    /// <summary>Conv2dDriver: im2col of a chunk of images into a col buffer, one GEMM, a swap (Conv.cs).</summary>
    Chunked,
    /// <summary>The GEMM kernel gathers the patches itself, whole batch in one launch (Conv.Ilgpu.Implicit.cs).</summary>
    Implicit,
}

// Choosing between the two conv algorithms per layer. Which one wins depends on the shape: the implicit GEMM
// saves the col traffic and runs the whole batch in one grid, but pays integer index math and bounds checks
// per gathered element; with few input channels (K = C·KH·KW of 27 for RGB) or few output channels a plain
// GEMM over a materialised col can be faster. Rather than guess, Auto measures: the first call of each
// (pass, shape) runs both algorithms once to warm up and three times timed, on the real inputs (backward passes
// into scratch buffers, since they accumulate), synchronising around each, and caches the faster. In training
// that is the first step (and the first step of a new batch size, e.g. a last partial batch or evaluation);
// later steps launch without any host synchronisation. `Tuned` lists the choices and times.
public sealed partial class IlgpuBackend
{
    /// <summary>The conv algorithm of this device (default Auto). Pointwise convolutions (1×1, stride 1, no padding) always run as a plain GEMM.</summary>
    public IlgpuConvAlgorithm ConvAlgorithm { get; set; } = IlgpuConvAlgorithm.Auto;

    /// <summary>One tuned (pass, shape): the winner and both times in milliseconds.</summary>
    public readonly record struct ConvChoice(string Pass, ConvGeometry Geometry, IlgpuConvAlgorithm Algorithm, double ChunkedMs, double ImplicitMs);

    /// <summary>
    /// Whether Auto measures (default: on GPUs). On ILGPU's CPU simulator timings say nothing about a GPU, and Auto
    /// runs Chunked: there every group of the implicit GEMM costs a round of OS threads, and with few channels (conv1's
    /// backward data: 3 rows of a 128-row tile, K = 576) it is several times slower.
    /// </summary>
    public bool AutoTunes
    {
        get => _autoTunes ??= Accelerator.AcceleratorType != AcceleratorType.CPU;
        set => _autoTunes = value;
    }
    bool? _autoTunes;

    readonly Dictionary<(int Pass, ConvKey Shape), ConvChoice> _convChoices = new();

    /// <summary>What Auto has measured and chosen so far.</summary>
    public IReadOnlyList<ConvChoice> Tuned => _convChoices.Values.ToList();

    /// <summary>Forgets every choice (the next call of each shape measures again).</summary>
    public void ClearTuned() => _convChoices.Clear();

    readonly record struct ConvKey(int N, int C, int H, int W, int O, int KH, int KW, int SH, int SW, int PH, int PW)
    {
        public ConvKey(in ConvGeometry g) : this(g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW) { }
    }

    public void Conv2dForward(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        if (KnownChoice(0, g) ?? TuneForward(g, x, w, bias, y)) Conv2dForwardImplicit(g, x, w, bias, y);
        else Conv2dDriver.Forward(this, g, x, w, bias, y);
    }

    public void Conv2dBackwardData(in ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        if (KnownChoice(1, g) ?? TuneBackwardData(g, w, dy, dx)) Conv2dBackwardDataImplicit(g, w, dy, dx);
        else Conv2dDriver.BackwardData(this, g, w, dy, dx);
    }

    public void Conv2dBackwardWeights(in ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        if (KnownChoice(2, g) ?? TuneBackwardWeights(g, x, dy, dw)) Conv2dBackwardWeightsImplicit(g, x, dy, dw);
        else Conv2dDriver.BackwardWeights(this, g, x, dy, dw);
    }

    // The trial runs of each pass (only called while tuning, so a known shape allocates no closures). The forward
    // trials write y, which the real run then overwrites; the backward passes accumulate, so their trials write a
    // scratch buffer of the output's size.
    bool TuneForward(ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y) =>
        Tune(0, "forward", g, () => Conv2dDriver.Forward(this, g, x, w, bias, y), () => Conv2dForwardImplicit(g, x, w, bias, y));

    bool TuneBackwardData(ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        using var s = Allocate(dx.Length, DType.Float32);
        return Tune(1, "backward data", g, () => Conv2dDriver.BackwardData(this, g, w, dy, s), () => Conv2dBackwardDataImplicit(g, w, dy, s));
    }

    bool TuneBackwardWeights(ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        using var s = Allocate(dw.Length, DType.Float32);
        return Tune(2, "backward weights", g, () => Conv2dDriver.BackwardWeights(this, g, x, dy, s), () => Conv2dBackwardWeightsImplicit(g, x, dy, s));
    }

    /// <summary>True: the implicit GEMM; false: the chunked driver; null: Auto has not measured this (pass, shape) yet.</summary>
    bool? KnownChoice(int pass, in ConvGeometry g)
    {
        if (g.IsPointwise || ConvAlgorithm == IlgpuConvAlgorithm.Chunked) return false;
        if (ConvAlgorithm == IlgpuConvAlgorithm.Implicit) return true;
        if (!AutoTunes) return false;
        return _convChoices.TryGetValue((pass, new ConvKey(g)), out var c) ? c.Algorithm == IlgpuConvAlgorithm.Implicit : null;
    }

    /// <summary>Times both algorithms on this (pass, shape), caches the faster and returns true when it is the implicit GEMM.</summary>
    bool Tune(int pass, string name, in ConvGeometry g, Action chunked, Action implicitGemm)
    {
        double tc = BestOfThree(chunked), ti = BestOfThree(implicitGemm);
        var choice = new ConvChoice(name, g, ti <= tc ? IlgpuConvAlgorithm.Implicit : IlgpuConvAlgorithm.Chunked, tc, ti);
        _convChoices[(pass, new ConvKey(g))] = choice;
        return choice.Algorithm == IlgpuConvAlgorithm.Implicit;
    }

    /// <summary>Milliseconds of the fastest of three runs after one warm-up run (kernel compilation and module load).</summary>
    double BestOfThree(Action run)
    {
        Synchronize();
        run();
        Synchronize();
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            Synchronize();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return best;
    }
}
