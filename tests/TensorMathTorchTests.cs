using System.Diagnostics;
using System.Text.Json;

namespace ScratchNet.Tests;

// The tensor math against PyTorch's own values: every case of MathCases (forward and the gradients of Σ r ⊙ y), and a set at the
// ties and kinks (integer-valued inputs: equal values, zeros, clamp bounds), is written to a JSON file with its inputs and its
// torch expression; Debian's python3 with torch (scripts/test.sh installs python3-torch) evaluates each and writes back y and
// the inputs' gradients, which must match ours on the cpu device and on ilgpu-cpu.
public class TensorMathTorchTests
{
    const string Script = """
        import json, math, sys, torch
        torch.set_num_threads(1)
        def fin(v):
            v = float(v)
            return v if math.isfinite(v) else str(v)
        cases = json.load(open(sys.argv[1]))
        out = {}
        for c in cases:
            env = {'torch': torch}
            ts = []
            for name, inp in zip('abcd', c['inputs']):
                t = torch.tensor(inp['data'], dtype=torch.float32).reshape(inp['shape'])
                if inp['grad']:
                    t.requires_grad_(True)
                env[name] = t
                ts.append(t)
            y = eval(c['expr'], env)
            res = {'shape': list(y.shape), 'y': [fin(v) for v in y.detach().reshape(-1).tolist()], 'grads': []}
            if y.dtype.is_floating_point and any(t.requires_grad for t in ts):
                r = torch.tensor(c['r'], dtype=torch.float32).reshape(y.shape)
                (y * r).sum().backward()
                res['grads'] = [[fin(v) for v in t.grad.reshape(-1).tolist()] if t.requires_grad else None for t in ts]
            out[c['name']] = res
        json.dump(out, open(sys.argv[2], 'w'))
        """;

    /// <summary>Inputs of small integers (−2 … 2): ties in max/min and the comparisons, zeros for abs and pow, clamp's bounds.</summary>
    static float[] Ints(Generator g, int input, int n) => Enumerable.Range(0, n).Select(_ => (float)(g.NextInt(5) - 2)).ToArray();
    static float[] SmallInts(Generator g, int input, int n) => Enumerable.Range(0, n).Select(_ => (float)g.NextInt(3)).ToArray();

    static readonly MathCase[] Kinks =
    [
        new("kink maximum ties", [[4, 5], [5]], t => F.Maximum(t[0], t[1]), null, "torch.maximum(a, b)", Data: Ints),
        new("kink minimum ties", [[4, 5], [4, 1]], t => F.Minimum(t[0], t[1]), null, "torch.minimum(a, b)", Data: Ints),
        new("kink clamp bounds", [[5, 5]], t => F.Clamp(t[0], -1f, 1f), null, "torch.clamp(a, -1, 1)", Data: Ints),
        new("kink abs zero", [[5, 5]], t => F.Abs(t[0]), null, "torch.abs(a)", Data: Ints),
        new("kink pow zero base", [[3, 4], [4]], t => F.Pow(t[0], t[1]), null, "torch.pow(a, b)", Data: SmallInts),
        new("kink pow x^0", [[6]], t => F.Pow(t[0], 0f), null, "torch.pow(a, 0)", Data: Ints),
        new("kink max dim ties", [[4, 6, 3]], t => F.Max(t[0], 1).Values, null, "torch.max(a, 1).values", Data: Ints),
        new("kink max dim ties indices", [[4, 6, 3]], t => F.Max(t[0], 1).Indices, null, "torch.max(a, 1).indices", Data: Ints, Smooth: false),
        new("kink argmax ties", [[7, 5]], t => F.Argmax(t[0], -1), null, "torch.argmax(a, -1)", Data: Ints, Smooth: false),
        new("kink min dim ties", [[6, 4]], t => F.Min(t[0], 0).Values, null, "torch.min(a, 0).values", Data: Ints),
        new("kink eq ties", [[4, 5], [5]], t => F.Eq(t[0], t[1]), null, "(a == b).float()", Data: Ints, Smooth: false),
        new("kink le ties", [[4, 5], [5]], t => F.Le(t[0], t[1]), null, "(a <= b).float()", Data: Ints, Smooth: false),
        new("kink softmax equal", [[3, 4]], t => F.Softmax(t[0], 0), null, "torch.softmax(a, 0)", Data: Ints),
        new("kink var constant", [[3, 4]], t => F.Var(t[0] * 0f + 1f, 1), null, "torch.var(a * 0 + 1, 1)", Data: Ints),
    ];

