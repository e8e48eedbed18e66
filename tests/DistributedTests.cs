using System.Diagnostics;
using ScratchNet.data;
using ScratchNet.io;
using ScratchNet.Models.Training;
using Xunit.Abstractions;

namespace ScratchNet.Tests;

/// <summary>
/// Data-parallel training under Open MPI's mpirun: the built `scratchnet` and examples/DistributedTraining run as 1 or 2 ranks
/// on this machine. mpirun missing is a failure, not a skip (scripts/test.sh installs openmpi-bin).
/// </summary>
[Collection("mpirun")]
public class DistributedTests(ITestOutputHelper log)
{
    // 2 ranks × 32 against 1 × 64 on the same images: the sums of the two halves' mean gradients, halved, differ from the mean
    // of 64 by rounding only (a different summation order), which K steps of SGD with momentum carry into the weights.
    private const float Atol = 1e-6f, Rtol = 1e-5f;

    private static string Cli => Path.Combine(ExamplesTests.RepoRoot(), "cli", "bin", "Release", "net10.0", "scratchnet.dll");

    private static string Mpirun()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "mpirun"))) return Path.Combine(dir, "mpirun");
        throw new InvalidOperationException("mpirun not found: the distributed tests need Open MPI (apt-get install openmpi-bin libopenmpi-dev; scripts/test.sh installs it)");
    }

    private static ProcessStartInfo Start(int ranks, IEnumerable<string> command, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(Mpirun()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-np", ranks.ToString(), "--oversubscribe", "--bind-to", "none", "-x", "DOTNET_PROCESSOR_COUNT=1" }) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var k in env.Keys) { psi.ArgumentList.Add("-x"); psi.ArgumentList.Add(k); }
        psi.ArgumentList.Add("dotnet");
        foreach (var a in command) psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>A running mpirun with its stdout and stderr collected as they come.</summary>
    private sealed class Job : IDisposable
    {
        private readonly System.Text.StringBuilder _text = new();
        public Process P { get; }
        public Job(ProcessStartInfo psi)
        {
            P = new Process { StartInfo = psi };
            P.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_text) _text.AppendLine(e.Data); };
            P.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_text) _text.AppendLine(e.Data); };
            P.Start();
            P.BeginOutputReadLine();
            P.BeginErrorReadLine();
        }
        public string Text { get { lock (_text) return _text.ToString(); } }
        // The second, unbounded wait lets the asynchronous readers deliver the last lines.
        public bool WaitForExit(TimeSpan limit) { if (!P.WaitForExit(limit)) return false; P.WaitForExit(); return true; }
        public void Dispose() { if (!P.HasExited) P.Kill(true); P.Dispose(); }
    }

    private (int Code, string Out) Mpi(int ranks, IEnumerable<string> command, IDictionary<string, string>? env = null, int timeoutSeconds = 300)
    {
        using var job = new Job(Start(ranks, command, env));
        if (!job.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds))) Assert.Fail($"mpirun -np {ranks} did not end within {timeoutSeconds} s:\n{job.Text}");
        log.WriteLine($"$ mpirun -np {ranks} dotnet {string.Join(' ', command)}  -> {job.P.ExitCode}\n{job.Text}");
        return (job.P.ExitCode, job.Text);
    }

    private static string Dir(string name) => Path.Combine(Path.GetTempPath(), $"scratchnet-dist-{name}-{Guid.NewGuid():N}"[..48]);

    private static string[] Train(string outDir, int batch, params string[] extra) =>
        [Cli, "train", "seedcnn", "--device", "cpu", "--train-limit", "512", "--test-limit", "128", "--batch-size", batch.ToString(),
         "--no-augment", "--seed", "3", "--out", outDir, .. extra];

    private void AssertSameWeights(string expectedFile, string actualFile, float atol, float rtol)
    {
        var a = Safetensors.Load(expectedFile);
        var b = Safetensors.Load(actualFile);
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        double worst = 0;
        foreach (var (name, t) in a.Tensors)
        {
            float[] x = t.ToFloatArray(), y = b[name].ToFloatArray();
            for (int i = 0; i < x.Length; i++) worst = Math.Max(worst, Math.Abs(x[i] - y[i]));
            TestUtil.AssertClose(x, y, atol, rtol, name);
        }
        log.WriteLine($"largest weight difference: {worst:G3}");
    }

    [Fact]
    public void SeedCnn_TwoRanksOfBatch32_EqualOneProcessOfBatch64()
    {
        string single = Dir("single"), dist = Dir("dist");
        Assert.Equal(0, Mpi(1, Train(single, 64, "--max-steps", "6", "--epochs", "1")).Code);
        var (code, text) = Mpi(2, Train(dist, 32, "--max-steps", "6", "--epochs", "1", "--distributed"));
        Assert.Equal(0, code);
        Assert.Contains("distributed over 2 rank(s)", text);
        AssertSameWeights(Path.Combine(single, Checkpoint.ModelFile), Path.Combine(dist, Checkpoint.ModelFile), Atol, Rtol);
        Assert.Equal(2, Checkpoint.ReadState(dist).WorldSize);
        Assert.Equal(6 * 64, Checkpoint.ReadState(dist).Sample);
    }

    [Fact]
    public void IlgpuDevice_GradientsGoThroughHostMemory_AndSaySo()
    {
        string single = Dir("gsingle"), dist = Dir("gdist");
        string[] Args(string dir, int batch) => [Cli, "train", "seedcnn", "--device", "ilgpu-cpu", "--train-limit", "128", "--test-limit", "32",
            "--batch-size", batch.ToString(), "--no-augment", "--seed", "3", "--out", dir, "--max-steps", "2", "--epochs", "1"];
        Assert.Equal(0, Mpi(1, Args(single, 64)).Code);
        var (code, text) = Mpi(2, [.. Args(dist, 32), "--distributed"]);
        Assert.Equal(0, code);
        Assert.Contains("gradients on ilgpu-cpu are all-reduced by MPI through host memory (NCCL needs CUDA, not ilgpu-cpu)", text);
        AssertSameWeights(Path.Combine(single, Checkpoint.ModelFile), Path.Combine(dist, Checkpoint.ModelFile), Atol, Rtol);
    }

    [Fact]
    public void NarrowAlexNet_TwoRanksOfBatch32_EqualOneRankOfBatch64()
    {
        var (bcode, blog) = ExamplesTests.Dotnet(ExamplesTests.RepoRoot(), "build", "examples/DistributedTraining", "-c", "Release");
        Assert.True(bcode == 0, blog);
        string example = Path.Combine(ExamplesTests.RepoRoot(), "examples", "DistributedTraining", "bin", "Release", "net10.0", "DistributedTraining.dll");
        string one = Dir("alex1") + ".safetensors", two = Dir("alex2") + ".safetensors";
        string[] common = ["--model", "alexnet", "--width", "0.125", "--dropout", "0", "--steps", "4", "--train-limit", "512"];
        Assert.Equal(0, Mpi(1, [example, .. common, "--batch", "64", "--save", one]).Code);
        Assert.Equal(0, Mpi(2, [example, .. common, "--batch", "32", "--save", two]).Code);
        AssertSameWeights(one, two, Atol, Rtol);
    }

    [Fact]
    public void BatchNormStatistics_StayLocal_WhileWeightsStayInStep()
    {
        // Two ranks train a conv–BatchNorm CNN on different shards, each writing its own state dict: the parameters (averaged
        // gradients, the same start) are the same on both, the running statistics (each rank's own batches) are not.
        var (bcode, blog) = ExamplesTests.Dotnet(ExamplesTests.RepoRoot(), "build", "examples/DistributedTraining", "-c", "Release");
        Assert.True(bcode == 0, blog);
        string example = Path.Combine(ExamplesTests.RepoRoot(), "examples", "DistributedTraining", "bin", "Release", "net10.0", "DistributedTraining.dll");
        string stem = Dir("bn");
        Assert.Equal(0, Mpi(2, [example, "--model", "bncnn", "--steps", "3", "--batch", "16", "--train-limit", "256", "--save", stem + "-{rank}.safetensors"]).Code);
        var r0 = Safetensors.Load(stem + "-0.safetensors");
        var r1 = Safetensors.Load(stem + "-1.safetensors");
        Assert.Equal(r0.Tensors.Keys.Order(), r1.Tensors.Keys.Order());
        foreach (var name in new[] { "0.weight", "1.weight", "1.bias", "5.weight" })
            Assert.Equal(r0[name].ToFloatArray(), r1[name].ToFloatArray());
        foreach (var name in new[] { "1.running_mean", "1.running_var" })
        {
            float[] a = r0[name].ToFloatArray(), b = r1[name].ToFloatArray();
            Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) > 1e-4, $"{name} is the same on both ranks: BatchNorm statistics were synchronised");
        }
        foreach (var r in new[] { r0, r1 })
        {
            var n = r["1.num_batches_tracked"];
            Assert.Equal(3L, n.DType == "I64" ? BitConverter.ToInt64(n.Data) : BitConverter.ToInt32(n.Data));
        }
    }

    [Fact]
    public void Resume_WithTwoRanks_EqualsAnUninterruptedTwoRankRun()
    {
        string whole = Dir("whole"), split = Dir("split");
        Assert.Equal(0, Mpi(2, Train(whole, 32, "--epochs", "2", "--distributed")).Code);
        // Stopped mid-epoch 1 (step 3 of 8), then resumed to the end of epoch 2.
        Assert.Equal(0, Mpi(2, Train(split, 32, "--epochs", "2", "--max-steps", "3", "--distributed")).Code);
        Assert.Equal(3 * 64, Checkpoint.ReadState(split).Sample);
        var (code, text) = Mpi(2, [Cli, "train", "seedcnn", "--device", "cpu", "--out", split, "--resume", "--distributed"]);
        Assert.Equal(0, code);
        Assert.Contains("resumed from", text);
        AssertSameWeights(Path.Combine(whole, Checkpoint.ModelFile), Path.Combine(split, Checkpoint.ModelFile), 0f, 0f);
    }

    [Fact]
    public void Resume_OnAnotherNumberOfRanks_ReshardsAtTheSameImage()
    {
        string dir = Dir("reshard");
        Assert.Equal(0, Mpi(2, Train(dir, 32, "--epochs", "1", "--max-steps", "3", "--distributed")).Code);
        var (code, text) = Mpi(1, [Cli, "train", "seedcnn", "--device", "cpu", "--out", dir, "--resume", "--epochs", "1"]);
        Assert.Equal(0, code);
        Assert.Contains("saved by 2 rank(s) and continues on 1", text);
        var state = Checkpoint.ReadState(dir);
        Assert.Equal((1, 0, 1), (state.Epoch, state.Sample, state.WorldSize));
    }

    [Fact]
    public void KilledRank_EndsTheJob_NamingTheRank_AndKeepsTheCheckpoint()
    {
        string dir = Dir("kill");
        using var job = new Job(Start(2, Train(dir, 32, "--epochs", "100000", "--distributed")));
        WaitForCheckpoint(job, dir);
        Process.GetProcessById(RankPid(dir, 1)).Kill();
        var killed = Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job did not end within 60 s of a rank's death:\n" + job.Text);
        log.WriteLine($"ended {killed.Elapsed.TotalSeconds:F1} s after the kill, exit {job.P.ExitCode}:\n{job.Text}");
        Assert.NotEqual(0, job.P.ExitCode);
        Assert.Contains("rank 1", job.Text);
        Assert.True(Checkpoint.ReadState(dir).GlobalStep > 0);   // the last save is whole
    }

    [Fact]
    public void StoppedRank_EndsTheJob_AtTheCollectiveTimeout_NamingTheWaitingRank()
    {
        string dir = Dir("stop");
        using var job = new Job(Start(2, Train(dir, 32, "--epochs", "100000", "--distributed"), new Dictionary<string, string> { ["SCRATCHNET_DIST_TIMEOUT"] = "10" }));
        WaitForCheckpoint(job, dir);
        int victim = RankPid(dir, 1);
        try
        {
            using (var stop = Process.Start("kill", ["-STOP", victim.ToString()])) stop.WaitForExit();
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job did not end within 60 s of a rank stopping:\n" + job.Text);
            log.WriteLine(job.Text);
            Assert.NotEqual(0, job.P.ExitCode);
            Assert.Contains("error: rank 0 of 2:", job.Text);
            Assert.Contains("did not complete within 10 s", job.Text);
        }
        finally
        {
            try { Process.GetProcessById(victim).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }

    [Fact]
    public void FailingRank_EndsTheJob_NamingTheRank()
    {
        // MPMD launch: rank 1 alone is given a data folder that does not exist, so it fails after joining the group.
        string dir = Dir("fail");
        var psi = Start(1, [.. Train(dir, 32, "--epochs", "1", "--distributed"), ":", "-np", "1", "dotnet",
                            .. Train(dir, 32, "--epochs", "1", "--distributed", "--data", "mnist", "/nonexistent/mnist")]);
        using var job = new Job(psi);
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(120)), "the job did not end:\n" + job.Text);
        log.WriteLine(job.Text);
        Assert.NotEqual(0, job.P.ExitCode);
        Assert.Contains("error: rank 1 of 2:", job.Text);
        Assert.Contains("/nonexistent/mnist", job.Text);
        Assert.False(File.Exists(Path.Combine(dir, Checkpoint.StateFile)));
    }

    [Fact]
    public void MpirunWithoutDistributed_IsRefused()
    {
        var (code, text) = Mpi(2, Train(Dir("nodist"), 32, "--max-steps", "1"));
        Assert.NotEqual(0, code);
        Assert.Contains("started by mpirun as one of 2 processes without --distributed", text);
    }

    [Fact]
    public void DistributedWithoutMpirun_IsRefused()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli_(["train", "seedcnn", "--device", "cpu", "--distributed", "--out", Dir("nompi")], output, error);
        Assert.Equal(1, code);
        Assert.Contains("not started by mpirun", error.ToString());
        Assert.Contains("mpirun -np N", error.ToString());
    }

    private static void WaitForCheckpoint(Job job, string dir)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(dir, Checkpoint.StateFile)) && clock.Elapsed < TimeSpan.FromSeconds(120) && !job.P.HasExited) Thread.Sleep(100);
        Assert.True(File.Exists(Path.Combine(dir, Checkpoint.StateFile)), "no checkpoint was written:\n" + job.Text);
    }

    private static int Cli_(string[] args, TextWriter output, TextWriter error) => ScratchNet.Cli.CliApp.Run(args, output, error);

    // The pid of the rank process of the run writing to dir (its command line names dir; its environment, the rank).
    private static int RankPid(string dir, int rank)
    {
        foreach (var proc in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out int pid)) continue;
            try
            {
                string cmd = File.ReadAllText(Path.Combine(proc, "cmdline"));
                if (!cmd.Contains(dir) || !cmd.StartsWith("dotnet\0")) continue;
                if (File.ReadAllText(Path.Combine(proc, "environ")).Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        throw new InvalidOperationException($"no process of rank {rank} writing to {dir}");
    }
}

