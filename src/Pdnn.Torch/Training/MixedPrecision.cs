using Pdnn.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training;

/// <summary>The arithmetic a training run's forward and backward passes use.</summary>
public enum TrainingPrecision
{
    Float32,
    /// <summary>bfloat16 forward/backward with float32 master weights: on CPUs with AMX or AVX-512 BF16 (Intel Sapphire
    /// Rapids and later) oneDNN runs ResNet-20 training steps about 2.4x faster; elsewhere it can be slower.</summary>
    BFloat16,
}

/// <summary>
/// Mixed-precision training without autocast (TorchSharp 0.107 has none): the model the optimiser updates, saves and
/// evaluates stays float32 (the master weights), and a bfloat16 copy of it runs each step's forward and backward passes,
/// adversarial crafting included. Per step: <see cref="Load"/> copies the master weights into the copy, the caller runs
/// <see cref="Forward"/> and backward, <see cref="StoreGradients"/> hands the copy's gradients (and batch-norm running
/// statistics) back to the master as float32, then the optimiser steps the master. bfloat16 keeps float32's exponent
/// range, so no loss scaling is needed; only the 8-bit mantissa of activations and gradients changes the arithmetic.
/// Evaluation, the held-out robustness check and export use the float32 master, so no reported number is computed in
/// bfloat16.
/// </summary>
public sealed class MixedPrecision : IDisposable
{
    readonly CifarResNet working;
    readonly (Tensor Master, Tensor Working)[] parameters;
    readonly (Tensor Master, Tensor Working)[] buffers;

    public MixedPrecision(CifarResNet master, ResNetSpec spec, int classes, Device device)
    {
        working = new CifarResNet(spec, classes);
        working.to(device).to(ScalarType.BFloat16);
        working.train(master.training);
        parameters = Pair(master.named_parameters().Select(p => ((string, Tensor))p), working.named_parameters().Select(p => ((string, Tensor))p));
        // Batch-norm statistics change as the copy trains and go back to the master; constant buffers (the input
        // normalisation's mean and std) stay exact in the master.
        buffers = Pair(master.named_buffers().Where(b => IsBatchNormStatistic(b.name)), working.named_buffers());
    }

    /// <summary>The bfloat16 copy as images → logits, float32 at both ends so callers (and the adversary's gradient with
    /// respect to the images) see float32 tensors.</summary>
    public Tensor Forward(Tensor x) => working.forward(x.to(ScalarType.BFloat16)).to(ScalarType.Float32);

    /// <summary>Copies the master weights and batch-norm statistics into the bfloat16 copy and clears its gradients.</summary>
    public void Load()
    {
        using var noGrad = no_grad();
        foreach (var (master, copy) in parameters) { copy.copy_(master); copy.grad = null; }
        foreach (var (master, copy) in buffers) copy.copy_(master);
    }

    /// <summary>Hands the copy's gradients to the master parameters and its batch-norm statistics to the master buffers.</summary>
    public void StoreGradients()
    {
        using var noGrad = no_grad();
        foreach (var (master, copy) in parameters)
            master.grad = copy.grad is { } g ? g.to(ScalarType.Float32) : null;
        foreach (var (master, copy) in buffers) master.copy_(copy);
    }

    static bool IsBatchNormStatistic(string name) =>
        name.EndsWith("running_mean") || name.EndsWith("running_var") || name.EndsWith("num_batches_tracked");

    static (Tensor, Tensor)[] Pair(IEnumerable<(string Name, Tensor Tensor)> master, IEnumerable<(string Name, Tensor Tensor)> working)
    {
        var byName = working.ToDictionary(p => p.Name, p => p.Tensor);
        return master.Select(p => (p.Tensor, byName.TryGetValue(p.Name, out var w) ? w
            : throw new InvalidOperationException($"the bfloat16 copy has no tensor named {p.Name}"))).ToArray();
    }

    public void Dispose() => working.Dispose();
}
