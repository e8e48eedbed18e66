namespace ScratchNet.Kernels;

// Reductions and softmax along a dimension, the definition (ReduceDim.cs): one output (o, i) per iteration, its dim
// elements x[(o·dim + d)·inner + i] visited in order of d; sums in double. Outputs run in parallel.
public static partial class Reference
{
    /// <summary>The first maximum (max = true) or minimum of x[start + d·inner] over d; a NaN beats every number (the first NaN
    /// wins), as torch.max(dim) / torch.argmax.</summary>
    public static (float Value, int Index) ExtremeAlong(float[] X, int start, int dim, int inner, bool max)
    {
        float best = X[start];
        int at = 0;
        for (int d = 1; d < dim; d++)
        {
            float v = X[start + d * inner];
            if (float.IsNaN(best)) break;
            if ((max ? v > best : v < best) || float.IsNaN(v)) { best = v; at = d; }
        }
        return (best, at);
    }

    /// <summary>Σ_d x[start + d·inner], in double, in order of d.</summary>
    public static double SumAlong(float[] X, int start, int dim, int inner)
    {
        double s = 0;
        for (int d = 0; d < dim; d++) s += X[start + d * inner];
        return s;
    }

    public static void ReduceDim(DimReduction op, float[] X, float[] Y, Storage? aux, int outer, int dim, int inner, float scale)
    {
        int[]? index = op is DimReduction.Max or DimReduction.Min ? CpuBackend.I(aux!) : null;
        float[]? mean = op == DimReduction.Var && aux is not null ? CpuBackend.F(aux) : null;
        ReduceDim(op, X, Y, index, mean, outer, dim, inner, scale);
    }

    public static void ReduceDim(DimReduction op, float[] X, float[] Y, int[]? index, float[]? mean, int outer, int dim, int inner, float scale)
    {
        CpuBackend.For(outer * inner, j =>
        {
            int o = j / inner, i = j % inner, start = o * dim * inner + i;
            switch (op)
            {
                case DimReduction.Sum:
                    Y[j] = (float)SumAlong(X, start, dim, inner) * scale;
                    break;
                case DimReduction.Max:
                case DimReduction.Min:
                    var (v, at) = ExtremeAlong(X, start, dim, inner, op == DimReduction.Max);
                    Y[j] = v; index![j] = at;
                    break;
                default:
                    double m = SumAlong(X, start, dim, inner) / dim, ss = 0;
                    for (int d = 0; d < dim; d++) { double e = X[start + d * inner] - m; ss += e * e; }
                    Y[j] = (float)(ss * scale);
                    if (mean is not null) mean[j] = (float)m;
                    break;
            }
        }, dim);
    }

    public static void ReduceDimBackward(DimReduction op, float[] X, Storage? aux, float[] DY, float[] DX, int outer, int dim, int inner, float scale)
    {
        switch (op)
        {
            case DimReduction.Sum:
                CpuBackend.ForChunks(outer * dim * inner, (s, e) =>
                {
                    for (int k = s; k < e; k++) DX[k] += scale * DY[k / (dim * inner) * inner + k % inner];
                });
                break;
            case DimReduction.Max:
            case DimReduction.Min:
                var index = CpuBackend.I(aux!);
                CpuBackend.For(outer * inner, j =>
                {
                    int o = j / inner, i = j % inner, d = index[j];
                    if (d >= 0 && d < dim) DX[(o * dim + d) * inner + i] += DY[j];
                }, 1);
                break;
            default:
                var mean = CpuBackend.F(aux!);
                CpuBackend.ForChunks(outer * dim * inner, (s, e) =>
                {
                    for (int k = s; k < e; k++)
                    {
                        int j = k / (dim * inner) * inner + k % inner;
                        DX[k] += DY[j] * (2f * scale * (X[k] - mean[j]));
                    }
                });
                break;
        }
    }

    public static void SoftmaxDim(float[] X, float[] Y, int outer, int dim, int inner, bool log)
    {
        CpuBackend.For(outer * inner, j =>
        {
            int o = j / inner, i = j % inner, start = o * dim * inner + i;
            float m = float.NegativeInfinity;
            for (int d = 0; d < dim; d++) m = Math.Max(m, X[start + d * inner]);
            double s = 0;
            for (int d = 0; d < dim; d++)
            {
                float e = MathF.Exp(X[start + d * inner] - m);
                if (!log) Y[start + d * inner] = e;
                s += e;
            }
            if (log)
            {
                float ls = (float)Math.Log(s);
                for (int d = 0; d < dim; d++) Y[start + d * inner] = X[start + d * inner] - m - ls;
            }
            else
            {
                float inv = (float)(1.0 / s);
                for (int d = 0; d < dim; d++) Y[start + d * inner] *= inv;
            }
        }, dim);
    }

    public static void SoftmaxDimBackward(float[] Y, float[] DY, float[] DX, int outer, int dim, int inner, bool log)
    {
        CpuBackend.For(outer * inner, j =>
        {
            int o = j / inner, i = j % inner, start = o * dim * inner + i;
            double s = 0;
            for (int d = 0; d < dim; d++)
            {
                int k = start + d * inner;
                s += log ? DY[k] : (double)DY[k] * Y[k];
            }
            float t = (float)s;
            for (int d = 0; d < dim; d++)
            {
                int k = start + d * inner;
                DX[k] += log ? DY[k] - MathF.Exp(Y[k]) * t : Y[k] * (DY[k] - t);
            }
        }, dim);
    }
}
