namespace ScratchNet.Kernels;

// Softmax and cross-entropy, the definition: rows run in parallel, each row is a sequential loop, sums
// accumulated in double. There is no vector version (unlike the other families, see CpuSimd.cs): a row holds the
// C = 10 logits of one sample, less than one AVX-512 vector, and a batch of 64 is 640 elements, about a microsecond
// on the calling thread (CpuBackend.For runs it inline); a vector exp would also not round like MathF.Exp. So the
// cpu device runs these loops on every path, and they are the oracle the ILGPU kernels are checked against.
public static partial class Reference
{
    /// <summary>Writes softmax(x[o .. o+c)) into y[o .. o+c) and returns (max, Σ exp(x − max)) for the loss.</summary>
    public static (float Max, double SumExp) SoftmaxRow(float[] x, float[] y, int o, int c)
    {
        float m = float.NegativeInfinity;
        for (int j = 0; j < c; j++) m = Math.Max(m, x[o + j]);
        double s = 0;
        for (int j = 0; j < c; j++)
        {
            float e = MathF.Exp(x[o + j] - m);
            y[o + j] = e;
            s += e;
        }
        float inv = (float)(1.0 / s);
        for (int j = 0; j < c; j++) y[o + j] *= inv;
        return (m, s);
    }

    /// <summary>probs = softmax(logits) row by row; losses[r] = −log probs[r, labels[r]] (NaN for a label outside [0, c)).</summary>
    public static void SoftmaxCrossEntropyForward(float[] X, int[] Y, float[] P, float[] L, int n, int c)
    {
        CpuBackend.For(n, r =>
        {
            int o = r * c;
            var (m, s) = SoftmaxRow(X, P, o, c);
            int label = Y[r];
            L[r] = label >= 0 && label < c ? (float)(Math.Log(s) - (X[o + label] - m)) : float.NaN;
        }, c);
    }

    /// <summary>dlogits[r, j] += (probs[r, j] − [j = labels[r]])·dy/n: the gradient of the mean loss, scaled by the upstream dy.</summary>
    public static void SoftmaxCrossEntropyBackward(float[] P, int[] Y, float dy, float[] DX, int n, int c)
    {
        float scale = dy / n;
        CpuBackend.For(n, r =>
        {
            int o = r * c, label = Y[r];
            if (label < 0 || label >= c)
            {
                for (int j = 0; j < c; j++) DX[o + j] = float.NaN;
                return;
            }
            for (int j = 0; j < c; j++) DX[o + j] += (P[o + j] - (j == label ? 1f : 0f)) * scale;
        }, c);
    }

    /// <summary>y = softmax(x) row by row.</summary>
    public static void Softmax(float[] X, float[] Y, int n, int c)
    {
        CpuBackend.For(n, r => SoftmaxRow(X, Y, r * c, c), c);
    }

    /// <summary>dx += y ⊙ (dy − Σ_j dy_j·y_j) row by row (the softmax's Jacobian-vector product).</summary>
    public static void SoftmaxBackward(float[] Y, float[] DY, float[] DX, int n, int c)
    {
        CpuBackend.For(n, r =>
        {
            int o = r * c;
            double dot = 0;
            for (int j = 0; j < c; j++) dot += (double)DY[o + j] * Y[o + j];
            float d = (float)dot;
            for (int j = 0; j < c; j++) DX[o + j] += Y[o + j] * (DY[o + j] - d);
        }, c);
    }

    /// <summary>Per row: the negative log-likelihood and its weight (0 and 0 for an ignored row, NaN and 1 for a bad label; Loss.cs).</summary>
    public static void NllLossForward(float[] X, int[] Y, float[] L, float[] W, int n, int c, int ignoreIndex)
    {
        for (int r = 0; r < n; r++)
        {
            int label = Y[r];
            if (label == ignoreIndex) { L[r] = 0f; W[r] = 0f; }
            else { L[r] = label >= 0 && label < c ? -X[r * c + label] : float.NaN; W[r] = 1f; }
        }
    }

    /// <summary>dx[r, label] −= dy[r] for each counted row (ACCUMULATES); a bad label's row becomes NaN.</summary>
    public static void NllLossBackward(int[] Y, float[] DY, float[] DX, int n, int c, int ignoreIndex)
    {
        for (int r = 0; r < n; r++)
        {
            int label = Y[r];
            if (label == ignoreIndex) continue;
            if (label >= 0 && label < c) DX[r * c + label] -= DY[r];
            else for (int j = 0; j < c; j++) DX[r * c + j] = float.NaN;
        }
    }
}
