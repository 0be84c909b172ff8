using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Recreation;

/// <summary>
/// The weights of a run's best epoch so far: a CPU copy to end the run with, and, when the run checkpoints, a file beside
/// its checkpoint to resume with (written to a temporary name and moved, so an interruption leaves the previous one).
/// </summary>
sealed class BestWeights : IDisposable
{
    readonly Dictionary<string, Tensor> weights;

    BestWeights(Dictionary<string, Tensor> weights) => this.weights = weights;

    /// <summary>The model's weights as they are now, also written to <paramref name="file"/> when given.</summary>
    public static BestWeights Of(nn.Module model, string? file)
    {
        if (file != null) Checkpoint.SaveWeights(model, file);
        return new BestWeights(Snapshot(model));
    }

    /// <summary>The weights saved in <paramref name="file"/>, read through <paramref name="model"/> (whose own weights are
    /// put back afterwards).</summary>
    public static BestWeights Load(nn.Module model, string file)
    {
        if (!File.Exists(file))
            throw new InvalidDataException($"{file} is missing: the checkpoint names a best held-out epoch, whose weights should be there.");
        using var current = new BestWeights(Snapshot(model));
        model.load(file);
        var best = new BestWeights(Snapshot(model));
        current.CopyInto(model);
        return best;
    }

    public void CopyInto(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var (name, value) in model.state_dict()) value.copy_(weights[name]);
    }

    public void Dispose()
    {
        foreach (var w in weights.Values) w.Dispose();
    }

    static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().clone().DetachFromDisposeScope());
}
