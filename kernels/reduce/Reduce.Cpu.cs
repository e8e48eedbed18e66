namespace ScratchNet.Kernels;

// The reduce kernels of the cpu device: the plain loops of Reduce.Reference.cs when its options say Reference,
// else the vector code of Reduce.Cpu.Simd.cs on the device's vector path.
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Sum(Storage x, Storage y, int n) => F(y)[0] = IsReference ? Reference.Sum(F(x), n) : ReduceSimd.Sum(Path, F(x), n);

    // Argmax has no vector version (its rows are the C = 10 logits of a batch): Reduce.Reference.cs's loops on every path.
    /// <inheritdoc />
    public void ArgmaxRows(Storage x, Storage idx, int n, int c) => Reference.ArgmaxRows(F(x), I(idx), n, c);

    /// <inheritdoc />
    public int CountCorrect(Storage logits, Storage labels, int n, int c) => Reference.CountCorrect(F(logits), I(labels), n, c);
}
