using System.Globalization;

namespace ScratchNet.nn;

// The layers of the lecture's models, with PyTorch's names, argument order, defaults and initialisation.
// Each layer is a thin wrapper: its Forward calls one F.* op (engine/autograd/Ops.*.cs), which runs the
// kernels of one family (kernels/<family>/).

/// <summary>
/// 2-D convolution (torch.nn.Conv2d): y[n, o] = b[o] + Σ_c w[o, c] ⋆ x[n, c] over a kernelSize×kernelSize window,
/// with zero padding and a stride. weight [out, in, k, k], bias [out]. Output size (H + 2·padding − k)/stride + 1.
/// Kernels: kernels/conv/ (im2col + gemm).
/// </summary>
public sealed class Conv2d : Module
{
    /// <summary>torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias) with square kernel, stride and padding;
    /// weight ~ kaiming_uniform(a = √5), bias ~ U(−1/√fan_in, 1/√fan_in), as torch. Throws ArgumentException for a size ≤ 0 or padding &lt; 0.</summary>
    /// <param name="inChannels">C of the input [N, C, H, W]</param> <param name="outChannels">channels of the output</param>
    /// <param name="kernelSize">side of the square kernel</param> <param name="stride">step of the window</param>
    /// <param name="padding">zeros added on every side</param> <param name="bias">whether a bias [out] is added</param>
    /// <param name="generator">the initialisation's random numbers; null: Init.DefaultGenerator</param> <param name="device">where the parameters live; null: cpu</param>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true,
                  Generator? generator = null, Device? device = null)
    {
        InChannels = Check.Positive("Conv2d", "in_channels", inChannels);
        OutChannels = Check.Positive("Conv2d", "out_channels", outChannels);
        KernelSize = Check.Positive("Conv2d", "kernel_size", kernelSize);
        Stride = Check.Positive("Conv2d", "stride", stride);
        Padding = Check.NonNegative("Conv2d", "padding", padding);
        int[] shape = [outChannels, inChannels, kernelSize, kernelSize];
        RegisterParameter("weight", Init.KaimingUniform(shape, Math.Sqrt(5), generator, device));
        if (bias) RegisterParameter("bias", Init.DefaultBias(outChannels, Init.FanInAndFanOut(shape).FanIn, generator, device));
    }

    /// <summary>Channels of the input [N, InChannels, H, W].</summary>
    public int InChannels { get; }
    /// <summary>Channels of the output [N, OutChannels, OH, OW].</summary>
    public int OutChannels { get; }
    /// <summary>Side of the square kernel (torch's kernel_size=(k, k)).</summary>
    public int KernelSize { get; }
    /// <summary>Step of the window, both axes.</summary>
    public int Stride { get; }
    /// <summary>Zeros added on every side of the input, both axes.</summary>
    public int Padding { get; }
    /// <summary>[out_channels, in_channels, k, k]</summary>
    public Tensor Weight => GetParameter("weight");
    /// <summary>[out_channels], or null when created with bias: false.</summary>
    public Tensor? Bias => GetParameterOrNull("bias");

    /// <summary>F.Conv2d(x, Weight, Bias, Stride, Padding); x [N, InChannels, H, W] → [N, OutChannels, OH, OW]. Throws ArgumentException for another shape.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"Conv2d({ExtraRepr()}): expected input [N, {InChannels}, H, W], got {x.ShapeString}");
        return F.Conv2d(x, Weight, Bias, Stride, Padding);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({KernelSize}, {KernelSize}), stride=({Stride}, {Stride})"
        + (Padding != 0 ? $", padding=({Padding}, {Padding})" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>
/// Fully connected layer (torch.nn.Linear): y = x·Wᵀ + b, x [N, in], weight [out, in], bias [out].
/// Kernels: kernels/gemm/.
/// </summary>
public sealed class Linear : Module
{
    /// <summary>torch.nn.Linear(in_features, out_features, bias): weight ~ kaiming_uniform(a = √5), bias ~ U(−1/√in, 1/√in), as torch.
    /// Throws ArgumentException for a size ≤ 0.</summary>
    /// <param name="inFeatures">columns of the input [N, in]</param> <param name="outFeatures">columns of the output [N, out]</param>
    /// <param name="bias">whether a bias [out] is added</param>
    /// <param name="generator">the initialisation's random numbers; null: Init.DefaultGenerator</param> <param name="device">where the parameters live; null: cpu</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null, Device? device = null)
    {
        InFeatures = Check.Positive("Linear", "in_features", inFeatures);
        OutFeatures = Check.Positive("Linear", "out_features", outFeatures);
        RegisterParameter("weight", Init.KaimingUniform([outFeatures, inFeatures], Math.Sqrt(5), generator, device));
        if (bias) RegisterParameter("bias", Init.DefaultBias(outFeatures, inFeatures, generator, device));
    }

    /// <summary>Columns of the input [N, InFeatures].</summary>
    public int InFeatures { get; }
    /// <summary>Columns of the output [N, OutFeatures].</summary>
    public int OutFeatures { get; }
    /// <summary>[out_features, in_features]</summary>
    public Tensor Weight => GetParameter("weight");
    /// <summary>[out_features], or null when created with bias: false.</summary>
    public Tensor? Bias => GetParameterOrNull("bias");

    /// <summary>F.Linear(x, Weight, Bias): x [N, InFeatures] → [N, OutFeatures]. Throws ArgumentException for another shape.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim != 2 || x.Shape[1] != InFeatures)
            throw new ArgumentException($"Linear({ExtraRepr()}): expected input [N, {InFeatures}], got {x.ShapeString}");
        return F.Linear(x, Weight, Bias);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}";
}

