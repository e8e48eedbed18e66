using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using ScratchNet.Kernels;
using ScratchNet.onnx;

namespace ScratchNet.Bench;

/// <summary>
/// The second inference baseline of the cpu device: ONNX Runtime's CPU execution provider running the model as Onnx.ToOnnx
/// exports it (the same weights, the same input tensor), in-process, with as many intra-op threads as the cpu device's team
/// (<see cref="CpuTeam.Threads"/>) and one inter-op thread, graph optimisations at their default (all). One round is `steps`
/// calls of InferenceSession.Run on a pre-built input OrtValue, so it times what our forward rounds time.
/// </summary>
public sealed class OrtBaseline : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtValue _input;
    private readonly RunOptions _run = new();
    private readonly string[] _inputNames = [Onnx.InputName], _outputNames = [Onnx.OutputName];

    private OrtBaseline(InferenceSession session, OrtValue input)
    {
        _session = session;
        _input = input;
    }

    /// <summary>"ONNX Runtime 1.31.1 CPU EP, 2 threads".</summary>
    public static string Label => $"ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version?.ToString(3)} CPU EP, {CpuTeam.Threads} threads";

    /// <summary>A session of <paramref name="model"/> on the batch <paramref name="x"/>; null (with a note) when ONNX Runtime cannot load
    /// here or the model does not export.</summary>
    public static OrtBaseline? Create(nn.Module model, Tensor x, List<string> notes, string name)
    {
        try
        {
            byte[] bytes = Onnx.ToOnnx(model, x.Shape[1..]).ToBytes();
            var options = new SessionOptions { IntraOpNumThreads = CpuTeam.Threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            var session = new InferenceSession(bytes, options);
            var input = OrtValue.CreateTensorValueFromMemory(x.ToArray(), x.Shape.Select(d => (long)d).ToArray());
            return new OrtBaseline(session, input);
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or TypeInitializationException or ArgumentException or EntryPointNotFoundException)
        {
            notes.Add($"ONNX Runtime baseline of {name} unavailable: {e.GetType().Name}: {e.Message}");
            return null;
        }
    }

    /// <summary>img/s of <paramref name="steps"/> runs at batch <paramref name="batch"/>.</summary>
    public double Round(int batch, int steps)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
            using (var outputs = _session.Run(_run, _inputNames, [_input], _outputNames)) { }
        return steps * batch / sw.Elapsed.TotalSeconds;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _input.Dispose();
        _run.Dispose();
        _session.Dispose();
    }
}
