using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScratchNet.Kernels;

// Max and average pooling, vectorised (CpuSimd.cs). Layout: NCHW, each H×W plane row-major (Pool.cs).
//
// Max forward. The lanes of a vector are Count consecutive outputs ow .. ow+Count−1 of one output row oh. For a
// window position (kh, kw) lane j reads input column (ow + j)·s − pad + kw of row ih = oh·s − pad + kh:
//   stride 1: Count consecutive floats, one plain load;
//   stride 2: every other float of the 2·Count floats from the first lane's column on: two loads and a
//             lane shuffle (LoadEven / LoadOdd in CpuSimd.Vectors.cs).
// Each lane then runs the reference's scan exactly: positions in row-major window order, and a position
// replaces the best when v > best or v is NaN:
//     gt = (v > best) | isnan(v);   best = gt ? v : best;   index = gt ? ih·W + iw : index
// so ties keep the first maximum and a NaN wins (the last NaN of the window, as in the reference). The
// winning index ih·W + iw is carried in float lanes (exact below 2^24, checked) and converted to Int32 once.
// Rows clipped by padding are skipped for all lanes alike (the clip depends on oh only). Columns: only the
// outputs whose whole window lies inside the row are vectorised; those whose window overlaps the left or right
// padding, and the leftovers of a row, use the reference's scalar code (Reference.MaxPoolOne). The leftovers
// are cut down by narrower vectors first: the AVX-512 path does 16 outputs, then 8, then 4; AVX2 8 then 4
// (a 12-wide row is one 8-vector and one 4-vector). Strides above 2, and stride 2 on the portable Vector<T>
// path (no shuffle), run the scalar code.
//
// Max backward is the reference's scatter dx[plane·H·W + argmax[o]] += dy[o] in increasing o: a gather/scatter
// with one load, one add and one store per output, already bound by memory; it only loses the delegate.
// Average forward: the same lanes and loads as the max, summing instead of comparing: for each lane the window's inputs are
// added in the reference's order (rows, then columns), then divided once by the divisor, which for an output whose window
// lies inside the row depends on oh only (rows of the window × KW): one splat per output row. The same additions and the
// same division as Reference.AvgPoolOne, so every lane gives the reference's bits; the leftovers of a row are one more
// vector block ending at the row's last interior output (recomputing a few outputs), edge outputs run that scalar code itself.
// Average backward (AvgBackwardKernel): per output row, the shares dy[o] / divisor(o) in vector lanes (the division dominated
// the scalar scatter), then the shares added to the inputs in increasing output order for every input, so the sums are the
// reference's bits: for stride 1 as a vector gather (each lane an input column, its shares added in a register), for other
// strides as the reference's scatter.
// All run in parallel over planes, inline when the tensor is below CpuSimd.SerialElements.
/// <summary>Max and average pooling on the cpu's vector paths (the scheme above).</summary>
public static class PoolSimd
{
    /// <summary>Vector blocks of one output row for ow in [ow, owEnd) (all windows inside the row); returns the first ow not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Row<TV>(ref float x, ref float y, ref int a, int ow, int owEnd, int hStart, int hEnd, in PoolGeometry g, long readable)
        where TV : struct, ISimd<TV>
    {
        int s = g.StrideW, w = TV.Count;
        if (s > 2 || (s == 2 && !TV.HasStride2)) return ow;
        // Stride 2 reads up to 2·((KW−1)/2) floats past the last lane's first column + 2·Count: at most one
        // float past the window; it must stay inside the array.
        int over = s == 1 ? w + g.KW - 1 : 2 * w + 2 * ((g.KW - 1) / 2);
        var lanes = TV.Iota * TV.Splat(s);
        var negInf = TV.Splat(float.NegativeInfinity);
        for (; ow + w <= owEnd; ow += w)
        {
            int c0 = ow * s - g.PadW;
            if ((long)(hEnd - 1) * g.W + c0 + over > readable) break;
            var best = negInf;
            var index = lanes + TV.Splat(hStart * g.W + c0);
            for (int ih = hStart; ih < hEnd; ih++)
            {
                int row = ih * g.W + c0;
                for (int kw = 0; kw < g.KW; kw++)
                {
                    int at = row + kw;
                    var v = s == 1 ? TV.Load(ref x, at) : (kw & 1) == 0 ? TV.LoadEven(ref x, at) : TV.LoadOdd(ref x, at - 1);
                    var gt = TV.GreaterThan(v, best) | TV.IsNaN(v);
                    best = TV.Select(gt, v, best);
                    index = TV.Select(gt, lanes + TV.Splat(at), index);
                }
            }
            TV.Store(best, ref y, ow);
            TV.StoreInt(index, ref a, ow);
        }
        return ow;
    }