/// <summary>
/// Max pooling (torch.nn.MaxPool2d, dilation 1) over kernelSize×kernelSize windows moved by stride (default: kernelSize,
/// i.e. non-overlapping windows), over an input padded by <c>padding</c> on every side (padding never wins; at most
/// kernelSize/2). Output size (H + 2·padding − k)/stride + 1, rounded down, or up with ceilMode. Kernels: kernels/pool/.
/// </summary>
public sealed class MaxPool2d : Module
{
    /// <param name="kernelSize">window side</param>
    /// <param name="stride">step between windows; null: kernelSize</param>
    /// <param name="padding">padding on every side, at most kernelSize/2</param>
    /// <param name="ceilMode">round the output size up, keeping a partial last window (torch's ceil_mode)</param>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false)
    {
        KernelSize = Check.Positive("MaxPool2d", "kernel_size", kernelSize);
        Stride = Check.Positive("MaxPool2d", "stride", stride ?? kernelSize);
        Padding = Check.NonNegative("MaxPool2d", "padding", padding);
        if (padding > kernelSize / 2)
            throw new ArgumentException($"MaxPool2d: padding must be at most half the kernel size, got padding={padding}, kernel_size={kernelSize}");
        CeilMode = ceilMode;
    }

    /// <summary>Window side.</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }
    /// <summary>Padding on every side.</summary>
    public int Padding { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }

    /// <summary>F.MaxPool2d with this layer's settings; x [N, C, H, W].</summary>
    public override Tensor Forward(Tensor x) =>
        F.MaxPool2d(x, KernelSize, KernelSize, Stride, Stride, Padding, Padding, CeilMode);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation=1, ceil_mode={Py(CeilMode)}";

    internal static string Py(bool b) => b ? "True" : "False";
}

/// <summary>
/// Average pooling (torch.nn.AvgPool2d): the mean of each kernelSize×kernelSize window moved by stride (default: kernelSize),
/// over an input padded by <c>padding</c> on every side (at most kernelSize/2). countIncludePad (torch's default true) counts
/// the padding as zeros in the mean, false counts only real inputs; ceilMode keeps a partial last window. Kernels: kernels/pool/.
/// </summary>
public sealed class AvgPool2d : Module
{
    /// <param name="kernelSize">window side</param>
    /// <param name="stride">step between windows; null: kernelSize</param>
    /// <param name="padding">padding on every side, at most kernelSize/2</param>
    /// <param name="ceilMode">round the output size up, keeping a partial last window</param>
    /// <param name="countIncludePad">whether the padding counts in the divisor</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        KernelSize = Check.Positive("AvgPool2d", "kernel_size", kernelSize);
        Stride = Check.Positive("AvgPool2d", "stride", stride ?? kernelSize);
        Padding = Check.NonNegative("AvgPool2d", "padding", padding);
        if (padding > kernelSize / 2)
            throw new ArgumentException($"AvgPool2d: padding must be at most half the kernel size, got padding={padding}, kernel_size={kernelSize}");
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
    }

    /// <summary>Window side.</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }
    /// <summary>Padding on every side.</summary>
    public int Padding { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }
    /// <summary>Whether the padding counts in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>F.AvgPool2d with this layer's settings; x [N, C, H, W].</summary>
    public override Tensor Forward(Tensor x) =>
        F.AvgPool2d(x, KernelSize, KernelSize, Stride, Stride, Padding, Padding, CeilMode, CountIncludePad);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}" + (CeilMode ? ", ceil_mode=True" : "") + (CountIncludePad ? "" : ", count_include_pad=False");
}

