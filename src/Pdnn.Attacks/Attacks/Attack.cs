using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// The base of every L∞ attack: a model as a function from images (N x C x H x W in [0,1]) to logits, a budget ε, and the
/// projection back into the ε-ball around the clean images and into [0,1]. Attacks never see normalised values: the
/// models normalise inside.
/// </summary>
public abstract class Attack(Func<Tensor, Tensor> model, double epsilon)
{
    protected Func<Tensor, Tensor> Model { get; } = model;
    public double Epsilon { get; } = epsilon >= 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), $"ε must be >= 0, got {epsilon}.");

    /// <summary>Adversarial images for <paramref name="images"/> with true <paramref name="labels"/>; same shape, in the ε-ball and [0,1].</summary>
    public abstract Tensor Perturb(Tensor images, Tensor labels);

    /// <summary>Clamp into the ε-ball around <paramref name="clean"/> and into [0,1].</summary>
    protected Tensor Project(Tensor adversarial, Tensor clean) =>
        minimum(maximum(adversarial, clean - Epsilon), clean + Epsilon).clamp(0, 1);

    /// <summary>The gradient of the mean cross-entropy with respect to the input.</summary>
    protected Tensor LossGradient(Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var input = x.detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(Model(input), labels, reduction: nn.Reduction.Sum);
        var grad = autograd.grad([loss], [input])[0];
        return grad.detach().MoveToOuterDisposeScope();
    }
}
