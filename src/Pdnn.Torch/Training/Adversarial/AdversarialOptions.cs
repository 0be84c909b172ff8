namespace Pdnn.Torch.Training.Adversarial;

/// <summary>How training examples are perturbed: none (clean training) or an L∞ adversary.</summary>
public enum AdversaryKind
{
    None,
    /// <summary>FGSM from the clean image (Goodfellow et al. 2015; the paper's "simple adversarial training").</summary>
    Fgsm,
    /// <summary>FGSM from a uniform random start with step 1.25ε (Wong, Rice &amp; Kolter 2020, "Fast is better than free").</summary>
    FgsmRs,
    /// <summary>
    /// N-FGSM (de Jorge et al. 2022, "Make some noise"): one FGSM step of ε from the image plus uniform noise in [−2ε, 2ε],
    /// not projected back to the ε-ball (the perturbation reaches up to 3ε). The stronger noise and the missing clip are
    /// what keep single-step training from catastrophic overfitting on long schedules, at FGSM-RS's cost.
    /// </summary>
    NFgsm,
    /// <summary>PGD-k from a uniform random start (Madry et al. 2018).</summary>
    Pgd,
    /// <summary>TRADES (Zhang et al. 2019): clean cross-entropy + β·KL(p(x) ‖ p(x')), x' found by PGD on that KL.</summary>
    Trades,
}

/// <summary>Where the adversarial example is crafted when the classifier learns on recreations.</summary>
public enum CraftThrough
{
    /// <summary>Against the whole φDNN: corruption, recreation and classifier, fresh randomness at every forward pass.</summary>
    PhiDnn,
    /// <summary>Against the classifier alone on the raw image, then recreated (the paper's cheaper variant).</summary>
    Classifier,
}

/// <summary>What to do when the held-out check sees catastrophic overfitting.</summary>
public enum CollapseAction { Continue, Stop }

/// <summary>Which weights a run ends with.</summary>
public enum KeepWeights
{
    /// <summary>The last epoch's.</summary>
    Last,
    /// <summary>
    /// Early stopping against robust overfitting (Rice et al. 2020): the latest epoch whose held-out PGD-10 accuracy is
    /// within one binomial standard error of the best so far, so that noise of a few hundred images does not throw away
    /// the end of the schedule.
    /// </summary>
    BestRobust,
}

/// <summary>Everything that decides adversarial training. Part of a run's identity: a resumed run must share it.</summary>
public sealed record AdversarialOptions
{
    public AdversaryKind Kind { get; init; } = AdversaryKind.None;
    /// <summary>L∞ budget in [0,1] pixel units (8/255 as in the paper).</summary>
    public double Epsilon { get; init; } = 8.0 / 255;
    /// <summary>PGD / TRADES inner steps; FGSM kinds take one.</summary>
    public int Steps { get; init; } = 7;
    /// <summary>Step size; null: ε for FGSM and N-FGSM, 1.25ε for FGSM-RS, 2.5ε/steps for PGD and TRADES (Madry's 2/255 at ε = 8/255, 7 steps ≈ 2.86/255).</summary>
    public double? StepSize { get; init; }
    /// <summary>Weight of the clean-image loss: loss = (1 − w)·CE(adversarial) + w·CE(clean). 0.5 is Goodfellow's mixing.</summary>
    public double CleanWeight { get; init; }
    /// <summary>TRADES' β.</summary>
    public double TradesBeta { get; init; } = 6;
    public CraftThrough CraftThrough { get; init; } = CraftThrough.PhiDnn;

    public bool Enabled => Kind != AdversaryKind.None;

    public int EffectiveSteps => Kind is AdversaryKind.Fgsm or AdversaryKind.FgsmRs or AdversaryKind.NFgsm ? 1 : Steps;

    public double EffectiveStepSize => StepSize ?? Kind switch
    {
        AdversaryKind.Fgsm or AdversaryKind.NFgsm => Epsilon,
        AdversaryKind.FgsmRs => 1.25 * Epsilon,
        _ => 2.5 * Epsilon / Math.Max(1, Steps),
    };

    /// <summary>A short human name: "FGSM-RS ε=8/255 α=10/255", "PGD-7 ε=8/255 α=2.86/255".</summary>
    public string Describe() => Kind switch
    {
        AdversaryKind.None => "none",
        _ => $"{KindName(Kind)}{(Kind is AdversaryKind.Pgd or AdversaryKind.Trades ? $"-{Steps}" : "")} ε={Epsilon * 255:0.##}/255 α={EffectiveStepSize * 255:0.##}/255" +
             (CleanWeight > 0 ? $", clean weight {CleanWeight}" : "") + (Kind == AdversaryKind.Trades ? $", β={TradesBeta}" : ""),
    };

    public static string KindName(AdversaryKind kind) => kind switch
    {
        AdversaryKind.None => "none", AdversaryKind.Fgsm => "FGSM", AdversaryKind.FgsmRs => "FGSM-RS", AdversaryKind.NFgsm => "N-FGSM",
        AdversaryKind.Pgd => "PGD", AdversaryKind.Trades => "TRADES", _ => kind.ToString(),
    };

    /// <summary>Refuses values that cannot describe a run, naming the option.</summary>
    public AdversarialOptions Validated()
    {
        if (!Enabled) return this;
        if (!(Epsilon > 0 && Epsilon <= 1)) throw new ArgumentException($"--eps must be in (0, 1], got {Epsilon}.");
        if (Steps < 1) throw new ArgumentException($"--attack-steps must be at least 1, got {Steps}.");
        if (StepSize is { } a && !(a > 0 && a <= 1)) throw new ArgumentException($"--attack-step-size must be in (0, 1], got {a}.");
        if (!(CleanWeight >= 0 && CleanWeight < 1)) throw new ArgumentException($"--clean-weight must be in [0, 1), got {CleanWeight}.");
        if (!(TradesBeta > 0)) throw new ArgumentException($"--trades-beta must be positive, got {TradesBeta}.");
        return this;
    }

    public string Identity() => Enabled ? $"{Kind}|{Epsilon}|{EffectiveSteps}|{EffectiveStepSize}|{CleanWeight}|{TradesBeta}|{CraftThrough}" : "none";
}
