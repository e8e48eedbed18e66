using System.Text.Json;
using ScratchNet.Cli;
using ScratchNet.Cli.Report;
using ScratchNet.Models.Training;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// The trainer, its checkpoints and resume, Grad-CAM, and the end-to-end `scratchnet train`.
public class TrainingTests
{
    private static string TempDir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "scratchnet-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Train_EndToEnd_WritesEveryFile_AndLearns()
    {
        // The seed CNN on the first 3,000 Fashion-MNIST images for 3 epochs (no augmentation): well above chance (10 %).
        string dir = TempDir("e2e");
        var (code, output, err) = Cli("train", "seedcnn", "--epochs", "3", "--train-limit", "3000", "--test-limit", "1000",
                                      "--no-augment", "--device", "cpu", "--out", dir);
        Assert.True(code == 0, err + output);
        foreach (var f in RunReport.Files)
            Assert.True(File.Exists(Path.Combine(dir, f)) && new FileInfo(Path.Combine(dir, f)).Length > 0, $"missing {f}");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        var last = json.RootElement.EnumerateArray().Last();
        Assert.Equal(3, json.RootElement.GetArrayLength());
        Assert.True(last.GetProperty("val_acc").GetDouble() > 0.70, $"val accuracy {last.GetProperty("val_acc")}");
        Assert.True(last.GetProperty("train_loss").GetDouble() < json.RootElement[0].GetProperty("train_loss").GetDouble());
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        foreach (var img in new[] { "loss.png", "accuracy.png", "predictions.png", "gradcam.png", "filters.png" }) Assert.Contains(img, html);
        Assert.Contains("test accuracy", output);

        // eval and predict read the checkpoint back and agree with the training run's last validation accuracy.
        var (ecode, eout, eerr) = Cli("eval", dir, "--device", "cpu");
        Assert.True(ecode == 0, eerr);
        Assert.Contains("accuracy", eout);
    }

    [Fact]
    public void Train_AlexNet_ShortRun_OnEmbeddedData()
    {
        // The main job's path (AlexNet, padded 3×32×32 input, augmentation, dropout) for a few steps.
        string dir = TempDir("alex");
        var (code, output, err) = Cli("train", "--max-steps", "6", "--batch-size", "16", "--train-limit", "96", "--test-limit", "64",
                                      "--device", "cpu", "--out", dir);
        Assert.True(code == 0, err + output);
        foreach (var f in RunReport.Files) Assert.True(File.Exists(Path.Combine(dir, f)), $"missing {f}");
        Assert.Contains("full recipe", output);
        Assert.Contains("features.0.weight", string.Join(",", io.Safetensors.Load(Path.Combine(dir, Checkpoint.ModelFile)).Tensors.Keys));
    }

    private static TrainOptions Small(string dir, int epochs, int? maxSteps = null) => new()
    {
        Model = "seedcnn", Epochs = epochs, MaxSteps = maxSteps, BatchSize = 32, TrainLimit = 320, TestLimit = 64,
        Device = "cpu", Seed = 7, OutDir = dir,
    };

    private static float[] AllParameters(Module m) => m.Parameters().SelectMany(p => p.ToArray()).ToArray();

    [Fact]
    public void Resume_FromEpochBoundary_AndMidEpoch_MatchesUninterruptedRun()
    {
        var straight = new Trainer().Run(Small(TempDir("straight"), 2));

        string d1 = TempDir("resume-epoch");
        new Trainer().Run(Small(d1, 1));
        var resumed = new Trainer().Run(Small(d1, 2) with { Resume = true });
        Assert.Equal(AllParameters(straight.Model), AllParameters(resumed.Model));
        Assert.Equal(straight.History[^1].TrainLoss, resumed.History[^1].TrainLoss, 12);
        Assert.Equal(straight.History[^1].ValAccuracy, resumed.History[^1].ValAccuracy, 12);

        string d2 = TempDir("resume-mid");
        var partial = new Trainer().Run(Small(d2, 2, maxSteps: 13));   // stops inside epoch 2 (10 steps per epoch)
        Assert.True(partial.StoppedByBudget);
        var rest = new Trainer().Run(Small(d2, 2) with { Resume = true });
        Assert.Equal(AllParameters(straight.Model), AllParameters(rest.Model));
        Assert.Equal(straight.Steps, rest.Steps);
    }

    [Fact]
    public void Resume_RefusesMismatchedOrMissingCheckpoint()
    {
        string dir = TempDir("mismatch");
        var e = Assert.Throws<FileNotFoundException>(() => new Trainer().Run(Small(dir, 1) with { Resume = true }));
        Assert.Contains(dir, e.Message);
        new Trainer().Run(Small(dir, 1));
        var e3 = Assert.Throws<ArgumentException>(() => new Trainer().Run(Small(dir, 2) with { Model = "alexnet", Resume = true }));
        Assert.Contains("seedcnn", e3.Message);
        // A model file from another step (an interrupted save): train_state alone restores the run, and the model
        // file is rewritten from it.
        string other = TempDir("other");
        var straight = new Trainer().Run(Small(other, 2));
        File.Copy(Path.Combine(other, Checkpoint.ModelFile), Path.Combine(dir, Checkpoint.ModelFile), overwrite: true);
        var messages = new List<string>();
        var t = new Trainer();
        t.OnMessage += messages.Add;
        var resumed = t.Run(Small(dir, 2) with { Resume = true });
        Assert.Contains(messages, m => m.Contains("from step 20") && m.Contains("rewritten"));
        Assert.Equal(AllParameters(straight.Model), AllParameters(resumed.Model));
    }