/// <summary>The distributed machinery without mpirun: the sampler's shards and the gradient-ready hook.</summary>
public class DistributedUnitTests
{
    [Fact]
    public void SeedDropoutPerRank_GivesEachRankItsOwnMasks_AndRankZeroTheModelsOwn()
    {
        // The same model built on three ranks from the same seed: Dropout and Dropout2d draw their seeds from the generator.
        ScratchNet.nn.Module Build() => new ScratchNet.nn.Sequential(new ScratchNet.nn.Dropout(0.5f, new Generator(7)), new ScratchNet.nn.Dropout2d(0.5f, new Generator(8)));
        var x = Tensor.Ones([4, 8, 3, 3]);
        float[] Masks(int rank)
        {
            var m = Build();
            ScratchNet.distributed.DistributedDataParallel.SeedDropoutPerRank(m, rank);
            return m.Forward(x).ToArray();
        }
        float[] unseeded = Build().Forward(x).ToArray(), r0 = Masks(0), r1 = Masks(1), r2 = Masks(2);
        Assert.Equal(unseeded, r0);
        Assert.NotEqual(r0, r1);
        Assert.NotEqual(r1, r2);
        Assert.NotEqual(r0, r2);
        Assert.Equal(r1, Masks(1));                                             // reproducible: a resumed rank derives the same stream
        // Each is still a dropout of rate about 0.5 (both layers: kept with probability 1/4, scaled by 4).
        foreach (var r in new[] { r1, r2 }) Assert.InRange(r.Count(v => v != 0) / (double)r.Length, 0.12, 0.38);
        var ex = Assert.Throws<ArgumentException>(() => { ScratchNet.distributed.DistributedDataParallel.SeedDropoutPerRank(Build(), -1); });
        Assert.Contains("rank", ex.Message);
    }

