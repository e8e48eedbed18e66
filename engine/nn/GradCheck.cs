using System.Globalization;
using System.Text;

namespace ScratchNet.nn;

/// <summary>Settings of <see cref="GradCheck"/>.Run, every overload.</summary>
public sealed record GradCheckOptions
{
    /// <summary>Coordinates compared per tensor: the one with the largest gradient, then random ones.</summary>
    public int SamplesPerTensor { get; init; } = 8;
    /// <summary>Perturbation added to and subtracted from one float32 coordinate.</summary>
    public float Eps { get; init; } = 1e-3f;
    /// <summary>Allowed error relative to max(|analytic|, |numeric|).</summary>
    public double RelativeTolerance { get; init; } = 2e-2;
    /// <summary>Allowed error relative to the tensor's gradient scale (its largest |analytic gradient|).</summary>
    public double ScaleTolerance { get; init; } = 2e-3;
    /// <summary>Round-off allowance: noise = NoiseUlps·2⁻²⁴·Σ|rᵢyᵢ| / 2ε is added to every tolerance.</summary>
    public double NoiseUlps { get; init; } = 16;
    /// <summary>Which tensors to check, by name ("input" or a parameter path such as "features.0.weight"); all when null.</summary>
    public Func<string, bool>? Include { get; init; }
    /// <summary>Seed of the coordinate choice and of the upstream gradient r.</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>The result for one tensor (the input or a parameter).</summary>
public sealed record TensorGradCheck(string Name, int[] Shape, int Checked, int Skipped, int Failed,
                                     double MaxAbsError, double MaxRelError, double GradScale)
{
    /// <summary>No compared coordinate failed and at least one was compared.</summary>
    public bool Passed => Failed == 0 && Checked > 0;
}

/// <summary>What <see cref="GradCheck"/>.Run found, tensor by tensor.</summary>
public sealed class GradCheckReport(IReadOnlyList<TensorGradCheck> tensors, double loss, double noiseFloor)
{
    /// <summary>One result per checked tensor: the input(s) first, then the parameters in state-dict order.</summary>
    public IReadOnlyList<TensorGradCheck> Tensors { get; } = tensors;
    /// <summary>The scalar loss at the unperturbed point.</summary>
    public double Loss { get; } = loss;
    /// <summary>Estimated float32 round-off of a finite difference (added to every tolerance).</summary>
    public double NoiseFloor { get; } = noiseFloor;
    /// <summary>Every checked tensor passed (and at least one tensor was checked).</summary>
    public bool Passed => Tensors.Count > 0 && Tensors.All(t => t.Passed);

    /// <summary>A table, one row per tensor (shape, coordinates checked, kinks skipped, max abs and rel error, grad scale, result), and a PASSED/FAILED line.</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        int w = Math.Max(6, Tensors.Select(t => t.Name.Length).DefaultIfEmpty(0).Max());
        var sb = new StringBuilder();
        sb.AppendLine($"{"tensor".PadRight(w)}  {"shape",-18} {"checked",7} {"kinks",5} {"max abs err",12} {"max rel err",12} {"grad scale",11}  result");
        foreach (var t in Tensors)
            sb.AppendLine(string.Format(inv, "{0}  {1,-18} {2,7} {3,5} {4,12:E2} {5,12:E2} {6,11:E2}  {7}",
                t.Name.PadRight(w), Check.Fmt(t.Shape), t.Checked, t.Skipped, t.MaxAbsError, t.MaxRelError, t.GradScale,
                !t.Passed ? (t.Checked == 0 ? "FAIL (nothing compared)" : $"FAIL ({t.Failed})")
                : t.GradScale <= NoiseFloor ? "ok (gradients below the noise floor: use a larger eps)" : "ok"));
        sb.Append(string.Format(inv, "loss {0:G6}, finite-difference noise floor {1:E1}: {2}", Loss, NoiseFloor, Passed ? "PASSED" : "FAILED"));
        return sb.ToString();
    }
}

