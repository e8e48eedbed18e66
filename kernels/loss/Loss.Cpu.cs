namespace ScratchNet.Kernels;

// Softmax and cross-entropy, plain C#: rows run in parallel, each row is a sequential loop.
// Sums are accumulated in double (this is the reference the ILGPU kernels are tested against).
// Not vectorised (unlike the other families, see CpuSimd.cs): a row holds the C = 10 logits of one sample,
// less than one AVX-512 vector, and a batch of 64 is 640 elements, about a microsecond on the calling
// thread (CpuBackend.For runs it inline); a vector exp would also not round like MathF.Exp.
public sealed partial class CpuBackend
{
    /// <summary>Writes softmax(x[o .. o+c)) into y[o .. o+c) and returns (max, Σ exp(x − max)) for the loss.</summary>
    static (float Max, double SumExp) SoftmaxRow(float[] x, float[] y, int o, int c)
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

    public void SoftmaxCrossEntropyForward(Storage logits, Storage labels, Storage probs, Storage losses, int n, int c)
    {
        float[] X = F(logits), P = F(probs), L = F(losses);
        int[] Y = I(labels);
        For(n, r =>
        {
            int o = r * c;
            var (m, s) = SoftmaxRow(X, P, o, c);
            int label = Y[r];
            L[r] = label >= 0 && label < c ? (float)(Math.Log(s) - (X[o + label] - m)) : float.NaN;
        }, c);
    }

    public void SoftmaxCrossEntropyBackward(Storage probs, Storage labels, Storage dy, Storage dlogits, int n, int c)
    {
        float[] P = F(probs), DX = F(dlogits);
        int[] Y = I(labels);
        float scale = F(dy)[0] / n;
        For(n, r =>
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

    public void Softmax(Storage x, Storage y, int n, int c)
    {
        float[] X = F(x), Y = F(y);
        For(n, r => SoftmaxRow(X, Y, r * c, c), c);
    }

    public void SoftmaxBackward(Storage y, Storage dy, Storage dx, int n, int c)
    {
        float[] Y = F(y), DY = F(dy), DX = F(dx);
        For(n, r =>
        {
            int o = r * c;
            double dot = 0;
            for (int j = 0; j < c; j++) dot += (double)DY[o + j] * Y[o + j];
            float d = (float)dot;
            for (int j = 0; j < c; j++) DX[o + j] += Y[o + j] * (DY[o + j] - d);
        }, c);
    }
}
