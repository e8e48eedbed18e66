namespace ScratchNet.data;

/// <summary>
/// torch.utils.data.distributed.DistributedSampler: the share of one rank in an epoch. Every rank computes the same epoch order
/// (the loader's seed-driven permutation); rank r of N takes positions r, r + N, r + 2N, … of it, so the shards are disjoint and
/// batch k of all ranks together is positions kNB … (k+1)NB − 1: what one process with batch N·B takes as its batch k.
///
/// Padding (PyTorch's default): the positions past the end wrap around to the start of the order, so every rank has
/// ⌈remaining / N⌉ images and runs the same number of steps (a collective per step needs all ranks). Without padding
/// (evaluation: each image counted once) the last ranks may have one image fewer.
///
/// Resuming at image s of an epoch (s counted in the whole epoch's order) shards positions s, s + 1, … the same way, with any N:
/// a run saved with N ranks can continue on another number of ranks at the image where it stopped.
/// </summary>
public sealed class DistributedSampler
{
    /// <summary>Rank <paramref name="rank"/>'s share among <paramref name="numReplicas"/> ranks.</summary>
    /// <param name="numReplicas">The world size, ≥ 1.</param>
    /// <param name="rank">This process's rank, in [0, numReplicas).</param>
    /// <param name="pad">Wrap around so that every rank gets the same number of images (training).</param>
    public DistributedSampler(int numReplicas, int rank, bool pad = true)
    {
        if (numReplicas < 1) throw new ArgumentException($"DistributedSampler: numReplicas must be >= 1, got {numReplicas}");
        if (rank < 0 || rank >= numReplicas) throw new ArgumentException($"DistributedSampler: rank {rank} is not in [0, {numReplicas})");
        (NumReplicas, Rank, Pad) = (numReplicas, rank, pad);
    }

    /// <summary>The number of ranks sharing each epoch.</summary>
    public int NumReplicas { get; }
    /// <summary>This rank, in [0, NumReplicas).</summary>
    public int Rank { get; }
    /// <summary>Whether the shards are padded to equal length by wrapping around.</summary>
    public bool Pad { get; }

    /// <summary>Images of this rank from epoch position <paramref name="start"/> on, of an epoch of <paramref name="count"/> images.</summary>
    public int NumSamples(int count, int start)
    {
        long left = count - (long)start;
        if (left <= 0) return 0;
        return (int)(Pad ? (left + NumReplicas - 1) / NumReplicas : (left - Rank + NumReplicas - 1) / NumReplicas);
    }

    /// <summary>This rank's dataset indices: positions start + Rank + k·NumReplicas of <paramref name="order"/>.</summary>
    public int[] Shard(int[] order, int start)
    {
        var shard = new int[NumSamples(order.Length, start)];
        for (int k = 0; k < shard.Length; k++)
        {
            long pos = start + Rank + (long)k * NumReplicas;
            // Padding wraps to the start of the epoch's order (only when pos runs past the end).
            shard[k] = order[(int)(pos % order.Length)];
        }
        return shard;
    }

    /// <summary>The epoch position reached once every rank has taken <paramref name="taken"/> images from <paramref name="start"/>.</summary>
    public int PositionAfter(int count, int start, int taken) => (int)Math.Min(count, start + (long)taken * NumReplicas);
}
