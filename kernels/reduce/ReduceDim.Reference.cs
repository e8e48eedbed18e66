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

    /// <summary>The definition of <see cref="IBackend.ReduceDim"/> on cpu storages: unwraps <paramref name="aux"/> (Max/Min's
    /// Int32 index, required; Var's Float32 mean, optional) and runs the array overload.</summary>
    public static void ReduceDim(DimReduction op, float[] X, float[] Y, Storage? aux, int outer, int dim, int inner, float scale)
    {
        int[]? index = op is DimReduction.Max or DimReduction.Min ? CpuBackend.I(aux!) : null;
        float[]? mean = op == DimReduction.Var && aux is not null ? CpuBackend.F(aux) : null;
        ReduceDim(op, X, Y, index, mean, outer, dim, inner, scale);
    }

    /// <summary>Y[o·inner + i] = the reduction of X[(o·dim + d)·inner + i] over d in order, one output per iteration, in parallel
    /// over outputs (table in ReduceDim.cs): Sum, scale·Σ in double; Max/Min, the first winner (a NaN beats every number) with its
    /// d in <paramref name="index"/>; Var, scale·Σ (x − m)² in double with m written to <paramref name="mean"/> when given.</summary>
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

    /// <summary>The definition of <see cref="IBackend.ReduceDimBackward"/> (accumulates into DX [outer, dim, inner]): Sum adds
    /// scale·DY[o, i] to every d; Max/Min add DY[o, i] at the saved index only (an index outside [0, dim) is dropped); Var adds
    /// DY·2·scale·(X − mean).</summary>
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

    /// <summary>The definition of <see cref="IBackend.SoftmaxDim"/>: per (o, i), m = max_d X, e_d = exp(X_d − m) summed in double,
    /// then Y_d = e_d / Σ e, or Y_d = X_d − m − ln Σ e with <paramref name="log"/>.</summary>
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

    /// <summary>The definition of <see cref="IBackend.SoftmaxDimBackward"/> (accumulates): per (o, i), t = Σ_k DY_k·Y_k (or Σ_k DY_k
    /// with <paramref name="log"/>) in double, then DX_d += Y_d·(DY_d − t), or DX_d += DY_d − exp(Y_d)·t.</summary>
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