/// <summary>
/// Checks a module's backward (or any function's, such as a custom <see cref="autograd.Function"/>'s) against finite
/// differences, on any device.
///
/// The scalar checked is L = Σᵢ rᵢ·yᵢ with y = module(x) and r a fixed random tensor (so every output matters), or
/// a loss function you pass. Autograd gives ∂L/∂θ for every coordinate in one backward (y.Backward(r)). For a
/// sample of coordinates θⱼ of the input and of every parameter, the central difference
///     (L(θⱼ + ε) − L(θⱼ − ε)) / ((θⱼ + ε) − (θⱼ − ε))
/// is computed: the perturbation is applied to the float32 value, the denominator is the perturbation that float32
/// actually represented, and L is accumulated in double. The two agree within
///     tol = RelativeTolerance·max(|analytic|, |numeric|) + ScaleTolerance·(largest |gradient| of that tensor) + noise,
/// where noise = NoiseUlps·2⁻²⁴·Σ|rᵢyᵢ| / 2ε (16 ulps by default) estimates the float32 round-off of the forward divided by 2ε.
///
/// ReLU and max pooling have kinks: if ±ε crosses one, the central difference is meaningless. A coordinate that
/// misses the tolerance is measured again with ε/4; it passes if that agrees. Otherwise, if its one-sided differences
/// (L(θ+ε) − L(θ))/ε and (L(θ) − L(θ−ε))/ε, or its ε and ε/4 differences, disagree by more than the tolerance, it
/// sits on a kink and is counted as skipped ("kinks" in the report); if not, it failed: a smooth point where autograd
/// and the finite differences disagree. Dropout modules are rewound to the
/// same Step before each forward, so the same mask is used throughout (training-mode dropout is checked too).
/// </summary>
public static class GradCheck
{
    /// <summary>Checks <paramref name="module"/>'s gradients with respect to its input (named "input") and every parameter.</summary>
    /// <param name="module">The module; Dropout layers are rewound so that every forward draws the same mask.</param>
    /// <param name="input">A Float32 input; a copy is used (on the module's device).</param>
    /// <param name="options">Sampling and tolerances.</param>
    /// <param name="loss">The scalar checked, from the output; default Σ rᵢ·yᵢ with a fixed random r.</param>
    public static GradCheckReport Run(Module module, Tensor input, GradCheckOptions? options = null, Func<Tensor, Tensor>? loss = null)
    {
        var o = Validate(options);
        Check.Float("GradCheck", input);

        var device = module.Parameters().Any() ? module.Device : input.Device;
        var x = Tensor.FromArray(input.ToArray(), input.Shape, device).Unscoped();
        x.RequiresGrad = true;
        x.Name = "input";

        // Dropout draws its mask from (Seed, Step): rewinding Step makes every forward use the same mask.
        var dropouts = module.NamedModules().Select(m => m.Module).OfType<Dropout>().ToArray();
        var steps = dropouts.Select(d => d.Step).ToArray();
        void Rewind() { for (int i = 0; i < dropouts.Length; i++) dropouts[i].Step = steps[i]; }

        try
        {
            return Core(() => module.Forward(x), [("input", x), .. module.NamedParameters()], o, loss, Rewind, module.ZeroGrad);
        }
        finally
        {
            Rewind();
            x.Grad?.Dispose();
            x.Dispose();
        }
    }

