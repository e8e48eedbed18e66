using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ScratchNet.Bench;

/// <summary>
/// The PyTorch baseline of one device, as a process that stays up for the whole bench: bench/baselines/torch_cpu_train.py
/// (cpu) or torch_gpu.py (cuda) with --serve. It prints one JSON line about itself, then answers each request line (one JSON
/// object: op, model, batch, steps, n, tf32) with one JSON line holding the figure of ONE round, so the bench alternates
/// rounds, ours then PyTorch's. Between requests the process blocks on its input and uses no CPU. Any failure (no Python
/// with torch, a crash, a timeout) becomes a note and the figures of that baseline are left out; ours are still written.
/// </summary>
public sealed class TorchServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly List<string> _notes;
    private readonly string _script;
    private bool _dead;

    private TorchServer(Process process, string script, List<string> notes, string device)
    {
        _process = process;
        _script = script;
        _notes = notes;
        Device = device;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
    }

    /// <summary>cpu or cuda: the device PyTorch runs on.</summary>
    public string Device { get; }

    /// <summary>The baseline's name in the tables: "PyTorch 2.11.0 CUDA fp32".</summary>
    public string Label { get; private set; } = "PyTorch";

    /// <summary>The line of bench.json's baselines: version, threads or GPU.</summary>
    public string Description { get; private set; } = "PyTorch";

    /// <summary>Whether it measures SGEMM (torch.mm): on cuda (on the cpu OpenBLAS is the SGEMM baseline).</summary>
    public bool HasSgemm => Device == "cuda";

    /// <summary>The models it has: ours of the same name are compared with them.</summary>
    public bool Has(string model) => model is "seedcnn" or "alexnet" || (model == "alexnet224" && Device == "cuda");

    /// <summary>
    /// Starts the baseline process of <paramref name="device"/> (cpu or cuda) and reads its first line; null, with a note saying
    /// why, when there is no such baseline or it does not start.
    /// </summary>
    public static TorchServer? Start(string device, List<string> notes, TextWriter log)
    {
        string script = device switch { "cpu" => "torch_cpu_train.py", "cuda" => "torch_gpu.py", _ => "" };
        if (script == "") return null;
        string? dir = BaselinesDir();
        if (dir is null) { notes.Add($"{script}: bench/baselines not found next to the binary or above the working directory"); return null; }
        var psi = new ProcessStartInfo(Python(), [Path.Combine(dir, script), "--serve"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        psi.Environment["THREADS"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        psi.Environment["PYTHONUNBUFFERED"] = "1";
        log.WriteLine($"  starting {psi.FileName} {script} --serve (the {device} baseline, in rounds alternating with ours)");
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            notes.Add($"{script}: {psi.FileName} could not be started: {e.Message}");
            return null;
        }
        var server = new TorchServer(p, script, notes, device);
        var hello = server.ReadLine(180);
        if (hello is null) { server.Dispose(); return null; }
        string version = hello.TryGetValue("torch", out var v) ? v.ToString() : "?";
        server.Label = device == "cuda" ? $"PyTorch {version} CUDA fp32" : $"PyTorch {version} CPU";
        server.Description = device == "cuda"
            ? $"{server.Label} on {(hello.TryGetValue("device", out var d) ? d.ToString() : "?")} (TF32 figures in the notes)"
            : $"{server.Label}, {(hello.TryGetValue("threads", out var t) ? t.ToString() : "?")} threads, OPENBLAS_CORETYPE=SkylakeX";
        return server;
    }

    /// <summary>One round of torch.mm on n×n FP32 matrices (TF32 off unless asked): GFLOP/s, or null.</summary>
    public double? Sgemm(int n, bool tf32 = false) => Value(new() { ["op"] = "sgemm", ["n"] = n, ["tf32"] = tf32 });

    /// <summary>One round of <paramref name="steps"/> training steps (forward, backward, SGD as ours): img/s and, on cuda, the peak
    /// memory in MiB (torch.cuda.max_memory_allocated over the round).</summary>
    public (double? ImgPerSecond, double? PeakMib) Train(string model, int batch, int steps, bool tf32 = false)
    {
        var r = Request(new() { ["op"] = "train", ["model"] = model, ["batch"] = batch, ["steps"] = steps, ["tf32"] = tf32 });
        return (Num(r, "value"), Num(r, "peak_mib"));
    }

    /// <summary>One round of <paramref name="steps"/> forward passes without gradients: img/s, or null.</summary>
    public double? Infer(string model, int batch, int steps, bool tf32 = false) =>
        Value(new() { ["op"] = "infer", ["model"] = model, ["batch"] = batch, ["steps"] = steps, ["tf32"] = tf32 });

    private double? Value(Dictionary<string, object> request) => Num(Request(request), "value");

    private static double? Num(Dictionary<string, JsonElement>? d, string key) =>
        d is not null && d.TryGetValue(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>Sends one request and waits for its answer (null, with a note, on an error or after the timeout).</summary>
    public Dictionary<string, JsonElement>? Request(Dictionary<string, object> request, int timeoutSeconds = 900)
    {
        if (_dead) return null;
        try
        {
            _process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
            _process.StandardInput.Flush();
        }
        catch (IOException e)
        {
            Fail($"{_script} is gone ({e.Message}){LastError()}");
            return null;
        }
        var answer = ReadLine(timeoutSeconds);
        if (answer is not null && answer.TryGetValue("error", out var err))
        {
            _notes.Add($"{_script}: {JsonSerializer.Serialize(request)}: {err}");
            return null;
        }
        return answer;
    }

    private Dictionary<string, JsonElement>? ReadLine(int timeoutSeconds)
    {
        var line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            Fail($"{_script}: no answer after {timeoutSeconds} s");
            return null;
        }
        string? text = line.Result;
        if (text is null || !text.TrimStart().StartsWith('{'))
        {
            Fail($"{_script} with {_process.StartInfo.FileName}: {(text is null ? "exited" : $"unexpected output '{text}'")}{LastError()}");
            return null;
        }
        try { return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(text); }
        catch (JsonException e) { Fail($"{_script}: bad JSON '{text}': {e.Message}"); return null; }
    }

    private string LastError()
    {
        string text;
        lock (_stderr) text = _stderr.ToString();
        string? last = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim();
        return last is null ? "" : $": {last}";
    }

    private void Fail(string note)
    {
        if (_dead) return;
        _dead = true;
        _notes.Add(note);
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    /// <summary>Closes its input (the script then exits) and waits a little; kills it if it is still there.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                try { _process.StandardInput.Close(); } catch (IOException) { }
                if (!_process.WaitForExit(10_000)) _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    /// <summary>bench/baselines next to the binary (publish.sh copies it there) or in a parent folder of the working directory.</summary>
    public static string? BaselinesDir()
    {
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "baselines") };
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "bench", "baselines"));
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "bench", "baselines"));
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "torch_models.py")));
    }

    private static string? _python;

    /// <summary>
    /// The first of $SCRATCHNET_PYTHON, /usr/bin/python3 and python3 (on the PATH: a venv or conda on a GPU server)
    /// in which `import torch` works; /usr/bin/python3 when none does (the script's error then goes into the notes).
    /// </summary>
    public static string Python()
    {
        if (_python is not null) return _python;
        var candidates = new[] { Environment.GetEnvironmentVariable("SCRATCHNET_PYTHON"), "/usr/bin/python3", "python3" }
            .Where(c => !string.IsNullOrWhiteSpace(c)).Select(c => c!).Distinct();
        foreach (var c in candidates)
        {
            try
            {
                var psi = new ProcessStartInfo(c, ["-c", "import torch"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                using var p = Process.Start(psi)!;
                p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd();
                if (p.WaitForExit(120_000) && p.ExitCode == 0) return _python = c;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return _python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    }
}
