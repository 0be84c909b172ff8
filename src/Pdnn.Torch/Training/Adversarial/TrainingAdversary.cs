using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Adversarial;

/// <summary>
/// Crafts the perturbed inputs of one training step, and the loss the classifier learns from them. Lean on purpose:
/// no restarts and no "keep the first success" bookkeeping (that is what <c>Pdnn.Attacks</c>' evaluation attacks do);
/// one extra forward/backward per inner step is all adversarial training may cost. Randomness (random starts, and a
/// φDNN's noise inside <c>target</c>) comes from torch's global RNG, which the trainer seeds per step.
/// </summary>
public sealed class TrainingAdversary(AdversarialOptions options)
{
    public AdversarialOptions Options { get; } = options.Validated();

    /// <summary>N-FGSM's noise magnitude k, in units of ε (de Jorge et al.'s default).</summary>
    public const double NFgsmNoise = 2;

    /// <summary>
    /// The adversarial images for (<paramref name="x"/>, <paramref name="y"/>) against <paramref name="target"/> (images →
    /// logits, differentiable in the images), detached, in [0,1] and in the ε-ball around x (N-FGSM: the 3ε-ball).
    /// </summary>
    /// <param name="cleanLogits">TRADES only: the target's logits on the clean images (the KL's reference).</param>
    public Tensor Craft(Func<Tensor, Tensor> target, Tensor x, Tensor y, Tensor? cleanLogits = null)
    {
        using var scope = NewDisposeScope();
        // Every number passed to TorchSharp here is a scalar held until the step ends (see GcSafe): x + u is x.add(u, One).
        using var eps = Options.Epsilon.ToScalar();
        using var alpha = Options.EffectiveStepSize.ToScalar();
        using var noise = (NFgsmNoise * Options.Epsilon).ToScalar();
        using var gaussian = 0.001.ToScalar();
        var start = Options.Kind switch
        {
            AdversaryKind.Fgsm => x,
            AdversaryKind.FgsmRs or AdversaryKind.Pgd => LinfBall.Project(x.add(LinfBall.Spread(rand_like(x), eps), GcSafe.One), x, eps),
            AdversaryKind.NFgsm => x.add(LinfBall.Spread(rand_like(x), noise), GcSafe.One).clamp(GcSafe.Zero, GcSafe.One),
            AdversaryKind.Trades => LinfBall.Project(x.add(randn_like(x).mul(gaussian), GcSafe.One), x, eps), // TRADES' small Gaussian start
            _ => throw new InvalidOperationException("no adversary configured"),
        };
        var reference = Options.Kind == AdversaryKind.Trades
            ? nn.functional.softmax((cleanLogits ?? throw new ArgumentNullException(nameof(cleanLogits), "TRADES needs the clean logits")).detach(), 1)
            : null;
        var adversarial = start.detach();
        for (int s = 0; s < Options.EffectiveSteps; s++)
        {
            using var step = NewDisposeScope();
            var grad = reference is null ? InputGradient(target, adversarial, y) : KlGradient(target, adversarial, reference);
            var stepped = LinfBall.Ascend(adversarial, grad, alpha);
            adversarial = (Options.Kind == AdversaryKind.NFgsm ? stepped.clamp(GcSafe.Zero, GcSafe.One) : LinfBall.Project(stepped, x, eps)).detach().MoveToOuterDisposeScope();
        }
        return adversarial.MoveToOuterDisposeScope();
    }

    /// <summary>The gradient of the summed cross-entropy of <paramref name="target"/> with respect to its input: what FGSM and PGD steps follow.</summary>
    public static Tensor InputGradient(Func<Tensor, Tensor> target, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var input = x.detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(target(input), y, reduction: nn.Reduction.Sum);
        return autograd.grad([loss], [input])[0].detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The training loss on classifier logits: for CE kinds (1 − w)·CE(adversarial) + w·CE(clean) (the clean term only when
    /// w &gt; 0); for TRADES CE(clean) + β·KL(p(clean) ‖ p(adversarial)) averaged over the batch.
    /// </summary>
    public Tensor Loss(Tensor adversarialLogits, Tensor? cleanLogits, Tensor y, double labelSmoothing)
    {
        if (Options.Kind == AdversaryKind.Trades)
        {
            var clean = cleanLogits ?? throw new ArgumentNullException(nameof(cleanLogits));
            using var batch = y.shape[0].ToScalar();
            using var beta = Options.TradesBeta.ToScalar();
            var kl = nn.functional.kl_div(nn.functional.log_softmax(adversarialLogits, 1), nn.functional.softmax(clean, 1),
                                          reduction: nn.Reduction.Sum).div(batch);
            return nn.functional.cross_entropy(clean, y, label_smoothing: labelSmoothing).add(kl.mul(beta), GcSafe.One); // CE + β KL
        }
        var adversarialLoss = nn.functional.cross_entropy(adversarialLogits, y, label_smoothing: labelSmoothing);
        if (Options.CleanWeight <= 0 || cleanLogits is null) return adversarialLoss;
        using var adversarialWeight = (1 - Options.CleanWeight).ToScalar();
        using var cleanWeight = Options.CleanWeight.ToScalar();
        return adversarialLoss.mul(adversarialWeight)                                                       // (1 − w) CE(adv) + w CE(clean)
            .add(nn.functional.cross_entropy(cleanLogits, y, label_smoothing: labelSmoothing).mul(cleanWeight), GcSafe.One);
    }

    /// <summary>Whether <see cref="Loss"/> needs the classifier's logits on the clean images.</summary>
    public bool NeedsCleanLogits => Options.Kind == AdversaryKind.Trades || Options.CleanWeight > 0;

    static Tensor KlGradient(Func<Tensor, Tensor> target, Tensor x, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var input = x.detach().requires_grad_(true);
        var loss = nn.functional.kl_div(nn.functional.log_softmax(target(input), 1), reference, reduction: nn.Reduction.Sum);
        return autograd.grad([loss], [input])[0].detach().MoveToOuterDisposeScope();
    }
}
