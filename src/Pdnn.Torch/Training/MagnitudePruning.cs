using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training;

/// <summary>
/// Unstructured magnitude pruning (the paper's ResNetpruned; torch.nn.utils.prune.l1_unstructured, which TorchSharp
/// lacks): in every weight tensor of a convolution or linear layer (the parameters of rank 2 or more; batch-norm
/// parameters and biases are left alone) the <see cref="Sparsity"/> fraction with the smallest |w| is set to zero.
/// The masks are kept, and <see cref="Apply"/> after each optimiser step puts the pruned weights back to zero (weight
/// decay and momentum would otherwise revive them), so retraining keeps the sparsity.
/// </summary>
public sealed class MagnitudePruning : IDisposable
{
    readonly List<(Tensor Weight, Tensor Mask)> masks = [];

    public double Sparsity { get; }

    MagnitudePruning(double sparsity) => Sparsity = sparsity;

    /// <summary>Prunes <paramref name="model"/> in place (per tensor) and returns the masks for retraining.</summary>
    public static MagnitudePruning Prune(nn.Module model, double sparsity)
    {
        if (!(sparsity > 0 && sparsity < 1)) throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "the pruned fraction must be in (0, 1).");
        var pruning = new MagnitudePruning(sparsity);
        using var noGrad = no_grad();
        foreach (var weight in Prunable(model))
        {
            long k = (long)Math.Round(sparsity * weight.numel());
            var magnitude = weight.detach().abs().flatten();
            // Ranks, not a threshold: ties (already pruned zeros among them) cannot prune more or less than k.
            var mask = ones_like(magnitude);
            if (k > 0) mask.index_fill_(0, magnitude.sort(stable: true).Indices.narrow(0, 0, k), 0);
            pruning.masks.Add((weight, mask.reshape(weight.shape).DetachFromDisposeScope()));
        }
        pruning.Apply();
        return pruning;
    }

    /// <summary>Sets the pruned weights to zero again (call after every optimiser step).</summary>
    public void Apply()
    {
        using var noGrad = no_grad();
        foreach (var (weight, mask) in masks) weight.mul_(mask);
    }

    /// <summary>The fraction of exactly-zero entries over the prunable weights of <paramref name="model"/>.</summary>
    public static double MeasuredSparsity(nn.Module model)
    {
        long zeros = 0, total = 0;
        foreach (var weight in Prunable(model))
        {
            zeros += weight.eq(0).sum().item<long>();
            total += weight.numel();
        }
        return total == 0 ? 0 : (double)zeros / total;
    }

    static IEnumerable<Tensor> Prunable(nn.Module model) =>
        model.named_parameters().Where(p => p.name.EndsWith("weight", StringComparison.Ordinal) && p.parameter.dim() >= 2).Select(p => (Tensor)p.parameter);

    public void Dispose()
    {
        foreach (var (_, mask) in masks) mask.Dispose();
        masks.Clear();
    }
}