    static string Python()
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var probe = Process.Start(new ProcessStartInfo(python, "-c \"import torch\"") { RedirectStandardError = true })!;
        probe.WaitForExit();
        Assert.True(probe.ExitCode == 0, $"{python} cannot import torch: install Debian's python3-torch (scripts/test.sh does) to run this check");
        return python;
    }

    [Fact]
    public void EveryOp_MatchesPyTorch_ForwardAndGradients()
    {
        string python = Python();
        var cases = MathCases.All.Concat(Kinks).ToArray();
        var devices = TestUtil.Devices().Select(d => Device.Get((string)d[0])).ToArray();
        var inputs = cases.Select(c => c.Inputs(seed: 100)).ToArray();
        var r = new float[cases.Length][];
        var outputs = new (Tensor Y, Tensor[] X)[devices.Length][];
        for (int k = 0; k < devices.Length; k++)
        {
            outputs[k] = new (Tensor, Tensor[])[cases.Length];
            for (int i = 0; i < cases.Length; i++)
            {
                var c = cases[i];
                var ts = inputs[i].Select((v, j) => Tensor.FromArray(v, c.Shapes[j], devices[k])).ToArray();
                for (int j = 0; j < ts.Length; j++) if (c.Grad(j)) ts[j].RequiresGrad = true;
                var y = c.Op(ts);
                r[i] ??= TestUtil.RandomArray(new Generator(9 + (ulong)i), y.Numel);
                if (y.RequiresGrad) y.Backward(Tensor.FromArray(r[i], y.Shape, devices[k]));
                outputs[k][i] = (y, ts);
            }
        }

        string dir = Path.Combine(Path.GetTempPath(), "scratchnet-tests", "torch-math-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var request = cases.Select((c, i) => new
            {
                name = c.Name, expr = c.Torch, r = r[i],
                inputs = c.Shapes.Select((s, j) => new { shape = s, data = inputs[i][j], grad = c.Grad(j) }).ToArray(),
            });
            string input = Path.Combine(dir, "cases.json"), output = Path.Combine(dir, "torch.json"), script = Path.Combine(dir, "math.py");
            File.WriteAllText(input, JsonSerializer.Serialize(request));
            File.WriteAllText(script, Script);
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, ArgumentList = { script, input, output } };
            psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
            var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stdout + stderr);

            using var doc = JsonDocument.Parse(File.ReadAllText(output));
            // non-finite values come as the strings inf, -inf, nan
            float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => v.ValueKind != JsonValueKind.String ? v.GetSingle()
                : v.GetString() switch { "inf" => float.PositiveInfinity, "-inf" => float.NegativeInfinity, _ => float.NaN }).ToArray();
            for (int i = 0; i < cases.Length; i++)
            {
                var c = cases[i];
                var t = doc.RootElement.GetProperty(c.Name);
                var shape = t.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
                var y = Floats(t.GetProperty("y"));
                var grads = t.GetProperty("grads").EnumerateArray().ToArray();
                for (int k = 0; k < devices.Length; k++)
                {
                    var (oy, ox) = outputs[k][i];
                    string what = $"{devices[k].Name} {c.Name}";
                    Assert.True(shape.SequenceEqual(oy.Shape), $"{what}: shape {oy.ShapeString}, torch [{string.Join(", ", shape)}]");
                    var ours = oy.DType == Kernels.DType.Int32 ? oy.ToIntArray().Select(v => (float)v).ToArray() : oy.ToArray();
                    TestUtil.AssertClose(y, ours, 1e-5f, 1e-5f, $"{what} forward");
                    for (int j = 0; j < grads.Length; j++)
                        if (grads[j].ValueKind == JsonValueKind.Array)
                            TestUtil.AssertClose(Floats(grads[j]), ox[j].Grad!.ToArray(), 1e-5f, 1e-4f, $"{what} gradient of input {j}");
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