/// <summary>
/// Adaptive average pooling (torch.nn.AdaptiveAvgPool2d((outH, outW))): any input [N, C, H, W] to [N, C, outH, outW], output row
/// oh averaging input rows [⌊oh·H/outH⌋, ⌈(oh + 1)·H/outH⌉), columns likewise. torchvision's AlexNet puts AdaptiveAvgPool2d((6, 6))
/// after its features: the identity at 224×224, an average (or, below 6×6 features, a repetition) at other sizes.
/// Kernels: kernels/pool/.
/// </summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <param name="outputHeight">output rows</param>
    /// <param name="outputWidth">output columns</param>
    public AdaptiveAvgPool2d(int outputHeight, int outputWidth)
    {
        OutputHeight = Check.Positive("AdaptiveAvgPool2d", "output height", outputHeight);
        OutputWidth = Check.Positive("AdaptiveAvgPool2d", "output width", outputWidth);
    }

    /// <summary>A square output, AdaptiveAvgPool2d(size).</summary>
    public AdaptiveAvgPool2d(int outputSize) : this(outputSize, outputSize) { }

    /// <summary>Output rows.</summary>
    public int OutputHeight { get; }
    /// <summary>Output columns.</summary>
    public int OutputWidth { get; }

    /// <summary>F.AdaptiveAvgPool2d(x, outH, outW); x [N, C, H, W].</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim != 4)
            throw new ArgumentException($"AdaptiveAvgPool2d(({OutputHeight}, {OutputWidth})): expected input [N, C, H, W], got {x.ShapeString}");
        return F.AdaptiveAvgPool2d(x, OutputHeight, OutputWidth);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size=({OutputHeight}, {OutputWidth})";
}

/// <summary>Rectified linear unit max(0, x) (torch.nn.ReLU). Kernels: kernels/activation/.</summary>
public sealed class ReLU : Module
{
    /// <summary>F.Relu(x), any shape.</summary>
    public override Tensor Forward(Tensor x) => F.Relu(x);
}

/// <summary>Logistic sigmoid 1 / (1 + e^−x) (torch.nn.Sigmoid). Kernels: kernels/activation/.</summary>
public sealed class Sigmoid : Module
{
    /// <summary>F.Sigmoid(x), any shape.</summary>
    public override Tensor Forward(Tensor x) => F.Sigmoid(x);
}

/// <summary>Hyperbolic tangent (torch.nn.Tanh). Kernels: kernels/activation/.</summary>
public sealed class Tanh : Module
{
    /// <summary>F.Tanh(x), any shape.</summary>
    public override Tensor Forward(Tensor x) => F.Tanh(x);
}

/// <summary>Leaky rectified linear unit (torch.nn.LeakyReLU): x if x &gt; 0 else negativeSlope·x. Kernels: kernels/activation/.</summary>
public sealed class LeakyReLU : Module
{
    /// <param name="negativeSlope">the slope for x ≤ 0 (torch's default 0.01)</param>
    public LeakyReLU(float negativeSlope = 0.01f)
    {
        if (!float.IsFinite(negativeSlope))
            throw new ArgumentException($"LeakyReLU: negative_slope must be finite, got {negativeSlope.ToString(CultureInfo.InvariantCulture)}");
        NegativeSlope = negativeSlope;
    }

    /// <summary>The slope for x ≤ 0.</summary>
    public float NegativeSlope { get; }

    /// <summary>F.LeakyRelu(x, NegativeSlope).</summary>
    public override Tensor Forward(Tensor x) => F.LeakyRelu(x, NegativeSlope);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"negative_slope={NegativeSlope.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Gaussian error linear unit (torch.nn.GELU): x·Φ(x) with approximate "none" (torch's default), or its tanh approximation with
/// "tanh". Kernels: kernels/activation/.
/// </summary>
public sealed class GELU : Module
{
    /// <param name="approximate">"none" (exact, with the normal CDF) or "tanh"</param>
    public GELU(string approximate = "none")
    {
        if (approximate is not ("none" or "tanh"))
            throw new ArgumentException($"GELU: approximate must be 'none' or 'tanh', got '{approximate}'");
        Approximate = approximate;
    }

    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; }

    /// <summary>F.Gelu(x, Approximate).</summary>
    public override Tensor Forward(Tensor x) => F.Gelu(x, Approximate);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"approximate='{Approximate}'";
}

/// <summary>Softmax along one dimension (torch.nn.Softmax(dim)): exp(x − max) / Σ exp(x − max). Kernels: kernels/reduce/ReduceDim.cs.</summary>
public sealed class Softmax : Module
{
    /// <param name="dim">the dimension the probabilities sum to 1 along (negative: from the end)</param>
    public Softmax(int dim) => Dim = dim;

    /// <summary>The dimension of the softmax.</summary>
    public int Dim { get; }