    /// <summary>
    /// Checks the gradients of any differentiable function of several tensors, such as a custom
    /// <see cref="autograd.Function"/>: <c>GradCheck.Run(xs =&gt; F.Mul(xs[0], xs[1]), [a, b])</c>. Every Float32 input is
    /// checked, under the names "input0", "input1", ... (Int32 inputs, such as labels, are passed through unchanged).
    /// The function is called on copies of the inputs (leaves with RequiresGrad), on the inputs' own devices.
    /// </summary>
    /// <param name="function">Computes the output from the inputs with differentiable ops.</param>
    /// <param name="inputs">The point where the gradients are checked.</param>
    /// <param name="options">Sampling and tolerances.</param>
    /// <param name="loss">The scalar checked, from the output; default Σ rᵢ·yᵢ with a fixed random r.</param>
    public static GradCheckReport Run(Func<Tensor[], Tensor> function, Tensor[] inputs, GradCheckOptions? options = null, Func<Tensor, Tensor>? loss = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(inputs);
        var o = Validate(options);
        var copies = new Tensor[inputs.Length];
        var checkedInputs = new List<(string, Tensor)>();
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                var t = inputs[i] ?? throw new ArgumentException($"GradCheck: input {i} is null");
                t.Storage.ThrowIfDisposed($"GradCheck: input {i}");
                copies[i] = Copy(t);
                if (t.DType != Kernels.DType.Float32) continue;
                copies[i].RequiresGrad = true;
                copies[i].Name = $"input{i}";
                checkedInputs.Add(($"input{i}", copies[i]));
            }
            if (checkedInputs.Count == 0) throw new ArgumentException("GradCheck: no Float32 input to check");
            void ZeroGrad() { foreach (var (_, t) in checkedInputs) t.ZeroGrad(); }
            return Core(() => function(copies), checkedInputs, o, loss, () => { }, ZeroGrad);
        }
        finally
        {
            foreach (var c in copies) { c?.Grad?.Dispose(); c?.Dispose(); }
        }
    }

    /// <summary>Checks a custom Function's backward against finite differences: <see cref="Run(Func{Tensor[], Tensor}, Tensor[], GradCheckOptions?, Func{Tensor, Tensor}?)"/> of <c>function.Apply</c>.</summary>
    /// <param name="function">The Function.</param>
    /// <param name="inputs">The point where the gradients are checked.</param>
    /// <param name="options">Sampling and tolerances.</param>
    /// <param name="loss">The scalar checked, from the output; default Σ rᵢ·yᵢ with a fixed random r.</param>
    public static GradCheckReport Run(autograd.Function function, Tensor[] inputs, GradCheckOptions? options = null, Func<Tensor, Tensor>? loss = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        return Run(xs => function.Apply(xs), inputs, options, loss);
    }

    /// <summary>A fresh unscoped leaf with t's values, on t's device.</summary>
    private static Tensor Copy(Tensor t)
    {
        var c = t.DType == Kernels.DType.Float32 ? Tensor.FromArray(t.ToArray(), t.Shape, t.Device) : Tensor.Labels(t.ToIntArray(), t.Device).Reshape(t.Shape);
        return c.Unscoped();
    }

    private static GradCheckOptions Validate(GradCheckOptions? options)
    {
        var o = options ?? new GradCheckOptions();
        Check.Positive("GradCheck", "SamplesPerTensor", o.SamplesPerTensor);
        if (!(o.Eps > 0f) || float.IsInfinity(o.Eps)) throw new ArgumentException($"GradCheck: Eps must be positive, got {o.Eps}");
        return o;
    }

    /// <summary>
    /// The check itself: <paramref name="forward"/> computes the output from the current values of <paramref name="tensors"/>
    /// (leaves with RequiresGrad), which are perturbed one coordinate at a time; <paramref name="rewind"/> runs before every
    /// forward, <paramref name="zeroGrad"/> before the analytic backward.
    /// </summary>
    private static GradCheckReport Core(Func<Tensor> forward, IReadOnlyList<(string Name, Tensor Tensor)> tensors, GradCheckOptions o,
                                        Func<Tensor, Tensor>? loss, Action rewind, Action zeroGrad)
    {
        var gen = new Generator(o.Seed);
        float[]? r = null;
        double Scalar(Tensor y, out double magnitude)
        {
            if (loss is not null)
            {
                var l = loss(y);
                if (l.Numel != 1) throw new ArgumentException($"GradCheck: the loss must be a one-element tensor, got {l.ShapeString}");
                double v = l.Item();
                magnitude = Math.Abs(v);
                return v;
            }
            var ya = y.ToArray();
            if (r is null)
            {
                r = new float[ya.Length];
                for (int i = 0; i < r.Length; i++) r[i] = 2f * gen.NextFloat() - 1f;
            }
            double s = 0, m = 0;
            for (int i = 0; i < ya.Length; i++) { s += (double)r[i] * ya[i]; m += Math.Abs((double)r[i] * ya[i]); }
            magnitude = m;
            return s;
        }

        double Evaluate()
        {
            rewind();
            using var scope = new TensorScope();
            using var noGrad = Tensor.NoGrad();
            return Scalar(forward(), out _);
        }

        double l0 = 0;

        // Central and one-sided differences of L in coordinate j of t, with step eps applied to the float32 value;
        // the denominators are the perturbations float32 actually represented, the differences are in double.
        (double Central, double Forward, double Backward) Differences(Tensor t, float[] values, int j, float eps)
        {
            float orig = values[j], vp = orig + eps, vm = orig - eps;
            values[j] = vp; t.CopyFrom(values); double lp = Evaluate();
            values[j] = vm; t.CopyFrom(values); double lm = Evaluate();
            values[j] = orig; t.CopyFrom(values);
            return ((lp - lm) / ((double)vp - vm), (lp - l0) / ((double)vp - orig), (l0 - lm) / (orig - (double)vm));
        }

        double Tolerance(double analytic, double numeric, double scale, double noise) =>
            o.RelativeTolerance * Math.Max(Math.Abs(analytic), Math.Abs(numeric)) + o.ScaleTolerance * scale + noise;

        // Analytic gradients: one forward and one backward.
        zeroGrad();
        rewind();
        double magnitude;
        using (var scope = new TensorScope())
        {
            var y = forward();
            l0 = Scalar(y, out magnitude);
            if (!y.RequiresGrad) throw new ArgumentException("GradCheck: the output does not depend on the input or any parameter");
            if (loss is null) y.Backward(Tensor.FromArray(r!, y.Shape, y.Device));
            else loss(y).Backward();
        }
        double h0 = 2.0 * o.Eps;
        double noise = o.NoiseUlps * Math.Pow(2, -24) * Math.Max(magnitude, 1e-30) / h0;

        var results = new List<TensorGradCheck>();
        foreach (var (name, t) in tensors)
        {
            if (o.Include is not null && !o.Include(name)) continue;
            var values = t.ToArray();
            var grad = t.Grad?.ToArray() ?? new float[t.Numel];
            double scale = 0;
            int top = 0;
            for (int i = 0; i < grad.Length; i++)
                if (Math.Abs(grad[i]) > scale) { scale = Math.Abs(grad[i]); top = i; }

            var picks = new List<int> { top };
            var chosen = new HashSet<int> { top };
            int k = Math.Min(o.SamplesPerTensor, t.Numel);
            while (picks.Count < k) { int j = gen.NextInt(t.Numel); if (chosen.Add(j)) picks.Add(j); }

            int compared = 0, skipped = 0, failed = 0;
            double maxAbs = 0, maxRel = 0;
            foreach (int j in picks)
            {
                double analytic = grad[j];
                var (numeric, forwardDiff, backwardDiff) = Differences(t, values, j, o.Eps);
                double err = Math.Abs(analytic - numeric);
                double tol = Tolerance(analytic, numeric, scale, noise);
                if (err > tol)
                {
                    // A wrong gradient, or a kink of ReLU / max pooling within ±ε. Retry with ε/4: a kink that
                    // was crossed usually no longer is, while at a smooth point both steps agree.
                    var (numeric4, _, _) = Differences(t, values, j, o.Eps / 4);
                    double err4 = Math.Abs(analytic - numeric4);
                    double tol4 = Tolerance(analytic, numeric4, scale, 4 * noise);
                    if (err4 <= tol4) { numeric = numeric4; err = err4; }
                    else if (Math.Abs(forwardDiff - backwardDiff) > tol || Math.Abs(numeric - numeric4) > tol4) { skipped++; continue; }
                    else failed++;
                }
                compared++;
                maxAbs = Math.Max(maxAbs, err);
                double big = Math.Max(Math.Abs(analytic), Math.Abs(numeric));
                if (big > noise) maxRel = Math.Max(maxRel, err / big);
            }
            results.Add(new TensorGradCheck(name, (int[])t.Shape.Clone(), compared, skipped, failed, maxAbs, maxRel, scale));
        }
        return new GradCheckReport(results, l0, noise);
    }
}
