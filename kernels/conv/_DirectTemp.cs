namespace ScratchNet.Kernels;
// TEMPORARY until the direct-conv branch lands (it brings Conv.Reference.cs's definition loops).
public static partial class Reference
{
    public static void Conv2dForward(in ConvGeometry g, float[] x, float[] w, float[]? bias, float[] y) => throw new NotImplementedException();
    public static void Conv2dBackwardData(in ConvGeometry g, float[] w, float[] dy, float[] dx) => throw new NotImplementedException();
    public static void Conv2dBackwardWeights(in ConvGeometry g, float[] x, float[] dy, float[] dw) => throw new NotImplementedException();
}
public sealed partial class IlgpuBackend
{
    internal void Conv2dForwardDirect(in ConvGeometry g, Storage x, Storage w, Storage? bias, Storage y) => throw new NotImplementedException();
    internal void Conv2dBackwardDataDirect(in ConvGeometry g, Storage w, Storage dy, Storage dx) => throw new NotImplementedException();
    internal void Conv2dBackwardWeightsDirect(in ConvGeometry g, Storage x, Storage dy, Storage dw) => throw new NotImplementedException();
}
