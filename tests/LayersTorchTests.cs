using System.Diagnostics;
using System.Text.Json;
using ScratchNet.io;
using ScratchNet.nn;

namespace ScratchNet.Tests;

// The layers and losses of issue 14 against PyTorch's own values, through Debian's python3 with torch (scripts/test.sh installs
// python3-torch), in one python run:
//   ops       every new op's forward and the gradients of Σ r ⊙ y (avg_pool2d with padding, ceil_mode and both divisors,
//             adaptive_avg_pool2d, max_pool2d in ceil mode, leaky_relu, gelu, mse_loss, nll_loss, binary_cross_entropy_with_logits,
//             batch_norm) on the cpu device and on ilgpu-cpu;
//   bn        BatchNorm2d (momentum 0.1) and BatchNorm1d (momentum None) trained for three steps: outputs, input and parameter
//             gradients, running_mean, running_var, num_batches_tracked, then the evaluation output;
//   state     a state dict both ways: ours saved with Safetensors.Save, loaded by torch's load_state_dict(strict=True) (its
//             int64 num_batches_tracked from our I32) with the same evaluation output; torch's, trained a few steps and saved as
//             safetensors (I64 counters), loaded with Safetensors.LoadInto, with the same evaluation output.
public class LayersTorchTests
{
    const string Script = """
        import json, math, struct, sys, torch
        import torch.nn as nn
        import torch.nn.functional as F
        torch.set_num_threads(1)
        DT = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64}
        NAMES = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64"}

        def read_st(path):
            with open(path, "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
                header = json.loads(f.read(n))
                data = f.read()
            out = {}
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                s, e = info["data_offsets"]
                out[name] = torch.frombuffer(bytearray(data[s:e]), dtype=DT[info["dtype"]]).reshape(info["shape"]).clone()
            return out

        def write_st(path, tensors):
            header, blobs, off = {}, [], 0
            for name, t in tensors.items():
                b = t.detach().contiguous().numpy().tobytes()
                header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
                blobs.append(b)
                off += len(b)
            h = json.dumps(header).encode()
            h += b" " * ((8 - len(h) % 8) % 8)
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

        def fin(v):
            v = float(v)
            return v if math.isfinite(v) else str(v)

        def flat(t):
            return [fin(v) for v in t.detach().reshape(-1).tolist()]

        req = json.load(open(sys.argv[1]))
        out = {"ops": {}, "bn": {}}
        for c in req["ops"]:
            env = {"torch": torch, "F": F}
            ts = []
            for name, inp in zip("abcd", c["inputs"]):
                t = torch.tensor(inp["data"], dtype=torch.long if inp["long"] else torch.float32).reshape(inp["shape"])
                if inp["grad"]:
                    t.requires_grad_(True)
                env[name] = t
                ts.append(t)
            y = eval(c["expr"], env)
            res = {"shape": list(y.shape), "y": flat(y), "grads": []}
            if any(t.requires_grad for t in ts):
                r = torch.tensor(c["r"], dtype=torch.float32).reshape(y.shape)
                (y * r).sum().backward()
                res["grads"] = [flat(t.grad) if t.requires_grad else None for t in ts]
            out["ops"][c["name"]] = res

        for c in req["bn"]:
            ch = c["channels"]
            m = (nn.BatchNorm2d if c["kind"] == "2d" else nn.BatchNorm1d)(ch, momentum=c["momentum"])
            with torch.no_grad():
                m.weight.copy_(torch.tensor(c["weight"]))
                m.bias.copy_(torch.tensor(c["bias"]))
            m.train()
            for x, r in zip(c["batches"], c["r"]):
                xt = torch.tensor(x).reshape(c["shape"]).requires_grad_(True)
                y = m(xt)
                (y * torch.tensor(r).reshape(c["shape"])).sum().backward()
            res = {"y": flat(y), "dx": flat(xt.grad), "dw": flat(m.weight.grad), "db": flat(m.bias.grad),
                   "running_mean": flat(m.running_mean), "running_var": flat(m.running_var),
                   "num_batches_tracked": int(m.num_batches_tracked), "count_dtype": str(m.num_batches_tracked.dtype)}
            m.eval()
            with torch.no_grad():
                res["eval"] = flat(m(torch.tensor(c["eval"]).reshape(c["shape"])))
            out["bn"][c["name"]] = res

        def net():
            return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                                 nn.Linear(64, 6), nn.BatchNorm1d(6), nn.Linear(6, 3))

        st = req["state"]
        ours = read_st(st["ours"])
        model = net()
        model.load_state_dict(ours, strict=True)
        model.eval()
        check = read_st(st["input"])
        with torch.no_grad():
            out["state_ours_eval"] = flat(model(check["input"]))
        out["state_ours_counters"] = [int(model[1].num_batches_tracked), int(model[6].num_batches_tracked), str(model[1].num_batches_tracked.dtype)]

        torch.manual_seed(0)
        theirs = net()
        opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
        theirs.train()
        for _ in range(3):
            opt.zero_grad()
            theirs(torch.randn(8, 1, 8, 8) * 2 + 0.5).pow(2).mean().backward()
            opt.step()
        theirs.eval()
        xin = torch.randn(3, 1, 8, 8)
        with torch.no_grad():
            yout = theirs(xin)
        write_st(st["theirs"], theirs.state_dict())
        write_st(st["theirs_check"], {"input": xin, "output": yout})
        json.dump(out, open(sys.argv[2], "w"))
        """;

