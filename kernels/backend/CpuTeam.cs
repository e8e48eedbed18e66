using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace ScratchNet.Kernels;

// One fork-join team of threads for every parallel kernel of the `cpu` device (SGEMM, the SIMD kernels, the
// per-image convolution).
//
// Why not Parallel.For: a training step of a small network issues a few dozen parallel loops of 10–500 µs
// each. The .NET thread pool hands each one to workers that may be asleep (waking one costs tens of µs, and
// up to milliseconds in a VM whose idle vCPU was halted), and it allocates a closure and task state per call.
// Worse, two pools on the same cores fight: a pool that polls for its next job holds a core that the other
// pool's workers need. So all fast kernels share these ProcessorCount − 1 background threads plus the caller.
//
// A job is a struct with RunPart(part) for part in [0, parts). The caller publishes it with a new ticket
// (a generation number and how many workers should help), claims parts with an atomic counter like every
// helper, and returns only when every helper has reported back, so the job is never touched after Run
// returns. A helper that starts late simply finds fewer parts left. Nothing is allocated per call: the job
// is stored in a static field of a generic class (one per job type) and run through a delegate created once
// per job type.
//
// Waiting: after a job a worker keeps polling for the next ticket for SpinTime before it sleeps on its event,
// and the caller polls for its helpers the same way: back-to-back kernels find the workers awake. Polling
// calls Thread.Yield, so any other runnable thread on that core still gets it.
//
// One job at a time: a Run that finds the team busy (another thread's job, or a kernel called from inside a
// part) runs all its parts on the calling thread, in order. Parts must therefore not depend on running
// concurrently, and per-thread scratch belongs to a part (index buffers by part), not to a thread.
// An exception in a part stops the claiming of further parts and is rethrown to the caller, whichever thread
// ran it (original type and stack trace).

/// <summary>A parallel job: RunPart is called once for every part in [0, parts), on some thread of the team.</summary>
public interface ITeamJob
{
    /// <summary>Runs part <paramref name="part"/> of the job, 0 ≤ part &lt; parts. Each part runs exactly once, on the caller or a
    /// worker, in no fixed order and possibly concurrently with the others (or all in order on the caller when the team is busy),
    /// so a part must not depend on another or keep per-thread state: scratch buffers are indexed by part.</summary>
    void RunPart(int part);
}

/// <summary>The `cpu` device's fork-join thread team (see the header).</summary>
public static class CpuTeam
{
    static readonly long SpinTime = Stopwatch.Frequency / 500; // 2 ms
    static readonly ManualResetEventSlim AllDone = new(false);
    static ManualResetEventSlim[]? _wake;
    static Action<int>? _runPart;
    static long _ticket; // (generation << 32) | helpers: read as one value, so the two always match
    static int _busy, _nextPart, _parts, _running;
    static Exception? _error;

    [ThreadStatic] static int _depth; // > 0 while this thread runs a part of some job

    /// <summary>Threads a job can use: the caller plus the workers.</summary>
    public static int Threads => Math.Max(1, Environment.ProcessorCount);

    /// <summary>True while the calling thread runs a part of a job: a kernel called from there should not try to
    /// parallelise (the team is busy, it would only cut its work into pieces to run them one after the other).</summary>
    public static bool InsideJob => _depth > 0;

    sealed class Holder<TJob> where TJob : struct, ITeamJob
    {
        public static TJob Job;
        public static readonly Action<int> RunPart = part => Job.RunPart(part);
    }

    /// <summary>Runs job.RunPart(p) for every p in [0, parts) on up to `threads` team threads; returns when all are done.</summary>
    public static void Run<TJob>(int parts, in TJob job, int threads = int.MaxValue) where TJob : struct, ITeamJob
    {
        int helpers = Math.Min(Math.Min(parts, threads), Threads) - 1;
        if (helpers <= 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            _depth++;
            try { for (int p = 0; p < parts; p++) job.RunPart(p); } // busy or nothing to share: all parts here
            finally { _depth--; }
            return;
        }
        try
        {
            var wake = _wake ??= StartWorkers(Threads - 1);
            helpers = Math.Min(helpers, wake.Length);
            Holder<TJob>.Job = job;
            _runPart = Holder<TJob>.RunPart;
            _error = null;
            _nextPart = 0;
            _parts = parts;
            _running = helpers;
            long generation = (_ticket >> 32) + 1;
            Volatile.Write(ref _ticket, generation << 32 | (uint)helpers); // polling workers see this
            for (int i = 0; i < helpers; i++) wake[i].Set();              // sleeping ones need this
            Exception? mine = null;
            try { RunParts(); }
            catch (Exception e) { mine = e; Volatile.Write(ref _nextPart, int.MaxValue / 2); } // helpers stop claiming
            if (!PollUntilHelpersDone())
                while (Volatile.Read(ref _running) != 0) { AllDone.Wait(); AllDone.Reset(); } // a stale Set costs a re-check
            Holder<TJob>.Job = default; // drop the job's array references
            _runPart = null;
            if ((mine ?? _error) is { } error) ExceptionDispatchInfo.Capture(error).Throw();
        }
        finally { Volatile.Write(ref _busy, 0); }
    }

    static void RunParts()
    {
        var run = _runPart!;
        int part;
        _depth++;
        try
        {
            while ((part = Interlocked.Increment(ref _nextPart) - 1) < _parts)
                run(part);
        }
        finally { _depth--; }
    }

    static ManualResetEventSlim[] StartWorkers(int count)
    {
        var wake = new ManualResetEventSlim[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            var myWake = wake[i] = new ManualResetEventSlim(false);
            new Thread(() => WorkerLoop(index, myWake)) { IsBackground = true, Name = $"cpu-team-{index + 1}" }.Start();
        }
        return wake;
    }

    static void WorkerLoop(int index, ManualResetEventSlim wake)
    {
        long seen = 0; // the last ticket this worker looked at
        while (true)
        {
            if (!PollUntilNewTicket(seen))
                while (Volatile.Read(ref _ticket) == seen) { wake.Wait(); wake.Reset(); } // a stale Set costs a re-check
            seen = Volatile.Read(ref _ticket);
            if (index >= (int)(uint)seen) continue; // not asked to help with this job
            try { RunParts(); }
            catch (Exception e) { _error = e; Volatile.Write(ref _nextPart, int.MaxValue / 2); }
            finally { if (Interlocked.Decrement(ref _running) == 0) AllDone.Set(); }
        }
    }

    /// <summary>Polls for up to SpinTime, yielding the core between polls; false if the helpers are still running.</summary>
    static bool PollUntilHelpersDone()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTime;
        while (Volatile.Read(ref _running) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline) return false;
            Thread.Yield();
        }
        return true;
    }

    /// <summary>Polls for up to SpinTime, yielding the core between polls; false if no ticket newer than `seen` came.</summary>
    static bool PollUntilNewTicket(long seen)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTime;
        while (Volatile.Read(ref _ticket) == seen)
        {
            if (Stopwatch.GetTimestamp() > deadline) return false;
            Thread.Yield();
        }
        return true;
    }
}
