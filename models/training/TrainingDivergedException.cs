namespace ScratchNet.Models.Training;

/// <summary>
/// The training loss became NaN or infinite: the weights are no longer usable, so training stops at that step
/// instead of running on and saving them. The message names the step, the loss and the learning rate, says which
/// checkpoint is kept, and suggests what to try.
/// </summary>
public sealed class TrainingDivergedException(string message, long step, double loss, float learningRate) : Exception(message)
{
    /// <summary>The global step whose loss was not finite (1-based).</summary>
    public long Step { get; } = step;
    /// <summary>The loss read at that step.</summary>
    public double Loss { get; } = loss;
    /// <summary>The learning rate at that step.</summary>
    public float LearningRate { get; } = learningRate;
}
