using ScratchNet.Kernels;

namespace ScratchNet.Tests;

// The cpu device's fork-join team (kernels/backend/CpuTeam.cs): every part runs exactly once, a job started
// from inside a part runs inline on that thread, and an exception in a part reaches the caller and leaves the
// team usable.
public class CpuTeamTests
{
    struct CountJob : ITeamJob
    {
        public int[] Hits;
        public readonly void RunPart(int part) => Interlocked.Increment(ref Hits[part]);
    }

    struct ThreadJob : ITeamJob
    {
        public int[] Threads;
        public readonly void RunPart(int part) => Threads[part] = Environment.CurrentManagedThreadId;
    }

    struct NestedJob : ITeamJob
    {
        public int[] Hits;
        public bool[] Inside, SameThread;
        public readonly void RunPart(int part)
        {
            Inside[part] = CpuTeam.InsideJob;
            var inner = new int[3];
            var threads = new int[3];
            CpuTeam.Run(3, new CountJob { Hits = inner });       // the team is busy: runs here, in order
            CpuTeam.Run(3, new ThreadJob { Threads = threads });
            SameThread[part] = threads.All(t => t == Environment.CurrentManagedThreadId);
            Interlocked.Add(ref Hits[part], inner.Sum());
        }
    }

    struct ThrowJob : ITeamJob
    {
        public readonly void RunPart(int part)
        {
            if (part == 5) throw new InvalidOperationException("part 5 failed");
        }
    }

    [Fact]
    public void Run_CallsEveryPartOnce()
    {
        foreach (int parts in new[] { 0, 1, 2, 7, 1000 })
        {
            var hits = new int[parts];
            for (int round = 0; round < 3; round++) CpuTeam.Run(parts, new CountJob { Hits = hits });
            Assert.All(hits, h => Assert.Equal(3, h));
        }
        Assert.False(CpuTeam.InsideJob);
    }

    [Fact]
    public void Run_FromInsideAPart_RunsInline()
    {
        var hits = new int[8];
        var inside = new bool[8];
        var sameThread = new bool[8];
        CpuTeam.Run(8, new NestedJob { Hits = hits, Inside = inside, SameThread = sameThread });
        Assert.All(hits, h => Assert.Equal(3, h));
        Assert.All(inside, Assert.True);
        Assert.All(sameThread, Assert.True);
    }

    [Fact]
    public void Run_ExceptionReachesCaller_AndTeamStaysUsable()
    {
        // The original exception, whichever thread ran part 5.
        var e = Assert.Throws<InvalidOperationException>(() => CpuTeam.Run(64, new ThrowJob()));
        Assert.Contains("part 5 failed", e.Message);
        var hits = new int[16];
        CpuTeam.Run(16, new CountJob { Hits = hits });
        Assert.All(hits, h => Assert.Equal(1, h));
    }
}
