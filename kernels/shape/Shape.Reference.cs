namespace ScratchNet.Kernels;

// The shape family's definition (Shape.cs): the strided copy element by element at StridedLayout.Offset, index_select row by row,
// its adjoint column by column adding the indices in order. Parallel over independent chunks, rows or columns.
public static partial class Reference
{
    /// <summary>The definition of <see cref="IBackend.StridedCopy"/>: Y[offset(y, i)] = X[offset(x, i)] (or += with
    /// <paramref name="accumulate"/>) for i &lt; d.N, offsets from <see cref="StridedLayout.Offset"/>, in parallel chunks.</summary>
    public static void StridedCopy(float[] X, float[] Y, Dims6 d, Strides6 sx, Strides6 sy, bool accumulate)
    {
        CpuBackend.ForChunks(d.N, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                int oy = StridedLayout.Offset(i, d, sy);
                float v = X[StridedLayout.Offset(i, d, sx)];
                Y[oy] = accumulate ? Y[oy] + v : v;
            }
        });
    }

    /// <summary>The definition of <see cref="IBackend.IndexSelect"/>: Y[(o·count + j)·inner + i] = X[(o·dimIn + index[j])·inner + i],
    /// or NaN for the whole row when index[j] is outside [0, dimIn); parallel over rows (o, j).</summary>
    public static void IndexSelect(float[] X, int[] index, float[] Y, int outer, int dimIn, int count, int inner)
    {
        CpuBackend.For(outer * count, row =>
        {
            int o = row / count, j = row % count, k = index[j];
            bool valid = k >= 0 && k < dimIn;
            for (int i = 0; i < inner; i++) Y[row * inner + i] = valid ? X[(o * dimIn + k) * inner + i] : float.NaN;
        }, inner);
    }

    /// <summary>The definition of <see cref="IBackend.IndexSelectBackward"/>: DX[(o·dimIn + index[j])·inner + i] +=
    /// DY[(o·count + j)·inner + i], each column (o, i) adding j in order (repeated indices add up); indices outside [0, dimIn) are
    /// dropped.</summary>
    public static void IndexSelectBackward(int[] index, float[] DY, float[] DX, int outer, int dimIn, int count, int inner)
    {
        CpuBackend.For(outer * inner, col =>
        {
            int o = col / inner, i = col % inner;
            for (int j = 0; j < count; j++)
            {
                int k = index[j];
                if (k >= 0 && k < dimIn) DX[(o * dimIn + k) * inner + i] += DY[(o * count + j) * inner + i];
            }
        }, count);
    }
}
