namespace ScratchNet.Kernels;

// ── shape ── data movement: a strided copy (permute, transpose, expand, narrow, cat), index_select and its adjoint
//   definition  Shape.Reference.cs   (the oracle of the tests and `scratchnet check`)
//   cpu         Shape.Cpu.cs: the reference loops with --kernels reference, else Shape.Cpu.Simd.cs (avx512 | avx2 | vector):
//               rows of the innermost dimension copied, splatted or gathered, and 2-D transposes in cache tiles; copies move
//               bits, so every path gives the reference's
//   gpu         Shape.Ilgpu.cs
//   tests       tests/TensorMathKernelTests.cs (every version against the Reference), tests/TensorMathTests.cs and TensorMathTorchTests.cs (the ops)
//   check/bench bench/ops/ShapeOp.cs: scratchnet check --op shape, scratchnet bench --op shape (GB/s, a copy as the ceiling)
//   engine      engine/autograd/Ops.Shape.cs (F.Reshape/View, Flatten, Squeeze, Unsqueeze, Expand, Transpose, Permute, Cat,
//               Stack, Narrow, IndexSelect)
//
// Tensors are contiguous (engine/tensor/Tensor.cs): a reshape, view, flatten, squeeze or unsqueeze keeps the bytes and only
// changes the shape (no kernel). Everything that reorders, repeats or selects elements MATERIALISES its output with one
// strided copy over the output's index space (dims d, element i with coordinates c):
//   StridedCopy   y[offset(y, i)] (+)= x[offset(x, i)],   offset(t, i) = t.Offset + Σ_k c_k·t.Stride_k   (Broadcast.cs)
//   permute(x, p)      d = the permuted shape, x strides = x's contiguous strides permuted by p, y contiguous
//   transpose(x, a, b) the permutation that swaps a and b
//   expand(x, shape)   x strides 0 along the expanded dims (the same element read again), y contiguous
//   narrow(x, k, s, n) d = x's shape with n at k; x offset s·stride_k; y contiguous
//   cat(xs, k)         one copy per input: d = its shape, x contiguous, y = the output's strides at offset (Σ earlier sizes)·stride_k
// Dimensions are merged first (StridedLayout.Coalesce): a permutation that keeps blocks together is a copy of fewer, longer rows.
// y must not repeat an element (no stride 0 on y): accumulating copies (the backward of permute, narrow, cat) may then run in
// any order. The adjoint of an expand is a sum, SumToShape of the broadcast family.
//
//   IndexSelect         y[o, j, i] = x[o, index[j], i]          over [outer, count, inner]; index Int32 [count]; x [outer, dimIn, inner]
//   IndexSelectBackward dx[o, index[j], i] += dy[o, j, i]       an index repeated adds every time (torch's index_add): each (o, i)
//                                                               column adds its j in order, so the result is deterministic
// An index outside [0, dimIn) is never used as an address: its output is NaN and its gradient is dropped (the engine checks the
// indices before it launches, so this only guards the device).
public partial interface IBackend
{
    /// <summary>y[offset(y, i)] = x[offset(x, i)] (or += with <paramref name="accumulate"/>) for i &lt; d.N; y's offsets must be distinct.</summary>
    void StridedCopy(Storage x, Storage y, Dims6 d, Strides6 sx, Strides6 sy, bool accumulate);

    /// <summary>y[o, j, i] = x[o, index[j], i] for y [outer, count, inner], x [outer, dimIn, inner], index Int32 [count].</summary>
    void IndexSelect(Storage x, Storage index, Storage y, int outer, int dimIn, int count, int inner);

    /// <summary>dx[o, index[j], i] += dy[o, j, i] (ACCUMULATES; repeated indices add up, in order of j).</summary>
    void IndexSelectBackward(Storage index, Storage dy, Storage dx, int outer, int dimIn, int count, int inner);
}
