namespace ScratchNet.Kernels;

// The reduce kernels of the cpu device: the plain loops of Reduce.Reference.cs when its options say Reference,
// else the vector code of Reduce.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    public void Sum(Storage x, Storage y, int n) => F(y)[0] = IsReference ? Reference.Sum(F(x), n) : ReduceSimd.Sum(Path, F(x), n);

    /// <summary>Index of the first maximum of x[o .. o+c); NaN beats every number, the first NaN wins.</summary>
    static int ArgmaxRow(float[] x, int o, int c)
    {
        int best = 0;
        float bestValue = x[o];
        for (int j = 1; j < c; j++)
        {
            float v = x[o + j];
            if (v > bestValue || (float.IsNaN(v) && !float.IsNaN(bestValue))) { best = j; bestValue = v; }
        }
        return best;
    }

    public void ArgmaxRows(Storage x, Storage idx, int n, int c)
    {
        float[] X = F(x);
        int[] Y = I(idx);
        For(n, r => Y[r] = ArgmaxRow(X, r * c, c), c);
    }

    public int CountCorrect(Storage logits, Storage labels, int n, int c)
    {
        float[] X = F(logits);
        int[] Y = I(labels);
        int count = 0;
        for (int r = 0; r < n; r++)
            if (ArgmaxRow(X, r * c, c) == Y[r]) count++;
        return count;
    }
}
