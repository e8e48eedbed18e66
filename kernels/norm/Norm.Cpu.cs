namespace ScratchNet.Kernels;

// The batch-normalisation kernels of the cpu device: the plain loops of Norm.Reference.cs when its options say Reference, else
// the vector code of Norm.Cpu.Simd.cs on the device's vector path. The running statistics' update touches C numbers: the
// reference loop on every path.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormStats(Storage x, Storage mean, Storage var, int n, int c, int inner)
        { if (IsReference) Reference.BatchNormStats(F(x), F(mean), F(var), n, c, inner); else NormSimd.Stats(Path, F(x), F(mean), F(var), n, c, inner); }

    /// <inheritdoc/>
    public void BatchNormUpdateRunning(Storage mean, Storage var, Storage runningMean, Storage runningVar, Storage? count, int c, int m, float momentum) =>
        Reference.BatchNormUpdateRunning(F(mean), F(var), F(runningMean), F(runningVar), count is null ? null : I(count), c, m, momentum);

    /// <inheritdoc/>
    public void BatchNormForward(Storage x, Storage mean, Storage var, Storage? weight, Storage? bias, Storage y, int n, int c, int inner, float eps)
    {
        if (IsReference) Reference.BatchNormForward(F(x), F(mean), F(var), weight is null ? null : F(weight), bias is null ? null : F(bias), F(y), n, c, inner, eps);
        else NormSimd.Forward(Path, F(x), F(mean), F(var), weight is null ? null : F(weight), bias is null ? null : F(bias), F(y), n, c, inner, eps);
    }

    /// <inheritdoc/>
    public void BatchNormBackwardReduce(Storage dy, Storage x, Storage mean, Storage var, Storage sumDy, Storage sumDyXhat, int n, int c, int inner, float eps)
    {
        if (IsReference) Reference.BatchNormBackwardReduce(F(dy), F(x), F(mean), F(var), F(sumDy), F(sumDyXhat), n, c, inner, eps);
        else NormSimd.BackwardReduce(Path, F(dy), F(x), F(mean), F(var), F(sumDy), F(sumDyXhat), n, c, inner, eps);
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Storage dy, Storage x, Storage mean, Storage var, Storage? weight, Storage? sumDy, Storage? sumDyXhat, Storage dx,
                                  int n, int c, int inner, float eps)
    {
        float[]? w = weight is null ? null : F(weight), s0 = sumDy is null ? null : F(sumDy), s1 = sumDyXhat is null ? null : F(sumDyXhat);
        if (IsReference) Reference.BatchNormBackward(F(dy), F(x), F(mean), F(var), w, s0, s1, F(dx), n, c, inner, eps);
        else NormSimd.Backward(Path, F(dy), F(x), F(mean), F(var), w, s0, s1, F(dx), n, c, inner, eps);
    }
}