    [Theory]
    [InlineData(10, 2, 0)]
    [InlineData(10, 3, 0)]
    [InlineData(10, 3, 4)]
    [InlineData(7, 4, 5)]
    public void Sampler_ShardsAreDisjoint_AndCoverTheRestOfTheEpoch(int count, int ranks, int start)
    {
        var order = new Generator(1).Permutation(count);
        var unpadded = Enumerable.Range(0, ranks).SelectMany(r => new DistributedSampler(ranks, r, pad: false).Shard(order, start)).ToList();
        Assert.Equal(order.Skip(start).Order(), unpadded.Order());
        var padded = Enumerable.Range(0, ranks).Select(r => new DistributedSampler(ranks, r).Shard(order, start)).ToList();
        Assert.All(padded, s => Assert.Equal(padded[0].Length, s.Length));
        Assert.Equal((count - start + ranks - 1) / ranks, padded[0].Length);
        Assert.Superset(order.Skip(start).ToHashSet(), padded.SelectMany(s => s).ToHashSet());
        // Batch k of all ranks together is positions k·N·B … of the order: what one process with batch N·B takes.
        // (Past the end, padding wraps to the start of the order.)
        var first = Enumerable.Range(0, ranks).SelectMany(r => new DistributedSampler(ranks, r).Shard(order, start).Take(1)).ToArray();
        Assert.Equal(Enumerable.Range(start, ranks).Select(p => order[p % count]).Order(), first.Order());
    }