    /// <summary>Average-pooling vector blocks of one output row for ow in [ow, owEnd) (all windows inside the row), each lane's
    /// window sum divided by <paramref name="divisor"/>; returns the first ow not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int AvgRow<TV>(ref float x, ref float y, int ow, int owEnd, int hStart, int hEnd, in PoolGeometry g, long readable, float divisor)
        where TV : struct, ISimd<TV>
    {
        int s = g.StrideW, w = TV.Count;
        if (s > 2 || (s == 2 && !TV.HasStride2)) return ow;
        int over = s == 1 ? w + g.KW - 1 : 2 * w + 2 * ((g.KW - 1) / 2);   // as Row: what the loads may touch past c0
        var div = TV.Splat(divisor);
        for (; ow + w <= owEnd; ow += w)
        {
            int c0 = ow * s - g.PadW;
            if ((long)(hEnd - 1) * g.W + c0 + over > readable) break;
            var sum = TV.Splat(0f);
            for (int ih = hStart; ih < hEnd; ih++)
            {
                int row = ih * g.W + c0;
                for (int kw = 0; kw < g.KW; kw++)
                {
                    int at = row + kw;
                    sum += s == 1 ? TV.Load(ref x, at) : (kw & 1) == 0 ? TV.LoadEven(ref x, at) : TV.LoadOdd(ref x, at - 1);
                }
            }
            TV.Store(sum / div, ref y, ow);
        }
        return ow;
    }