    // The same weights and images on the GPU kernels (ILGPU's CPU simulator) give the same heatmaps as on cpu.
    // The default layer is the ReLU after the last conv (maps ≥ 0).
    [Fact]
    public void GradCam_SameOnGpuKernelsAsOnCpu()
    {
        var x = Tensor.Uniform([2, 1, 28, 28], -1, 1, new Generator(5));
        GradCamResult[] On(string device)
        {
            var dev = Device.Get(device);
            var model = new Models.SeedCnn(10, new Generator(3), dev);
            return GradCam.Compute(model, x.To(dev));
        }
        var cpu = On("cpu");
        var gpu = On("ilgpu-cpu");
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.Equal(cpu[i].TargetClass, gpu[i].TargetClass);
            TestUtil.AssertClose(cpu[i].Heatmap, gpu[i].Heatmap, 1e-3f, 1e-3f, $"gradcam image {i}");
        }
        Assert.Equal("4", GradCam.DefaultLayer(new Models.SeedCnn(10, new Generator(3), Device.Cpu)));
    }

    [Fact]
    public void GradCam_WeightsMatchFiniteDifferences()
    {
        // α_k = mean_ij ∂y_c/∂A_k[i,j]: check ∂y_c/∂A at sampled coordinates by re-running the layers after A.
        var gen = new Generator(3);
        var model = new Models.SeedCnn(10, gen, Device.Cpu);
        model.Eval();
        var x = Tensor.Uniform([1, 1, 28, 28], -1, 1, gen);
        var leaves = GradCam.Leaves(model);
        string layer = GradCam.DefaultLayer(model);
        int at = leaves.FindIndex(l => l.Path == layer);
        Tensor Run(Tensor t, int from, int to) { for (int i = from; i <= to; i++) t = leaves[i].Module.Forward(t); return t; }

        var cam = GradCam.Compute(model, x, layer, [4])[0];
        Assert.Equal(28 * 28, cam.Heatmap.Length);
        Assert.All(cam.Heatmap, v => Assert.InRange(v, 0f, 1f));

        float[] a;
        using (Tensor.NoGrad()) a = Run(x, 0, at).ToArray();
        var shape = Run(x, 0, at).Shape;
        double Logit(double[] av)
        {
            using var _ = Tensor.NoGrad();
            return Run(Tensor.FromArray(av.Select(v => (float)v).ToArray(), shape), at + 1, leaves.Count - 1).ToArray()[4];
        }
        // autograd gradient of logit 4 w.r.t. A
        var aT = Tensor.FromArray(a, shape); aT.RequiresGrad = true;
        var logits = Run(aT, at + 1, leaves.Count - 1);
        var seed = new float[10]; seed[4] = 1;
        logits.Backward(Tensor.FromArray(seed, [1, 10]));
        var g = aT.Grad!.ToArray();
        // Compare away from the kinks: coordinates whose activation is within 0.05 of ReLU's 0 could cross it.
        var idx = Enumerable.Range(0, a.Length).Where(i => Math.Abs(a[i]) > 0.05f).Take(200).ToArray();
        var ad = TestUtil.ToDouble(a);
        var num = idx.Select(i =>
        {
            double h = 1e-4, orig = ad[i];
            ad[i] = orig + h; double fp = Logit(ad);
            ad[i] = orig - h; double fm = Logit(ad);
            ad[i] = orig;
            return (fp - fm) / (2 * h);
        }).ToArray();
        Assert.True(idx.Length > 50);
        TestUtil.AssertClose(num, idx.Select(i => g[i]).ToArray(), 2e-3f, 2e-2f, "∂logit/∂A (h = 1e-4 keeps max-pool windows from switching)");
        Assert.Contains(g, v => v != 0f);
    }

    [Fact]
    public void Options_AreValidated_WithClearMessages()
    {
        Assert.Contains("--batch-size", Assert.Throws<ArgumentException>(() => new TrainOptions { BatchSize = 0 }.Validate()).Message);
        Assert.Contains("--lr", Assert.Throws<ArgumentException>(() => new TrainOptions { LearningRate = -1 }.Validate()).Message);
        Assert.Contains("cifar10", Assert.Throws<ArgumentException>(() => new TrainOptions { Data = "cifar10" }.Validate()).Message);
        var (code, _, err) = Cli("train", "--data", "cifar10", "/nonexistent/path", "--device", "cpu", "--out", TempDir("bad"));
        Assert.NotEqual(0, code);
        Assert.Contains("/nonexistent/path", err);
    }
}
