using ScratchNet.Kernels;

namespace ScratchNet.Bench;

/// <summary>The check of one version of a family on one device: how many outputs, how many failed, and the worst one.</summary>
public sealed record VersionCheck(string Device, string Family, string Version, int Cases, int Failed, CheckResult? Worst)
{
    /// <summary>Every output within its tolerance (and at least one checked).</summary>
    public bool Pass => Failed == 0 && Cases > 0;

    /// <summary>"PASS 24/24" or "FAIL 3/24".</summary>
    public string Verdict => Pass ? $"PASS {Cases}/{Cases}" : $"FAIL {Failed}/{Cases}";

    /// <summary>The check of one version from its results.</summary>
    public static VersionCheck Of(string device, string family, string version, IReadOnlyList<CheckResult> results) =>
        new(device, family, version, results.Count, results.Count(r => !r.Pass), results.MaxBy(r => r.Ratio));
}

/// <summary>
/// Runs an op's check cases for one version on one device against the reference: the cpu device with Kernels = Reference,
/// each family's plain loops (kernels/&lt;family&gt;/&lt;Family&gt;.Reference.cs). Every version of a family gets the same
/// seed, so the same inputs. An exception inside a version's cases (a kernel that crashes) is recorded as a failed output
/// naming it, and the other versions still run.
/// </summary>
public static class KernelCheck
{
    /// <summary>The oracle.</summary>
    public static IBackend ReferenceDevice => Backends.Get("cpu", DeviceOptions.ReferenceKernels);

    /// <summary>The versions to check or time on a device: the op's own, or the one the command line pinned.</summary>
    public static IReadOnlyList<OpVersion> VersionsOf(KernelOp op, string device, DeviceOptions? pinned) =>
        pinned is null ? op.Versions(device) : [OpVersion.Pinned(pinned)];

    /// <summary>Checks one version of <paramref name="op"/> on <paramref name="device"/>. The device must accept the version's options
    /// (ArgumentException otherwise).</summary>
    public static IReadOnlyList<CheckResult> Run(KernelOp op, string device, OpVersion version, ulong seed = 1)
    {
        var dev = Backends.Get(device, version.Options);
        var ctx = new CheckContext(op.Family, version, dev, ReferenceDevice, seed);
        try
        {
            op.Check(ctx);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ctx.Record($"{e.GetType().Name}: {OneLine(e.Message)}", "", double.NaN, 0);
        }
        dev.Synchronize();
        return ctx.Results;
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries));
}