    sealed record Input(int[] Shape, float[] Data, bool Grad = true, bool Long = false);

    sealed record TorchCase(string Name, string Torch, Input[] Inputs, Func<Tensor[], Tensor> Ours);

    static Input In(Generator g, int[] shape, float lo = -1f, float hi = 1f, bool grad = true) =>
        new(shape, TestUtil.RandomArray(g, Tensor.NumelOf(shape), lo, hi), grad);

    /// <summary>Distinct values (a shuffled ramp): no ties in a max pool.</summary>
    static Input Distinct(Generator g, int[] shape)
    {
        var perm = g.Permutation(Tensor.NumelOf(shape));
        return new(shape, perm.Select(v => v * 0.01f - 1f).ToArray());
    }

    static TorchCase[] Cases()
    {
        var g = new Generator(61);
        var gelu = new Input([40], [.. TestUtil.RandomArray(g, 32, -6f, 6f), -30f, -8f, -1e-3f, 0f, 1e-3f, 8f, 30f, 3f]);
        int[] labels = [0, 3, -100, 1, 2, 3];
        var logp = F.LogSoftmax(Tensor.FromArray(TestUtil.RandomArray(g, 24, -3f, 3f), [6, 4]), 1).ToArray();
        var logits = In(g, [5, 4], -4f, 4f);
        var targets = In(g, [5, 4], 0f, 1f);
        var pw = In(g, [4], 0.5f, 3f);   // torch 1.13 has no gradient for pos_weight (ours: LayersTests, by finite differences)
        var bnx = In(g, [4, 3, 5, 5], -2f, 3f);
        var (bnw, bnb) = (In(g, [3], 0.5f, 1.5f), In(g, [3]));
        var (rm, rv) = (In(g, [3], grad: false), In(g, [3], 0.5f, 2f, grad: false));
        return
        [
            new("avg_pool2d k3 s2 p1 ceil", "F.avg_pool2d(a, 3, 2, 1, ceil_mode=True)", [In(g, [2, 3, 7, 9])], t => F.AvgPool2d(t[0], 3, 2, 1, ceilMode: true)),
            new("avg_pool2d k3 s2 p1 ceil exclude", "F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False)", [In(g, [2, 3, 7, 9])],
                t => F.AvgPool2d(t[0], 3, 2, 1, ceilMode: true, countIncludePad: false)),
            new("avg_pool2d k2 ceil 5x5", "F.avg_pool2d(a, 2, ceil_mode=True)", [In(g, [1, 2, 5, 5])], t => F.AvgPool2d(t[0], 2, ceilMode: true)),
            new("avg_pool2d rect", "F.avg_pool2d(a, (2, 3), (1, 2), (1, 1))", [In(g, [1, 2, 6, 9])], t => F.AvgPool2d(t[0], 2, 3, 1, 2, 1, 1)),
            new("avg_pool2d k3 s1 p1 wide", "F.avg_pool2d(a, 3, 1, 1, count_include_pad=False)", [In(g, [1, 2, 4, 37])], t => F.AvgPool2d(t[0], 3, 1, 1, countIncludePad: false)),
            new("adaptive 7x5 to 3x2", "F.adaptive_avg_pool2d(a, (3, 2))", [In(g, [2, 3, 7, 5])], t => F.AdaptiveAvgPool2d(t[0], 3, 2)),
            new("adaptive 3x2 to 6x5", "F.adaptive_avg_pool2d(a, (6, 5))", [In(g, [1, 2, 3, 2])], t => F.AdaptiveAvgPool2d(t[0], 6, 5)),
            new("adaptive 13 to 6", "F.adaptive_avg_pool2d(a, 6)", [In(g, [1, 2, 13, 13])], t => F.AdaptiveAvgPool2d(t[0], 6, 6)),
            new("max_pool2d k3 s2 p1 ceil", "F.max_pool2d(a, 3, 2, 1, ceil_mode=True)", [Distinct(g, [2, 2, 8, 7])], t => F.MaxPool2d(t[0], 3, 2, 1, ceilMode: true)),
            new("max_pool2d k2 ceil 5x5", "F.max_pool2d(a, 2, ceil_mode=True)", [Distinct(g, [1, 2, 5, 5])], t => F.MaxPool2d(t[0], 2, 2, 0, ceilMode: true)),
            new("leaky_relu", "F.leaky_relu(a)", [In(g, [5, 7], -3f, 3f)], t => F.LeakyRelu(t[0])),
            new("leaky_relu 0.2", "F.leaky_relu(a, 0.2)", [In(g, [5, 7], -3f, 3f)], t => F.LeakyRelu(t[0], 0.2f)),
            new("gelu", "F.gelu(a)", [gelu], t => F.Gelu(t[0])),
            new("gelu tanh", "F.gelu(a, approximate='tanh')", [gelu], t => F.Gelu(t[0], "tanh")),
            new("mse_loss mean", "F.mse_loss(a, b)", [In(g, [4, 5]), In(g, [4, 5])], t => F.MseLoss(t[0], t[1])),
            new("mse_loss sum", "F.mse_loss(a, b, reduction='sum')", [In(g, [4, 5]), In(g, [4, 5])], t => F.MseLoss(t[0], t[1], "sum")),
            new("mse_loss none", "F.mse_loss(a, b, reduction='none')", [In(g, [3, 2, 2]), In(g, [3, 2, 2])], t => F.MseLoss(t[0], t[1], "none")),
            new("nll_loss mean ignore", "F.nll_loss(a, b)", [new([6, 4], logp), new([6], [.. labels.Select(v => (float)v)], false, true)],
                t => F.NllLoss(t[0], t[1])),
            new("nll_loss sum", "F.nll_loss(a, b, reduction='sum')", [new([6, 4], logp), new([6], [.. labels.Select(v => (float)v)], false, true)],
                t => F.NllLoss(t[0], t[1], reduction: "sum")),
            new("nll_loss none ignore 3", "F.nll_loss(a, b, ignore_index=3, reduction='none')", [new([6, 4], logp), new([6], [0, 3, 2, 1, 2, 3], false, true)],
                t => F.NllLoss(t[0], t[1], 3, "none")),
            new("bce_with_logits", "F.binary_cross_entropy_with_logits(a, b)", [logits, targets], t => F.BinaryCrossEntropyWithLogits(t[0], t[1])),
            new("bce_with_logits pos_weight sum", "F.binary_cross_entropy_with_logits(a, b, pos_weight=c, reduction='sum')", [logits, targets, pw with { Grad = false }],
                t => F.BinaryCrossEntropyWithLogits(t[0], t[1], t[2], "sum")),
            new("bce_with_logits pos_weight none", "F.binary_cross_entropy_with_logits(a, b, pos_weight=c, reduction='none')", [logits, targets, pw with { Grad = false }],
                t => F.BinaryCrossEntropyWithLogits(t[0], t[1], t[2], "none")),
            new("bce_with_logits extremes", "F.binary_cross_entropy_with_logits(a, b, reduction='none')",
                [new([6], [-200f, 200f, -200f, 200f, 0f, 30f]), new([6], [0f, 1f, 1f, 0f, 0.3f, 0.5f], false)],
                t => F.BinaryCrossEntropyWithLogits(t[0], t[1], reduction: "none")),
            new("batch_norm train", "F.batch_norm(a, None, None, b, c, training=True)", [bnx, bnw, bnb], t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true)),
            new("batch_norm eval", "F.batch_norm(a, c, d, b, None, training=False, eps=1e-3)", [bnx, bnw, rm, rv],
                t => F.BatchNorm(t[0], t[2], t[3], t[1], null, training: false, eps: 1e-3f)),
            new("batch_norm 1d train", "F.batch_norm(a, None, None, b, c, training=True)", [In(g, [7, 3], -2f, 3f), bnw, bnb],
                t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true)),
        ];
    }

    static Sequential Net(Generator? gen = null) => new(
        new Conv2d(1, 4, 3, padding: 1, generator: gen), new BatchNorm2d(4), new ReLU(), new AvgPool2d(2), new Flatten(),
        new Linear(64, 6, generator: gen), new BatchNorm1d(6), new Linear(6, 3, generator: gen));

    static string Python()
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var probe = Process.Start(new ProcessStartInfo(python, "-c \"import torch\"") { RedirectStandardError = true })!;
        probe.WaitForExit();
        Assert.True(probe.ExitCode == 0, $"{python} cannot import torch: install Debian's python3-torch (scripts/test.sh does) to run this check");
        return python;
    }

    static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => v.ValueKind != JsonValueKind.String ? v.GetSingle()
        : v.GetString() switch { "inf" => float.PositiveInfinity, "-inf" => float.NegativeInfinity, _ => float.NaN }).ToArray();

    [Fact]
    public void LayersAndLosses_MatchPyTorch_OpsBatchNormTrainingAndStateDicts()
    {
        string python = Python();
        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-tests", "torch-layers-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            // ---- ours: the ops on each device
            var cases = Cases();
            var devices = TestUtil.Devices().Select(d => Device.Get((string)d[0])).ToArray();
            var r = new float[cases.Length][];
            var results = new (Tensor Y, Tensor[] X)[devices.Length][];
            for (int k = 0; k < devices.Length; k++)
            {
                results[k] = new (Tensor, Tensor[])[cases.Length];
                for (int i = 0; i < cases.Length; i++)
                {
                    var c = cases[i];
                    var ts = c.Inputs.Select(inp => inp.Long
                        ? Tensor.Labels([.. inp.Data.Select(v => (int)v)], devices[k])
                        : Tensor.FromArray(inp.Data, inp.Shape, devices[k])).ToArray();
                    for (int j = 0; j < ts.Length; j++) if (c.Inputs[j].Grad) ts[j].RequiresGrad = true;
                    var y = c.Ours(ts);
                    r[i] ??= TestUtil.RandomArray(new Generator(70 + (ulong)i), y.Numel);
                    y.Backward(Tensor.FromArray(r[i], y.Shape, devices[k]));
                    results[k][i] = (y, ts);
                }
            }

            // ---- ours: BatchNorm modules trained three steps
            var g = new Generator(62);
            var bnCases = new[] { ("bn2d", "2d", 3, new[] { 4, 3, 5, 5 }, (float?)0.1f), ("bn1d", "1d", 5, new[] { 6, 5 }, null) };
            var bnRequests = new List<object>();
            var bnOurs = new Dictionary<string, (float[] Y, float[] Dx, float[] Dw, float[] Db, float[] Rm, float[] Rv, int Count, float[] Eval)>();
            foreach (var (name, kind, ch, shape, momentum) in bnCases)
            {
                int numel = Tensor.NumelOf(shape);
                var (w, b) = (TestUtil.RandomArray(g, ch, 0.5f, 1.5f), TestUtil.RandomArray(g, ch));
                var batches = Enumerable.Range(0, 3).Select(_ => TestUtil.RandomArray(g, numel).Select(v => v * 3f + 1f).ToArray()).ToArray();
                var rs = Enumerable.Range(0, 3).Select(_ => TestUtil.RandomArray(g, numel)).ToArray();
                var xe = TestUtil.RandomArray(g, numel, -2f, 4f);
                bnRequests.Add(new { name, kind, channels = ch, shape, momentum, weight = w, bias = b, batches, r = rs, eval = xe });
                BatchNorm bn = kind == "2d" ? new BatchNorm2d(ch, momentum: momentum) : new BatchNorm1d(ch, momentum: momentum);
                bn.Weight!.CopyFrom(w); bn.Bias!.CopyFrom(b);
                Tensor y = null!, x = null!;
                for (int s = 0; s < 3; s++)
                {
                    x = Tensor.FromArray(batches[s], shape); x.RequiresGrad = true;
                    y = bn.Forward(x);
                    y.Backward(Tensor.FromArray(rs[s], shape));
                }
                bn.Eval();
                bnOurs[name] = (y.ToArray(), x.Grad!.ToArray(), bn.Weight.Grad!.ToArray(), bn.Bias.Grad!.ToArray(), bn.RunningMean!.ToArray(),
                                bn.RunningVar!.ToArray(), bn.NumBatchesTracked!.ToIntArray()[0], bn.Forward(Tensor.FromArray(xe, shape)).ToArray());
            }

            // ---- ours: a small network trained a few steps (its running statistics move), saved with its state dict
            var net = Net(new Generator(63));
            var opt = new optim.SGD(net.Parameters(), 0.1f, momentum: 0.9f);
            for (int s = 0; s < 3; s++)
            {
                opt.ZeroGrad();
                F.Mean(F.Mul(net.Forward(Tensor.Uniform([8, 1, 8, 8], -1f, 2f, g)), net.Forward(Tensor.Uniform([8, 1, 8, 8], -1f, 2f, g)))).Backward();
                opt.Step();
            }
            net.Eval();
            var checkInput = Tensor.Uniform([3, 1, 8, 8], -1f, 1f, g);
            var oursEval = net.Forward(checkInput).ToArray();
            string oursPath = Path.Combine(dir, "ours.safetensors"), inputPath = Path.Combine(dir, "input.safetensors");
            Safetensors.Save(oursPath, net.StateDict());
            Safetensors.Save(inputPath, [("input", checkInput)]);

            string request = Path.Combine(dir, "request.json"), answer = Path.Combine(dir, "torch.json"), script = Path.Combine(dir, "layers.py");
            string theirsPath = Path.Combine(dir, "theirs.safetensors"), theirsCheck = Path.Combine(dir, "theirs_check.safetensors");
            File.WriteAllText(request, JsonSerializer.Serialize(new
            {
                ops = cases.Select((c, i) => new
                {
                    name = c.Name, expr = c.Torch, r = r[i],
                    inputs = c.Inputs.Select(inp => new { shape = inp.Shape, data = inp.Long ? (object)inp.Data.Select(v => (long)v).ToArray() : inp.Data, grad = inp.Grad, @long = inp.Long }),
                }),
                bn = bnRequests,
                state = new { ours = oursPath, input = inputPath, theirs = theirsPath, theirs_check = theirsCheck },
            }));
            File.WriteAllText(script, Script);
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, ArgumentList = { script, request, answer } };
            psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
            var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stdout + stderr);
            using var doc = JsonDocument.Parse(File.ReadAllText(answer));
            var root = doc.RootElement;

            // ---- the ops
            for (int i = 0; i < cases.Length; i++)
            {
                var c = cases[i];
                var t = root.GetProperty("ops").GetProperty(c.Name);
                var shape = t.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
                var y = Floats(t.GetProperty("y"));
                var grads = t.GetProperty("grads").EnumerateArray().ToArray();
                for (int k = 0; k < devices.Length; k++)
                {
                    var (oy, ox) = results[k][i];
                    string what = $"{devices[k].Name} {c.Name}";
                    // A reduced loss is [1] here, a 0-d tensor in torch.
                    Assert.True(shape.SequenceEqual(oy.Shape) || (shape.Length == 0 && oy.Shape.SequenceEqual([1])), $"{what}: shape {oy.ShapeString}, torch [{string.Join(", ", shape)}]");
                    TestUtil.AssertClose(y, oy.ToArray(), 1e-5f, 1e-5f, $"{what} forward");
                    for (int j = 0; j < grads.Length; j++)
                        if (grads[j].ValueKind == JsonValueKind.Array)
                            TestUtil.AssertClose(Floats(grads[j]), ox[j].Grad!.ToArray(), 1e-5f, 1e-4f, $"{what} gradient of input {j}");
                }
            }

            // ---- BatchNorm training steps and evaluation
            foreach (var (name, _, _, _, _) in bnCases)
            {
                var t = root.GetProperty("bn").GetProperty(name);
                var o = bnOurs[name];
                TestUtil.AssertClose(Floats(t.GetProperty("y")), o.Y, 1e-5f, 1e-5f, $"{name} y (third step)");
                TestUtil.AssertClose(Floats(t.GetProperty("dx")), o.Dx, 1e-5f, 1e-4f, $"{name} dx (third step)");
                TestUtil.AssertClose(Floats(t.GetProperty("dw")), o.Dw, 1e-4f, 1e-4f, $"{name} weight.grad (three steps)");
                TestUtil.AssertClose(Floats(t.GetProperty("db")), o.Db, 1e-4f, 1e-4f, $"{name} bias.grad (three steps)");
                TestUtil.AssertClose(Floats(t.GetProperty("running_mean")), o.Rm, 1e-6f, 1e-5f, $"{name} running_mean");
                TestUtil.AssertClose(Floats(t.GetProperty("running_var")), o.Rv, 1e-6f, 1e-5f, $"{name} running_var");
                Assert.Equal(t.GetProperty("num_batches_tracked").GetInt32(), o.Count);
                Assert.Equal(3, o.Count);
                Assert.Equal("torch.int64", t.GetProperty("count_dtype").GetString());
                TestUtil.AssertClose(Floats(t.GetProperty("eval")), o.Eval, 1e-5f, 1e-5f, $"{name} eval output");
            }

            // ---- our state dict in torch: load_state_dict(strict=True) accepted it, same evaluation output, int64 counters of 3
            TestUtil.AssertClose(Floats(root.GetProperty("state_ours_eval")), oursEval, 1e-5f, 1e-4f, "our weights in torch: eval output");
            var counters = root.GetProperty("state_ours_counters").EnumerateArray().ToArray();
            Assert.Equal(6, counters[0].GetInt32());   // two forwards per step, three steps
            Assert.Equal(6, counters[1].GetInt32());
            Assert.Equal("torch.int64", counters[2].GetString());

            // ---- torch's state dict here: I64 counters loaded into our Int32 buffers, same evaluation output
            var file = Safetensors.Load(theirsPath);
            Assert.Equal("I64", file["1.num_batches_tracked"].DType);
            var mine = Net();
            Safetensors.LoadInto(theirsPath, mine.StateDict());
            mine.Eval();
            var theirs = Safetensors.Load(theirsCheck);
            var x2 = theirs["input"].ToTensor();
            TestUtil.AssertClose(theirs["output"].ToFloatArray(), mine.Forward(x2).ToArray(), 1e-5f, 1e-4f, "torch's weights here: eval output");
            Assert.Equal([3], ((BatchNorm)mine[1]).NumBatchesTracked!.ToIntArray());
            Assert.NotEqual(new float[4], ((BatchNorm)mine[1]).RunningMean!.ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
