namespace Pdnn.Torch.Training.Adversarial;

/// <summary>
/// Names catastrophic overfitting (Wong et al. 2020) from the held-out checks so far: the model has learned to defeat
/// the single-step attack it trains on, not the attack. Two signatures, each needing a large gap so that ordinary
/// epoch-to-epoch noise on a few hundred images stays quiet:
/// <list type="bullet">
/// <item>FGSM accuracy far above PGD-10 accuracy (≥ 20 points, and PGD at most half of FGSM) — a healthy adversarially
/// trained model loses only a few points from FGSM to PGD, while the paper's FGSM-trained ResNet sits at 26% vs 0%;</item>
/// <item>PGD-10 accuracy fallen to at most half its best so far, by at least 10 points.</item>
/// </list>
/// </summary>
public static class CollapseDetector
{
    public const double GapPoints = 0.20, DropPoints = 0.10;

    /// <summary>A sentence naming the collapse at the last check, or null when the run looks healthy.</summary>
    public static string? Check(IReadOnlyList<(int Epoch, RobustCheck Check)> history)
    {
        if (history.Count == 0) return null;
        var (epoch, now) = history[^1];
        if (now.Fgsm - now.Pgd10 >= GapPoints && now.Pgd10 <= 0.5 * now.Fgsm)
            return $"catastrophic overfitting at epoch {epoch}: held-out FGSM accuracy {now.Fgsm:P1} but PGD-10 {now.Pgd10:P1}";
        var (bestEpoch, best) = history.MaxBy(h => h.Check.Pgd10);
        if (best.Pgd10 - now.Pgd10 >= DropPoints && now.Pgd10 <= 0.5 * best.Pgd10)
            return $"catastrophic overfitting at epoch {epoch}: held-out PGD-10 accuracy fell to {now.Pgd10:P1} from {best.Pgd10:P1} at epoch {bestEpoch}";
        return null;
    }
}
