using System.Diagnostics;
using ILGPU.Runtime;

namespace ScratchNet.Kernels;

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
    /// <summary>One tuned (pass, shape): the winner and both times in milliseconds.</summary>
    /// <param name="Pass">Which of the three convolution kernels was tuned.</param>
    /// <param name="Geometry">The shape it was tuned for (stride and padding included).</param>
    /// <param name="Algorithm">The faster of the two, run for this (pass, shape) from now on.</param>
    /// <param name="Im2ColMs">Im2col's time per call, in milliseconds: the fastest of three runs after a warm-up run.</param>
    /// <param name="ImplicitMs">The implicit GEMM's time per call, in milliseconds, measured the same way; ties go to implicit.</param>
    public readonly record struct ConvChoice(ConvPass Pass, ConvGeometry Geometry, ConvAlgorithm Algorithm, double Im2ColMs, double ImplicitMs);

    /// <summary>
    /// Whether Auto measures: the options' ConvAutoTune, else on GPUs only. On ILGPU's CPU simulator timings say nothing
    /// about a GPU, and Auto runs im2col: there every group of the implicit GEMM costs a round of OS threads, and with
    /// few channels (conv1's backward data: 3 rows of a 128-row tile, K = 576) it is several times slower.
    /// </summary>
    public bool AutoTunes => Options.ConvAutoTune ?? Accelerator.AcceleratorType != AcceleratorType.CPU;

    readonly Dictionary<(ConvPass Pass, ConvKey Shape), ConvChoice> _convChoices = new();

    /// <summary>What Auto has measured and chosen so far.</summary>
    public IReadOnlyList<ConvChoice> Tuned => _convChoices.Values.ToList();

    /// <summary>Forgets every choice (the next call of each shape measures again).</summary>
    public void ClearTuned() => _convChoices.Clear();

    readonly record struct ConvKey(int N, int C, int H, int W, int O, int KH, int KW, int SH, int SW, int PH, int PW)
    {
        public ConvKey(in ConvGeometry g) : this(g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW) { }
    }

    /// <inheritdoc />
    public void Conv2dForward(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y)
    {
        switch (Choice(ConvPass.Forward, g) ?? TuneForward(g, x, w, bias, y))
        {
            case ConvAlgorithm.Direct: Conv2dForwardDirect(g, x, w, bias, y); break;
            case ConvAlgorithm.Implicit: Conv2dForwardImplicit(g, x, w, bias, y); break;
            default: ConvIm2Col.Forward(this, g, x, w, bias, y, Options.MaxColElements); break;
        }
    }

    /// <inheritdoc />
    public void Conv2dBackwardData(in ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        switch (Choice(ConvPass.BackwardData, g) ?? TuneBackwardData(g, w, dy, dx))
        {
            case ConvAlgorithm.Direct: Conv2dBackwardDataDirect(g, w, dy, dx); break;
            case ConvAlgorithm.Implicit: Conv2dBackwardDataImplicit(g, w, dy, dx); break;
            default: ConvIm2Col.BackwardData(this, g, w, dy, dx, Options.MaxColElements); break;
        }
    }

    /// <inheritdoc />
    public void Conv2dBackwardWeights(in ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        switch (Choice(ConvPass.BackwardWeights, g) ?? TuneBackwardWeights(g, x, dy, dw))
        {
            case ConvAlgorithm.Direct: Conv2dBackwardWeightsDirect(g, x, dy, dw); break;
            case ConvAlgorithm.Implicit: Conv2dBackwardWeightsImplicit(g, x, dy, dw); break;
            default: ConvIm2Col.BackwardWeights(this, g, x, dy, dw, Options.MaxColElements); break;
        }
    }

    // The trial runs of each pass (only called while tuning, so a known shape allocates no closures). The forward
    // trials write y, which the real run then overwrites; the backward passes accumulate, so their trials write a
    // scratch buffer of the output's size.
    ConvAlgorithm TuneForward(ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y) =>
        Tune(ConvPass.Forward, g, () => ConvIm2Col.Forward(this, g, x, w, bias, y, Options.MaxColElements), () => Conv2dForwardImplicit(g, x, w, bias, y));

    ConvAlgorithm TuneBackwardData(ConvGeometry g, Storage w, Storage dy, Storage dx)
    {
        using var s = Allocate(dx.Length, DType.Float32);
        return Tune(ConvPass.BackwardData, g, () => ConvIm2Col.BackwardData(this, g, w, dy, s, Options.MaxColElements), () => Conv2dBackwardDataImplicit(g, w, dy, s));
    }

    ConvAlgorithm TuneBackwardWeights(ConvGeometry g, Storage x, Storage dy, Storage dw)
    {
        using var s = Allocate(dw.Length, DType.Float32);
        return Tune(ConvPass.BackwardWeights, g, () => ConvIm2Col.BackwardWeights(this, g, x, dy, s, Options.MaxColElements), () => Conv2dBackwardWeightsImplicit(g, x, dy, s));
    }

    /// <summary>The algorithm of this (pass, shape): the one the options name (a pointwise conv is a plain GEMM, which im2col
    /// runs with no col buffer), or Auto's cached measurement; null when Auto has not measured it yet.</summary>
    public ConvAlgorithm? Choice(ConvPass pass, in ConvGeometry g)
    {
        if (Options.Conv == ConvAlgorithm.Direct) return ConvAlgorithm.Direct;
        if (g.IsPointwise || Options.Conv == ConvAlgorithm.Im2Col) return ConvAlgorithm.Im2Col;
        if (Options.Conv == ConvAlgorithm.Implicit) return ConvAlgorithm.Implicit;
        if (!AutoTunes) return ConvAlgorithm.Im2Col;
        return _convChoices.TryGetValue((pass, new ConvKey(g)), out var c) ? c.Algorithm : null;
    }

    /// <summary>Times im2col and implicit on this (pass, shape), caches the faster and returns it.</summary>
    ConvAlgorithm Tune(ConvPass pass, in ConvGeometry g, Action im2col, Action implicitGemm)
    {
        double tc = BestOfThree(im2col), ti = BestOfThree(implicitGemm);
        var choice = new ConvChoice(pass, g, ti <= tc ? ConvAlgorithm.Implicit : ConvAlgorithm.Im2Col, tc, ti);
        _convChoices[(pass, new ConvKey(g))] = choice;
        return choice.Algorithm;
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
