using System.Text.Json.Serialization;
using Pdnn.Attacks.Attacks;
using static TorchSharp.torch;

namespace Pdnn.Evaluation;

/// <summary>The budgets of the attacks an evaluation runs (defaults: the paper's ε and DE settings, AutoAttack-like steps).</summary>
public sealed record AttackSettings
{
    /// <summary>L∞ budget in [0,1] pixel units (8/255 in the paper).</summary>
    public double Epsilon { get; init; } = 8.0 / 255;
    /// <summary>Iterations of PGD, EOT-PGD and APGD.</summary>
    public int Steps { get; init; } = 10;
    /// <summary>Draws of the defence's randomness averaged per EOT-PGD step.</summary>
    public int EotSamples { get; init; } = 8;
    public int SquareQueries { get; init; } = 1000;
    /// <summary>Differential evolution (Su et al. 2019): population 400, up to 100 generations.</summary>
    public int PixelPopulation { get; init; } = 400;
    public int PixelGenerations { get; init; } = 100;
    /// <summary>Most candidate images per model call of differential evolution (the populations of several images are stacked).</summary>
    public int MaxQueryBatch { get; init; } = 1024;
    public int Seed { get; init; }
    /// <summary>
    /// Attack only the images the defence classifies correctly when clean; the others keep their clean (wrong) answer under
    /// every attack, unattacked (AutoAttack's and RobustBench's protocol). The worst case is the same either way; an
    /// attack's column can only be lower (without it, an attack on a misclassified image of a randomised defence may land
    /// on a lucky draw and count as correct), and the attacks' time on misclassified images is saved. Left out of the JSON
    /// when off, so the keys of journals written before it existed stay valid.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool SkipMisclassified { get; init; }
}

/// <summary>
/// The attacks by name, as the CLI and the ML.NET evaluator take them: fgsm, pgd, eot-pgd, apgd-ce, apgd-dlr (white-box,
/// on the differentiable twin); fgsm-transfer, pgd-transfer (white-box on the chain's classifier alone, then passed
/// through the whole chain: the transfer or grey-box setting); 1px, 10px, square (query-only, on whatever model answers
/// queries: the twin or the deployed chain).
/// </summary>
public static class AttackSuite
{
    public static readonly string[] Names = ["fgsm", "pgd", "fgsm-transfer", "pgd-transfer", "eot-pgd", "apgd-ce", "apgd-dlr", "1px", "10px", "square"];
    public static readonly string[] Paper = ["1px", "10px", "fgsm", "pgd"];
    /// <summary>Marks the columns of transfer attacks.</summary>
    public const string TransferSuffix = " (transfer from C)";

    public static IReadOnlyList<string> Parse(string list)
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => n.ToLowerInvariant()).ToList();
        foreach (var n in names.Where(n => !Names.Contains(n)))
            throw new ArgumentException($"unknown attack '{n}'; known: {string.Join(", ", Names)}.");
        if (names.Count == 0) throw new ArgumentException("no attack given; known: " + string.Join(", ", Names) + ".");
        return names.Distinct().ToList();
    }

    /// <summary>
    /// The table order of an attack's column: the paper's columns (1px, 10px, FGSM, PGD), then the transfer attacks that
    /// may explain the paper's numbers, then the adaptive and query-only attacks.
    /// </summary>
    public static int ColumnRank(string name) =>
        name.EndsWith(TransferSuffix) ? 4 : name.StartsWith("1px") ? 0 : name.StartsWith("10px") ? 1 : name == "FGSM" ? 2 : name.StartsWith("PGD") ? 3 : 5;

    /// <summary>
    /// The attack <paramref name="name"/>: white-box ones differentiate <paramref name="whiteBox"/>, transfer ones
    /// <paramref name="classifier"/> (the chain's classifier alone), query-only ones query <paramref name="queryOnly"/>.
    /// </summary>
    public static NamedAttack Create(string name, AttackSettings s, Func<Tensor, Tensor> whiteBox, Func<Tensor, Tensor> queryOnly,
                                     Func<Tensor, Tensor>? classifier = null)
    {
        double e = s.Epsilon;
        int k = s.Steps;
        Func<Tensor, Tensor> Classifier() => classifier ?? throw new ArgumentException($"attack '{name}' needs the chain's classifier alone; none was given.", nameof(classifier));
        switch (name)
        {
            case "fgsm": return Named("FGSM", new Fgsm(whiteBox, e));
            case "pgd": return Named($"PGD-{k}", new Pgd(whiteBox, e, e / 4, k, seed: s.Seed));
            case "fgsm-transfer": return Named("FGSM" + TransferSuffix, new Fgsm(Classifier(), e)) with { Transfer = true };
            case "pgd-transfer": return Named($"PGD-{k}" + TransferSuffix, new Pgd(Classifier(), e, e / 4, k, seed: s.Seed)) with { Transfer = true };
            case "eot-pgd": return Named($"EOT-PGD-{k}x{s.EotSamples}", new EotPgd(whiteBox, e, e / 4, k, s.EotSamples, seed: s.Seed)) with { Adaptive = true };
            case "apgd-ce": return Named($"APGD-CE-{k}", new Apgd(whiteBox, e, k, seed: s.Seed)) with { Adaptive = true };
            case "apgd-dlr": return Named($"APGD-DLR-{k}", new Apgd(whiteBox, e, k, ApgdLoss.Dlr, s.Seed)) with { Adaptive = true };
            case "1px" or "10px":
            {
                var de = new PixelAttack(queryOnly, name == "1px" ? 1 : 10, s.PixelPopulation, s.PixelGenerations, s.Seed, maxQueryBatch: s.MaxQueryBatch);
                return new NamedAttack($"{de.Pixels}px (DE {s.PixelPopulation}x{s.PixelGenerations})", de.Perturb, QueryOnly: true, Queries: () => de.QueriesPerImage, L0: true, Reporter: de);
            }
            case "square":
            {
                var square = new Square(queryOnly, e, s.SquareQueries, seed: s.Seed);
                return new NamedAttack($"Square-{s.SquareQueries}", square.Perturb, QueryOnly: true, Queries: () => square.QueriesPerImage, Reporter: square);
            }
            default: throw new ArgumentException($"unknown attack '{name}'; known: {string.Join(", ", Names)}.");
        }
    }

    static NamedAttack Named(string name, Attack attack) => new(name, attack.Perturb, Reporter: attack);
}
