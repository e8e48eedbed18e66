using System.Diagnostics;

namespace ScratchNet.distributed;

/// <summary>An error of the distributed runtime: a failed MPI call, a collective past its deadline, a bad launch.</summary>
public sealed class DistributedException(string message) : Exception(message);

/// <summary>
/// A collective in flight (torch.distributed's Work): an MPI request polled with MPI_Test. Open MPI progresses a
/// nonblocking collective only inside MPI calls of the same process, so <see cref="Poll"/> is also the progress engine:
/// DistributedDataParallel polls at every gradient hook, which lets a bucket's all-reduce advance during backward.
/// </summary>
internal sealed unsafe class Work(IntPtr request, string what)
{
    private IntPtr _request = request;

    /// <summary>What the collective is, for the timeout message ("all_reduce of bucket 2 (24.9 MB)").</summary>
    public string What { get; } = what;
    /// <summary>True once MPI reported completion.</summary>
    public bool Done { get; private set; }

    /// <summary>One MPI_Test: drives progress and says whether the collective has completed.</summary>
    public bool Poll()
    {
        if (Done) return true;
        int flag = 0;
        lock (Mpi.Gate)
        {
            var r = _request;
            Mpi.Check(Mpi.Test(&r, &flag, null), $"MPI_Test ({What})");
            _request = r;
        }
        return Done = flag != 0;
    }

    /// <summary>
    /// Polls until completion, yielding the core between polls (ranks may share the machine's cores with each other). Past
    /// <see cref="Distributed.Timeout"/> it throws naming this rank and the collective: a peer that is stuck or has left
    /// without the launcher noticing never turns into a hang.
    /// </summary>
    public void Wait()
    {
        if (Poll()) return;
        var clock = Stopwatch.StartNew();
        var timeout = Distributed.Timeout;
        while (!Poll())
        {
            if (clock.Elapsed > timeout)
                throw new DistributedException(
                    $"rank {Distributed.Rank} of {Distributed.WorldSize}: {What} did not complete within {timeout.TotalSeconds:F0} s; another rank is stuck, dead or " +
                    "behind (SCRATCHNET_DIST_TIMEOUT sets the limit in seconds)");
            // Open MPI advances a nonblocking collective one round per MPI_Test: poll tightly (yielding to any runnable thread)
            // for the first second, then back off to a millisecond so that a long wait does not burn the core.
            if (clock.ElapsedMilliseconds < 1000) Thread.Yield();
            else Thread.Sleep(1);
        }
    }
}