    /// <summary>F.Softmax(x, Dim).</summary>
    public override Tensor Forward(Tensor x) => F.Softmax(x, Dim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>Log-softmax along one dimension (torch.nn.LogSoftmax(dim)): (x − max) − log Σ exp(x − max); with NLLLoss it is
/// cross-entropy. Kernels: kernels/reduce/ReduceDim.cs.</summary>
public sealed class LogSoftmax : Module
{
    /// <param name="dim">the dimension to normalise along (negative: from the end)</param>
    public LogSoftmax(int dim) => Dim = dim;

    /// <summary>The dimension of the log-softmax.</summary>
    public int Dim { get; }

    /// <summary>F.LogSoftmax(x, Dim).</summary>
    public override Tensor Forward(Tensor x) => F.LogSoftmax(x, Dim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>The identity (torch.nn.Identity): returns its input, a placeholder where a layer is switched off.</summary>
public sealed class Identity : Module
{
    /// <summary>x itself.</summary>
    public override Tensor Forward(Tensor x) => x;
}

/// <summary>[N, d1, d2, ...] → [N, d1·d2·...] (torch.nn.Flatten with start_dim = 1). A view: no copy.</summary>
public sealed class Flatten : Module
{
    /// <summary>F.Flatten(x): [N, d1, d2, ...] → [N, d1·d2·...]; a tensor of rank ≤ 2 is returned as is.</summary>
    public override Tensor Forward(Tensor x) => F.Flatten(x);
}

/// <summary>
/// Inverted dropout (torch.nn.Dropout): in training mode each element is zeroed with probability p and the others
/// are scaled by 1/(1 − p), so evaluation mode (the identity) needs no rescaling.
///
/// The mask is a pure function of (Seed, Step, element index) — see F.Dropout and kernels/dropout/ — so it is the same
/// on every device. Step advances by one at each training-mode forward; saving Seed and Step with a checkpoint and
/// setting them back reproduces the masks after a resume.
/// </summary>
public sealed class Dropout : Module
{
    /// <summary>torch.nn.Dropout(p); the mask seed is drawn from <paramref name="generator"/> (null: Init.DefaultGenerator).
    /// Throws ArgumentException unless 0 ≤ p &lt; 1.</summary>
    /// <param name="p">probability of zeroing an element</param> <param name="generator">source of <see cref="Seed"/></param>
    public Dropout(float p = 0.5f, Generator? generator = null)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentException($"Dropout: p must be in [0, 1), got {p.ToString(CultureInfo.InvariantCulture)}");
        P = p;
        var g = generator ?? Init.DefaultGenerator;
        lock (g) Seed = g.NextULong();
    }

    /// <summary>Probability of zeroing an element, in [0, 1).</summary>
    public float P { get; }
    /// <summary>Seed of the mask stream (drawn from the generator at construction).</summary>
    public ulong Seed { get; set; }
    /// <summary>Number of training-mode forwards so far; the next mask uses this value.</summary>
    public long Step { get; set; }

    /// <summary>F.Dropout(x, P, true, Seed, Step) in training mode (then Step advances), x itself in evaluation mode.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (!Training) return x;
        var y = F.Dropout(x, P, true, Seed, Step);
        Step++;
        return y;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Channel dropout (torch.nn.Dropout2d): in training mode each whole channel x[n, c, :, :] of an [N, C, H, W] input is zeroed with
/// probability p and the others are scaled by 1/(1 − p); the identity in evaluation mode. Neighbouring pixels of a feature map
/// are strongly correlated, so dropping single pixels (Dropout) removes little; dropping channels does.
///
/// The mask of channel (n, c) is element n·C + c of kernels/dropout's counter-based stream of (Seed, Step): the same on every
/// device, reproducible from Seed and Step as <see cref="Dropout"/>'s (see F.Dropout2d).
/// </summary>
public sealed class Dropout2d : Module
{
    /// <param name="p">probability of dropping a channel, in [0, 1)</param>
    /// <param name="generator">draws the seed of the mask stream</param>
    public Dropout2d(float p = 0.5f, Generator? generator = null)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentException($"Dropout2d: p must be in [0, 1), got {p.ToString(CultureInfo.InvariantCulture)}");
        P = p;
        var g = generator ?? Init.DefaultGenerator;
        lock (g) Seed = g.NextULong();
    }

    /// <summary>Probability of dropping a channel.</summary>
    public float P { get; }
    /// <summary>Seed of the mask stream (drawn from the generator at construction).</summary>
    public ulong Seed { get; set; }
    /// <summary>Number of training-mode forwards so far; the next mask uses this value.</summary>
    public long Step { get; set; }

    /// <summary>F.Dropout2d in training mode (then Step advances), x itself in evaluation mode.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (!Training) return x;
        var y = F.Dropout2d(x, P, true, Seed, Step);
        Step++;
        return y;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P.ToString(CultureInfo.InvariantCulture)}";
}
