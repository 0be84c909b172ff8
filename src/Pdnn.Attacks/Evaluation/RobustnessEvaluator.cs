using Pdnn.Attacks.Attacks;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Evaluation;

/// <summary>One image's outcome under one attack; <paramref name="Queries"/>: model queries a query-only attack spent on it (0 for white-box ones).</summary>
public sealed record ImageOutcome(int Index, long Label, long CleanPrediction, string Attack, long AdversarialPrediction,
                                  double LinfNorm, double L2Norm, bool Correct, long Queries = 0);

/// <summary>Accuracy under one attack, with its Wilson 95% interval.</summary>
public sealed record AttackSummary(string Attack, int Correct, int Count, double Low, double High)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

public sealed record EvaluationReport(int Count, AttackSummary Clean, IReadOnlyList<AttackSummary> Attacks, AttackSummary WorstCase,
                                      IReadOnlyList<ImageOutcome> Outcomes, IReadOnlyList<string> Flags);

/// <summary>
/// A named attack: a function from (images, labels) to adversarial images; white-box or query-only; <paramref name="Queries"/>
/// gives the per-image query counts of its last batch; <paramref name="L0"/> marks attacks outside the L∞ ball (pixel attacks).
/// </summary>
public sealed record NamedAttack(string Name, Func<Tensor, Tensor, Tensor> Perturb, bool QueryOnly = false, bool Adaptive = false,
                                 Func<long[]>? Queries = null, bool L0 = false);

/// <summary>
/// Runs attacks on a model over a set of images and counts, per image and per attack, whether the model still answers
/// correctly; the worst case per image is "correct under every attack". The model is evaluated as deployed (a randomised
/// defence draws fresh randomness for the final prediction). Reports AutoAttack-style warning flags.
/// </summary>
public static class RobustnessEvaluator
{
    public static EvaluationReport Run(Func<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<NamedAttack> attacks,
                                       bool randomised = false, int batchSize = 100, Action<string, int, int>? progress = null)
    {
        int n = (int)images.shape[0];
        var labelValues = labels.cpu().data<long>().ToArray();
        var clean = Predict(model, images, batchSize);
        var outcomes = new List<ImageOutcome>();
        var correctEverywhere = Enumerable.Range(0, n).Select(i => clean[i] == labelValues[i]).ToArray();
        var summaries = new List<AttackSummary>();
        foreach (var attack in attacks)
        {
            var predictions = new long[n];
            var linf = new double[n];
            var l2 = new double[n];
            var queries = new long[n];
            progress?.Invoke(attack.Name, 0, n);
            for (int start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(batchSize, n - start);
                var x = images.narrow(0, start, count);
                var adversarial = attack.Perturb(x, labels.narrow(0, start, count)).detach();
                var delta = (adversarial - x).flatten(1);
                var li = delta.abs().amax([1]).cpu().to(ScalarType.Float64).data<double>().ToArray();
                var l2s = delta.norm(1).cpu().to(ScalarType.Float64).data<double>().ToArray();
                var predicted = Predict(model, adversarial, batchSize);
                var q = attack.Queries?.Invoke();
                for (int i = 0; i < count; i++)
                {
                    predictions[start + i] = predicted[i]; linf[start + i] = li[i]; l2[start + i] = l2s[i];
                    queries[start + i] = q != null && i < q.Length ? q[i] : 0;
                }
                progress?.Invoke(attack.Name, start + count, n);
            }
            int correct = 0;
            for (int i = 0; i < n; i++)
            {
                bool ok = predictions[i] == labelValues[i];
                correct += ok ? 1 : 0;
                correctEverywhere[i] &= ok;
                outcomes.Add(new ImageOutcome(i, labelValues[i], clean[i], attack.Name, predictions[i], linf[i], l2[i], ok, queries[i]));
            }
            summaries.Add(Summary(attack.Name, correct, n));
        }
        var cleanSummary = Summary("clean", Enumerable.Range(0, n).Count(i => clean[i] == labelValues[i]), n);
        var worst = Summary("worst case", correctEverywhere.Count(c => c), n);
        return new EvaluationReport(n, cleanSummary, summaries, worst, outcomes, Flags(cleanSummary, summaries, attacks, randomised));
    }

