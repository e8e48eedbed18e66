using System.Diagnostics;

namespace ScratchNet.data;

/// <summary>
/// Dedicated threads that run decode jobs under a wall-clock limit that is enforced even when the decoder
/// ignores its <see cref="CancellationToken"/> (ImageSharp's PNG and BMP decoders do).
///
/// .NET cannot stop a running thread, so a job that overruns is abandoned instead: a watchdog thread
/// notices it (it looks every <see cref="CheckInterval"/>), cancels its token, reports the timeout to the
/// waiting caller at once, retires the worker and starts a fresh one in its place. The abandoned thread
/// finishes (or not) on its own; whatever it computes is dropped, because a job's result is committed only
/// by the thread that wins the Running → Idle / Running → Abandoned race on the worker's state.
///
/// Callers block on an event set by these threads, never on a thread-pool task, so waiting from a
/// thread-pool thread cannot starve the pool. There are <see cref="Environment.ProcessorCount"/> workers;
/// a batch of N jobs (a folder of images) is handed out one index at a time from a shared counter, so the
/// per-image cost is one lock and no allocation.
/// </summary>
internal static class DecodeThreads
{
    /// <summary>How often the watchdog compares the running jobs' elapsed time with their limit.</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(10);

    private static readonly object Gate = new();
    private static readonly Queue<Batch> Pending = new();
    private static readonly List<Worker> Workers = [];
    private static bool started;
    private static int nextWorkerId;

    /// <summary>
    /// Runs <paramref name="work"/> for indices 0..count-1 on the decode threads and waits for all of them.
    /// A job that throws, or runs longer than <paramref name="timeout"/> (reported with
    /// <paramref name="timeoutError"/>), leaves its exception in the returned array. Once index k has failed,
    /// indices above k that have not started are skipped (their slot stays null): every index below the first
    /// failure has run, so the first failure in index order is the same whatever the scheduling.
    /// <paramref name="commit"/> runs on the worker for each job that finished in time, never for an abandoned one.
    /// </summary>
    public static Exception?[] Run<T>(int count, TimeSpan timeout, Func<int, CancellationToken, T> work, Action<int, T> commit, Func<int, Exception> timeoutError)
    {
        var batch = new Batch<T>(count, timeout, work, commit, timeoutError);
        if (count == 0) return batch.Errors;
        lock (Gate)
        {
            if (!started) Start();
            Pending.Enqueue(batch);
            Monitor.PulseAll(Gate);
        }
        batch.Done.Wait();
        return batch.Errors;
    }

    private static void Start()
    {
        for (int i = 0; i < Environment.ProcessorCount; i++) AddWorker();
        new Thread(Watchdog) { IsBackground = true, Name = "ScratchNet decode watchdog" }.Start();
        started = true;
    }

    private static void AddWorker()
    {
        var w = new Worker(nextWorkerId++);
        Workers.Add(w);
        w.Thread.Start();
    }

    private const int Idle = 0, Running = 1, Abandoned = 2;

    private sealed class Worker
    {
        public Worker(int id) => Thread = new Thread(Loop) { IsBackground = true, Name = $"ScratchNet decoder {id}" };

        public readonly Thread Thread;
        public readonly CancellationTokenSource Cancel = new();
        public int State;
        // The current job; written under Gate before State becomes Running, read by the watchdog under Gate.
        public Batch? Batch;
        public int Index;
        public long StartTicks;

        /// <summary>Running → Idle: true when this thread, not the watchdog, owns the job's outcome.</summary>
        public bool TryFinish() => Interlocked.CompareExchange(ref State, Idle, Running) == Running;

        private void Loop()
        {
            while (true)
            {
                Batch batch;
                int index;
                lock (Gate)
                {
                    while (!TryTake(out batch!, out index)) Monitor.Wait(Gate);
                    Batch = batch;
                    Index = index;
                    StartTicks = Stopwatch.GetTimestamp();
                    Volatile.Write(ref State, Running);
                }
                if (index > Volatile.Read(ref batch.FirstError))
                {
                    if (TryFinish()) batch.Complete(index, null);
                }
                else batch.Execute(index, Cancel.Token, this);
                if (Volatile.Read(ref State) == Abandoned) return;
                Batch = null; // an idle worker must not keep the batch (and the arrays its jobs write to) alive
            }
        }
    }

    private static bool TryTake(out Batch batch, out int index)
    {
        while (Pending.Count > 0)
        {
            batch = Pending.Peek();
            index = batch.Next++;
            if (batch.Next >= batch.Count) Pending.Dequeue();
            if (index < batch.Count) return true;
        }
        batch = null!;
        index = -1;
        return false;
    }

    private static void Watchdog()
    {
        while (true)
        {
            lock (Gate)
            {
                // Workers take jobs under Gate and a new batch pulses it, so when nothing is queued or running
                // here, nothing can start running until the next pulse.
                while (Pending.Count == 0 && !Workers.Any(w => Volatile.Read(ref w.State) == Running)) Monitor.Wait(Gate);
            }
            Thread.Sleep(CheckInterval);
            lock (Gate)
            {
                long now = Stopwatch.GetTimestamp();
                for (int k = 0; k < Workers.Count; k++)
                {
                    var w = Workers[k];
                    if (Volatile.Read(ref w.State) != Running || w.Batch is not { } batch || batch.TimeoutTicks < 0) continue;
                    if (now - w.StartTicks <= batch.TimeoutTicks) continue;
                    if (Interlocked.CompareExchange(ref w.State, Abandoned, Running) != Running) continue;
                    w.Cancel.Cancel();
                    Workers.RemoveAt(k--);
                    AddWorker();
                    batch.Complete(w.Index, batch.TimedOut(w.Index));
                }
            }
        }
    }

    private abstract class Batch(int count, TimeSpan timeout)
    {
        public readonly int Count = count;
        /// <summary>Stopwatch ticks a job may run; negative = no limit.</summary>
        public readonly long TimeoutTicks = timeout == Timeout.InfiniteTimeSpan ? -1 : (long)Math.Min(timeout.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2);
        public readonly Exception?[] Errors = new Exception?[count];
        public readonly ManualResetEventSlim Done = new(false);
        public int Next;
        public int FirstError = int.MaxValue;
        private int remaining = count;

        public abstract void Execute(int index, CancellationToken token, Worker worker);
        public abstract Exception TimedOut(int index);

        public void Complete(int index, Exception? error)
        {
            if (error is not null)
            {
                Errors[index] = error;
                int seen;
                while (index < (seen = Volatile.Read(ref FirstError)) && Interlocked.CompareExchange(ref FirstError, index, seen) != seen) { }
            }
            if (Interlocked.Decrement(ref remaining) == 0) Done.Set();
        }
    }

    private sealed class Batch<T>(int count, TimeSpan timeout, Func<int, CancellationToken, T> work, Action<int, T> commit, Func<int, Exception> timeoutError)
        : Batch(count, timeout)
    {
        public override void Execute(int index, CancellationToken token, Worker worker)
        {
            T result;
            try { result = work(index, token); }
            catch (Exception e)
            {
                if (worker.TryFinish()) Complete(index, e);
                return;
            }
            if (!worker.TryFinish()) return;
            Exception? error = null;
            try { commit(index, result); }
            catch (Exception e) { error = e; }
            Complete(index, error);
        }

        public override Exception TimedOut(int index) => timeoutError(index);
    }
}
