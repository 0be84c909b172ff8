using Pdnn.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// EOT-PGD (Athalye et al. 2018): PGD whose every step follows the loss gradient averaged over <see cref="Samples"/> draws
/// of the defence's randomness (the model draws fresh noise or masks at each forward pass). Without it, a randomised
/// defence looks more robust than it is.
/// </summary>
public sealed class EotPgd(Func<Tensor, Tensor> model, double epsilon, double stepSize, int steps, int samples,
                           bool randomStart = true, int restarts = 1, int seed = 0)
    : Pgd(model, epsilon, stepSize, steps, randomStart, restarts, seed)
{
    public int Samples { get; } = samples >= 1 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), $"EOT needs at least 1 sample, got {samples}.");

    protected override Tensor Gradient(Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var sum = zeros_like(x);
        for (int i = 0; i < Samples; i++) sum = sum.add(LossGradient(x, labels), GcSafe.One);
        using var samples = Samples.ToScalar();
        return sum.div(samples).MoveToOuterDisposeScope();
    }

    /// <summary>The EOT gradient itself (for measuring how its variance falls with the number of samples).</summary>
    public Tensor ExpectedGradient(Tensor x, Tensor labels) => Gradient(x, labels);
}
