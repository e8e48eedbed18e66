namespace ScratchNet.Kernels;

// Batch normalisation, the definition (Norm.cs): per channel, its M = N·inner values visited in order (n, then i), sums in double;
// channels in parallel for the reductions, the (n, c) blocks in parallel for the element-wise passes.
public static partial class Reference
{
    /// <summary>Σ_n Σ_i x[(n·C + c)·inner + i] in double, in order.</summary>
    static double ChannelSum(float[] X, int n, int c, int inner, int channel)
    {
        double s = 0;
        for (int b = 0; b < n; b++)
        {
            int at = (b * c + channel) * inner;
            for (int i = 0; i < inner; i++) s += X[at + i];
        }
        return s;
    }

    /// <summary>Per channel: the mean and the biased variance, two passes in double (Norm.cs).</summary>
    public static void BatchNormStats(float[] X, float[] Mean, float[] Var, int n, int c, int inner)
    {
        int m = n * inner;
        CpuBackend.For(c, ch =>
        {
            double mean = ChannelSum(X, n, c, inner, ch) / m, ss = 0;
            for (int b = 0; b < n; b++)
            {
                int at = (b * c + ch) * inner;
                for (int i = 0; i < inner; i++) { double e = X[at + i] - mean; ss += e * e; }
            }
            Mean[ch] = (float)mean;
            Var[ch] = (float)(ss / m);
        }, costPerItem: 2L * m);
    }

    /// <summary>The counter, then the running mean and unbiased variance blended with the batch's (Norm.cs).</summary>
    public static void BatchNormUpdateRunning(float[] Mean, float[] Var, float[] RunningMean, float[] RunningVar, int[]? Count, int c, int m, float momentum)
    {
        int count = 0;
        if (Count is not null) Count[0] = count = Count[0] + 1;
        float f = BatchNormMath.Factor(momentum, count);
        for (int ch = 0; ch < c; ch++)
        {
            RunningMean[ch] = BatchNormMath.Blend(f, Mean[ch], RunningMean[ch]);
            RunningVar[ch] = BatchNormMath.Blend(f, BatchNormMath.Unbiased(Var[ch], m), RunningVar[ch]);
        }
    }

    /// <summary>y = (x − mean)·(w·invstd) + b per (n, c) block (Norm.cs); weight and bias may be null.</summary>
    public static void BatchNormForward(float[] X, float[] Mean, float[] Var, float[]? W, float[]? B, float[] Y, int n, int c, int inner, float eps)
    {
        CpuBackend.For(n * c, block =>
        {
            int ch = block % c, at = block * inner;
            float mean = Mean[ch], a = (W is null ? 1f : W[ch]) * BatchNormMath.InvStd(Var[ch], eps), b = B is null ? 0f : B[ch];
            for (int i = 0; i < inner; i++) Y[at + i] = BatchNormMath.Normalise(X[at + i], mean, a, b);
        }, costPerItem: inner);
    }

    /// <summary>Per channel: Σ dy and invstd·Σ dy·(x − mean), in double (Norm.cs).</summary>
    public static void BatchNormBackwardReduce(float[] DY, float[] X, float[] Mean, float[] Var, float[] SumDy, float[] SumDyXhat, int n, int c, int inner, float eps)
    {
        CpuBackend.For(c, ch =>
        {
            double sdy = 0, dot = 0, mean = Mean[ch];
            for (int b = 0; b < n; b++)
            {
                int at = (b * c + ch) * inner;
                for (int i = 0; i < inner; i++)
                {
                    sdy += DY[at + i];
                    dot += DY[at + i] * (X[at + i] - mean);
                }
            }
            SumDy[ch] = (float)sdy;
            SumDyXhat[ch] = (float)(dot * BatchNormMath.InvStd(Var[ch], eps));
        }, costPerItem: 2L * n * inner);
    }

    /// <summary>dx += the input gradient per (n, c) block (ACCUMULATES; Norm.cs): batch statistics when the sums are given, else w·invstd·dy.</summary>
    public static void BatchNormBackward(float[] DY, float[] X, float[] Mean, float[] Var, float[]? W, float[]? SumDy, float[]? SumDyXhat, float[] DX,
                                         int n, int c, int inner, float eps)
    {
        int m = n * inner;
        CpuBackend.For(n * c, block =>
        {
            int ch = block % c, at = block * inner;
            float invstd = BatchNormMath.InvStd(Var[ch], eps), a = (W is null ? 1f : W[ch]) * invstd;
            if (SumDy is null)
            {
                for (int i = 0; i < inner; i++) DX[at + i] += a * DY[at + i];
                return;
            }
            float mean = Mean[ch], mdy = SumDy[ch] / m, k = BatchNormMath.K(invstd, SumDyXhat![ch], m);
            for (int i = 0; i < inner; i++) DX[at + i] += BatchNormMath.Grad(DY[at + i], X[at + i], mean, a, mdy, k);
        }, costPerItem: inner);
    }
}