    /// <summary>Planes [p0, p1). TV is the main vector; T2 and T3 are the narrower ones for a row's leftovers.</summary>
    struct ForwardKernel<TV, T2, T3> : ICpuKernel where TV : struct, ISimd<TV> where T2 : struct, ISimd<T2> where T3 : struct, ISimd<T3>
    {
        public float[] X, Y;
        public int[] A;
        public PoolGeometry G;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int p0, int p1)
        {
            var g = G;
            // Outputs whose window lies inside the row: ow·s − pad ≥ 0 and ow·s − pad + KW ≤ W.
            int owLo = Math.Min((g.PadW + g.StrideW - 1) / g.StrideW, g.OW);
            int owHi = g.W + g.PadW - g.KW < 0 ? owLo : Math.Clamp((g.W + g.PadW - g.KW) / g.StrideW + 1, owLo, g.OW);
            for (int plane = p0; plane < p1; plane++)
            {
                int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
                ref float x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), inBase);
                long readable = X.Length - (long)inBase;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    int h0 = oh * g.StrideH - g.PadH;
                    int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
                    int o = outBase + oh * g.OW;
                    ref float y = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Y), o);
                    ref int a = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(A), o);
                    for (int ow = 0; ow < owLo; ow++) Reference.MaxPoolOne(X, Y, A, g, inBase, outBase, oh, ow);
                    int next = Row<TV>(ref x, ref y, ref a, owLo, owHi, hStart, hEnd, g, readable);
                    next = Row<T2>(ref x, ref y, ref a, next, owHi, hStart, hEnd, g, readable);
                    next = Row<T3>(ref x, ref y, ref a, next, owHi, hStart, hEnd, g, readable);
                    for (int ow = next; ow < g.OW; ow++) Reference.MaxPoolOne(X, Y, A, g, inBase, outBase, oh, ow);
                }
            }
        }
    }

    struct BackwardKernel : ICpuKernel
    {
        public float[] DY, DX;
        public int[] A;
        public int PlaneIn, PlaneOut;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int p0, int p1)
        {
            for (int plane = p0; plane < p1; plane++)
            {
                int inBase = plane * PlaneIn, outBase = plane * PlaneOut;
                for (int o = outBase; o < outBase + PlaneOut; o++)
                    DX[inBase + A[o]] += DY[o];
            }
        }
    }

    /// <summary>Average pooling over planes [p0, p1); TV, T2, T3 as in ForwardKernel.</summary>
    struct AvgForwardKernel<TV, T2, T3> : ICpuKernel where TV : struct, ISimd<TV> where T2 : struct, ISimd<T2> where T3 : struct, ISimd<T3>
    {
        public float[] X, Y;
        public PoolGeometry G;
        public bool CountIncludePad;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int p0, int p1)
        {
            var g = G;
            int owLo = Math.Min((g.PadW + g.StrideW - 1) / g.StrideW, g.OW);
            int owHi = g.W + g.PadW - g.KW < 0 ? owLo : Math.Clamp((g.W + g.PadW - g.KW) / g.StrideW + 1, owLo, g.OW);
            for (int plane = p0; plane < p1; plane++)
            {
                int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
                ref float x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(X), inBase);
                long readable = X.Length - (long)inBase;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    int h0 = oh * g.StrideH - g.PadH;
                    int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
                    int o = outBase + oh * g.OW;
                    ref float y = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Y), o);
                    for (int ow = 0; ow < owLo; ow++) Y[o + ow] = Reference.AvgPoolOne(X, g, inBase, oh, ow, CountIncludePad);
                    int next = owLo;
                    if (owLo < owHi)
                    {
                        // Every output in [owLo, owHi) has KW columns inside the image: its divisor depends on oh only.
                        float divisor = PoolGeometry.AvgDivisor(g, oh, owLo, CountIncludePad);
                        next = AvgRow<TV>(ref x, ref y, next, owHi, hStart, hEnd, g, readable, divisor);
                        next = AvgRow<T2>(ref x, ref y, next, owHi, hStart, hEnd, g, readable, divisor);
                        next = AvgRow<T3>(ref x, ref y, next, owHi, hStart, hEnd, g, readable, divisor);
                        // The leftovers: one more T3 block ending at owHi, overlapping the last one (the outputs it recomputes
                        // get the same bits), instead of the scalar code.
                        int back = owHi - T3.Count;
                        if (next < owHi && back >= owLo && AvgRow<T3>(ref x, ref y, back, owHi, hStart, hEnd, g, readable, divisor) == owHi) next = owHi;
                    }
                    for (int ow = next; ow < g.OW; ow++) Y[o + ow] = Reference.AvgPoolOne(X, g, inBase, oh, ow, CountIncludePad);
                }
            }
        }
    }

    /// <summary>Stride 1: dx[row, c] += shares of the outputs c + pad − kw for kw = KW − 1 down to 0 (increasing output order),
    /// for the columns [c, end) in blocks of TV lanes, added one share at a time in a register; returns the first column not done.
    /// <paramref name="shares"/> points at output 0's share, with KW − 1 entries of −0 before it and enough after the last output
    /// (x + −0 = x for every x, −0 included, so a missing output adds nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int GatherRow<TV>(ref float dxRow, ref float shares, int c, int end, int pad, int kw) where TV : struct, ISimd<TV>
    {
        int w = TV.Count;
        for (; c + w <= end; c += w)
        {
            var acc = TV.Load(ref dxRow, c);
            for (int k = kw - 1; k >= 0; k--) acc += TV.Load(ref shares, c + pad - k);
            TV.Store(acc, ref dxRow, c);
        }
        return c;
    }

    /// <summary>
    /// Average-pooling backward over planes [p0, p1), one output row at a time: first the row's shares dy[o] / divisor(o) (the
    /// interior outputs' in vector lanes: one division per lane, as the reference's scalar one), then the shares go to the inputs
    /// in the reference's order (increasing output order for every input). Stride 1: as a gather, one input column per lane
    /// (GatherRow): dx[ih, c] += share[c + pad − kw] for kw from KW − 1 down to 0, in a register, which is the reference's
    /// sequence of additions for that input; a scatter in vector lanes would store and reload overlapping vectors, which the
    /// store buffer cannot forward. Other strides: the reference's scatter of the shares.
    /// </summary>
    struct AvgBackwardKernel<TV, T2, T3> : ICpuKernel where TV : struct, ISimd<TV> where T2 : struct, ISimd<T2> where T3 : struct, ISimd<T3>
    {
        public float[] DY, DX;
        public PoolGeometry G;
        public bool CountIncludePad;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int p0, int p1)
        {
            var g = G;
            int w = TV.Count;
            int owLo = Math.Min((g.PadW + g.StrideW - 1) / g.StrideW, g.OW);
            int owHi = g.W + g.PadW - g.KW < 0 ? owLo : Math.Clamp((g.W + g.PadW - g.KW) / g.StrideW + 1, owLo, g.OW);
            // Interior shares are divided in vectors of TV: [owLo, vecEnd), the last block ending at owHi (it may overlap the one
            // before: a share computed twice is the same float). Narrower rows leave [owLo, owHi) to the scalar loop.
            int vecEnd = owHi - owLo >= w ? owHi : owLo;
            // The shares of one output row, with KW − 1 (−0)s before and W + PadW after for the stride-1 gather.
            int lead = g.KW - 1, length = lead + g.OW + g.W + g.PadW + 1;
            Span<float> buffer = length <= 2048 ? stackalloc float[length] : new float[length];
            buffer.Fill(-0f);
            var shares = buffer.Slice(lead, g.OW);
            ref float share0 = ref MemoryMarshal.GetReference(shares);
            ref float dx0 = ref MemoryMarshal.GetArrayDataReference(DX);
            ref float dy0 = ref MemoryMarshal.GetArrayDataReference(DY);
            for (int plane = p0; plane < p1; plane++)
            {
                int inBase = plane * g.H * g.W, outBase = plane * g.OH * g.OW;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    int o = outBase + oh * g.OW;
                    int h0 = oh * g.StrideH - g.PadH;
                    int hStart = Math.Max(h0, 0), hEnd = Math.Min(h0 + g.KH, g.H);
                    // Shares: the same divisions as Reference.AvgPoolBackOne.
                    if (owLo < vecEnd)
                    {
                        var div = TV.Splat(PoolGeometry.AvgDivisor(g, oh, owLo, CountIncludePad));
                        for (int ow = owLo; ow < vecEnd; ow += w)
                        {
                            int at = Math.Min(ow, vecEnd - w);   // the last block ends at vecEnd
                            TV.Store(TV.Load(ref dy0, o + at) / div, ref share0, at);
                        }
                    }
                    for (int ow = 0; ow < g.OW; ow++)
                        if (ow < owLo || ow >= vecEnd) shares[ow] = DY[o + ow] / PoolGeometry.AvgDivisor(g, oh, ow, CountIncludePad);
                    for (int ih = hStart; ih < hEnd; ih++)
                    {
                        int row = inBase + ih * g.W;
                        if (g.StrideW == 1)
                        {
                            ref float dxRow = ref Unsafe.Add(ref dx0, row);
                            int c = GatherRow<TV>(ref dxRow, ref share0, 0, g.W, g.PadW, g.KW);
                            c = GatherRow<T2>(ref dxRow, ref share0, c, g.W, g.PadW, g.KW);
                            c = GatherRow<T3>(ref dxRow, ref share0, c, g.W, g.PadW, g.KW);
                            for (; c < g.W; c++)
                            {
                                float acc = DX[row + c];
                                for (int k = g.KW - 1; k >= 0; k--) acc += Unsafe.Add(ref share0, c + g.PadW - k);
                                DX[row + c] = acc;
                            }
                            continue;
                        }
                        for (int ow = 0; ow < g.OW; ow++)
                        {
                            int w0 = ow * g.StrideW - g.PadW;
                            int wStart = Math.Max(w0, 0), wEnd = Math.Min(w0 + g.KW, g.W);
                            float sh = shares[ow];
                            for (int iw = wStart; iw < wEnd; iw++) DX[row + iw] += sh;
                        }
                    }
                }
            }
        }
    }

    /// <summary>y = the window averages (Pool.cs), on the given path.</summary>
    public static void AvgForward(KernelPath path, in PoolGeometry g, bool countIncludePad, float[] x, float[] y)
    {
        path = CpuSimd.Resolve(path);
        if (x.Length < g.InputSize || y.Length < g.OutputSize) throw new ArgumentException($"avg_pool2d: buffers too short for {g}");
        int planes = g.N * g.C, grain = Math.Max(1, CpuSimd.SerialElements / (g.H * g.W));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(planes, grain, new AvgForwardKernel<V512, V256, V128> { X = x, Y = y, G = g, CountIncludePad = countIncludePad }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(planes, grain, new AvgForwardKernel<V256, V128, V128> { X = x, Y = y, G = g, CountIncludePad = countIncludePad }, align: 1); break;
            default: CpuSimd.For(planes, grain, new AvgForwardKernel<VecT, VecT, VecT> { X = x, Y = y, G = g, CountIncludePad = countIncludePad }, align: 1); break;
        }
    }

    /// <summary>dx[i] += Σ_o dy[o] / divisor(o) in increasing o (the reference's order), on the given path.</summary>
    public static void AvgBackward(KernelPath path, in PoolGeometry g, bool countIncludePad, float[] dy, float[] dx)
    {
        path = CpuSimd.Resolve(path);
        if (dx.Length < g.InputSize || dy.Length < g.OutputSize) throw new ArgumentException($"avg_pool2d backward: buffers too short for {g}");
        int planes = g.N * g.C, grain = Math.Max(1, CpuSimd.SerialElements / (g.H * g.W));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(planes, grain, new AvgBackwardKernel<V512, V256, V128> { DY = dy, DX = dx, G = g, CountIncludePad = countIncludePad }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(planes, grain, new AvgBackwardKernel<V256, V128, V128> { DY = dy, DX = dx, G = g, CountIncludePad = countIncludePad }, align: 1); break;
            default: CpuSimd.For(planes, grain, new AvgBackwardKernel<VecT, VecT, VecT> { DY = dy, DX = dx, G = g, CountIncludePad = countIncludePad }, align: 1); break;
        }
    }

    /// <summary>y = max over each window, argmax = winner's index in its plane (Pool.cs), on the given path.</summary>
    public static void Forward(KernelPath path, in PoolGeometry g, float[] x, float[] y, int[] argmax)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (x.Length < g.InputSize || y.Length < g.OutputSize || argmax.Length < g.OutputSize)
            throw new ArgumentException($"max_pool2d: buffers too short for {g}");
        // Indices travel in float lanes: exact while a plane has at most 2^24 elements.
        if ((long)g.H * g.W > 1 << 24) { Reference.MaxPool2dForward(g, x, y, argmax); return; }
        int planes = g.N * g.C, grain = Math.Max(1, CpuSimd.SerialElements / (g.H * g.W));
        switch (path)
        {
            case KernelPath.Avx512: CpuSimd.For(planes, grain, new ForwardKernel<V512, V256, V128> { X = x, Y = y, A = argmax, G = g }, align: 1); break;
            case KernelPath.Avx2: CpuSimd.For(planes, grain, new ForwardKernel<V256, V128, V128> { X = x, Y = y, A = argmax, G = g }, align: 1); break;
            default: CpuSimd.For(planes, grain, new ForwardKernel<VecT, VecT, VecT> { X = x, Y = y, A = argmax, G = g }, align: 1); break;
        }
    }

    /// <summary>dx[plane·H·W + argmax[o]] += dy[o] in increasing o (the reference's order), on the given path.</summary>
    public static void Backward(KernelPath path, in PoolGeometry g, float[] dy, int[] argmax, float[] dx)
    {
        path = CpuSimd.Resolve(path);   // Simd → this CPU's best; Reference is not a vector path: ArgumentException
        if (dx.Length < g.InputSize || dy.Length < g.OutputSize || argmax.Length < g.OutputSize)
            throw new ArgumentException($"max_pool2d backward: buffers too short for {g}");
        int grain = Math.Max(1, CpuSimd.SerialElements / (g.H * g.W));
        CpuSimd.For(g.N * g.C, grain, new BackwardKernel { DY = dy, DX = dx, A = argmax, PlaneIn = g.H * g.W, PlaneOut = g.OH * g.OW }, align: 1);
    }
}