    static AttackSummary Summary(string name, int correct, int n)
    {
        var (low, high) = Wilson.Interval(correct, n);
        return new AttackSummary(name, correct, n, low, high);
    }

    static long[] Predict(Func<Tensor, Tensor> model, Tensor images, int batchSize)
    {
        using var noGrad = no_grad();
        var result = new List<long>();
        for (int start = 0; start < images.shape[0]; start += batchSize)
        {
            using var scope = NewDisposeScope();
            result.AddRange(model(images.narrow(0, start, Math.Min(batchSize, images.shape[0] - start))).argmax(1).cpu().data<long>().ToArray());
        }
        return [.. result];
    }

    /// <summary>Warnings in the spirit of AutoAttack's: signs that a number may overstate robustness.</summary>
    static List<string> Flags(AttackSummary clean, List<AttackSummary> results, IReadOnlyList<NamedAttack> attacks, bool randomised)
    {
        var flags = new List<string>();
        var byName = attacks.Zip(results).ToList();
        foreach (var (attack, summary) in byName)
            // Above the clean accuracy's Wilson upper bound: more than a randomised defence's draw-to-draw noise.
            if (summary.Accuracy > clean.High + 1e-9)
                flags.Add($"{attack.Name}: accuracy under attack ({summary.Accuracy:P1}) above clean accuracy ({clean.Accuracy:P1}, 95% upper bound {clean.High:P1}); the attack is not working on this defence.");
        var whiteBox = byName.Where(p => !p.First.QueryOnly && !p.First.L0).Select(p => p.Second.Accuracy).DefaultIfEmpty(double.NaN).Min();
        // Pixel (L0) attacks live outside the ε-ball: beating L∞ white-box attacks says nothing about gradients.
        foreach (var (attack, summary) in byName.Where(p => p.First.QueryOnly && !p.First.L0))
            if (!double.IsNaN(whiteBox) && summary.Accuracy < whiteBox - 0.02)
                flags.Add($"{attack.Name} (query-only) beats every white-box attack ({summary.Accuracy:P1} < {whiteBox:P1}): possible gradient masking.");
        if (randomised && !attacks.Any(a => a.Adaptive))
            flags.Add("randomised defence evaluated without EOT: the numbers are likely to overstate robustness; add eot-pgd.");
        return flags;
    }

    /// <summary>AutoAttack's ε sanity checks on one attack family: ε = 0 gives the clean accuracy, accuracy does not rise with ε, a large ε drives it near 0.</summary>
    /// <remarks><paramref name="tolerance"/>: allowed noise; for a randomised defence about two standard errors at the curve's n.</remarks>
    public static List<string> EpsilonChecks(IReadOnlyList<(double Epsilon, double Accuracy)> curve, double cleanAccuracy, double tolerance = 0.02)
    {
        var flags = new List<string>();
        var sorted = curve.OrderBy(p => p.Epsilon).ToList();
        foreach (var zero in sorted.Where(p => p.Epsilon == 0 && Math.Abs(p.Accuracy - cleanAccuracy) > tolerance))
            flags.Add($"ε = 0 gives {zero.Accuracy:P1}, not the clean accuracy {cleanAccuracy:P1}.");
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Accuracy > sorted[i - 1].Accuracy + tolerance)
                flags.Add($"accuracy rises with ε: {sorted[i - 1].Accuracy:P1} at {sorted[i - 1].Epsilon:F4}, {sorted[i].Accuracy:P1} at {sorted[i].Epsilon:F4}.");
        if (sorted.Count > 0 && sorted[^1].Epsilon >= 0.12 && sorted[^1].Accuracy > 0.1)
            flags.Add($"a large ε ({sorted[^1].Epsilon:F2}) leaves {sorted[^1].Accuracy:P1}: possible gradient masking.");
        return flags;
    }
}