    [Fact]
    public void Sampler_RejectsBadRanks()
    {
        Assert.Contains("rank 2", Assert.Throws<ArgumentException>(() => new DistributedSampler(2, 2)).Message);
        Assert.Contains("numReplicas", Assert.Throws<ArgumentException>(() => new DistributedSampler(0, 0)).Message);
    }

    [Fact]
    public void PostAccumulateGradHook_SeesTheFinalGradient_BeforeBackwardEnds()
    {
        var w = Tensor.FromArray([2f, 3f]);
        w.RequiresGrad = true;
        float[]? seen = null;
        using (w.RegisterPostAccumulateGradHook(t => seen = t.Grad!.ToArray()))
        {
            var x = Tensor.FromArray([1f, 1f]);
            var loss = F.Sum(w * x + w * w);   // w used twice: the hook must see both contributions
            loss.Backward();
        }
        Assert.Equal(new[] { 5f, 7f }, seen);
        seen = null;
        F.Sum(w * w).Backward();
        Assert.Null(seen);   // removed
    }

    [Fact]
    public void EachLocalRank_TakesItsOwnGpu()
    {
        string? saved = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK");
        try
        {
            Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK", null);
            Assert.Equal(0, ScratchNet.Kernels.Backends.LocalGpu(4));
            Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK", "5");
            Assert.Equal(1, ScratchNet.Kernels.Backends.LocalGpu(4));
            Assert.Equal(0, ScratchNet.Kernels.Backends.LocalGpu(1));   // CUDA_VISIBLE_DEVICES already narrowed it to one
        }
        finally { Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK", saved); }
    }

    [Fact]
    public void Collectives_WithoutInit_SayHowToStart()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ScratchNet.distributed.Distributed.AllReduce(Tensor.Zeros([2])));
        Assert.Contains("InitProcessGroup", e.Message);
    }
}
