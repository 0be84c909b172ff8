using Pdnn.Attacks.Attacks;
using Pdnn.Data;
using static TorchSharp.torch;

namespace Pdnn.Evaluation;

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

/// <summary>What kind of attack a column is, as the flags need it: query-only, adaptive (EOT, APGD), L0 (pixel attacks), transfer.</summary>
public sealed record AttackKind(string Name, bool QueryOnly = false, bool Adaptive = false, bool L0 = false, bool Transfer = false);

/// <summary>
/// A named attack: a function from (images, labels, image ids) to adversarial images; white-box or query-only;
/// <paramref name="Queries"/> gives the per-image query counts of its last batch; <paramref name="L0"/> marks attacks
/// outside the L∞ ball (pixel attacks); <paramref name="Transfer"/> attacks crafted on the classifier alone.
/// </summary>
public sealed record NamedAttack(string Name, Func<Tensor, Tensor, long[], Tensor> Perturb, bool QueryOnly = false, bool Adaptive = false,
                                 Func<long[]>? Queries = null, bool L0 = false, bool Transfer = false, IReportsProgress? Reporter = null)
{
    public AttackKind Kind => new(Name, QueryOnly, Adaptive, L0, Transfer);
}

/// <summary>
/// How an evaluation is cut into units of work, each a job ("clean", or an attack) on one batch of the sample: batch b
/// holds the images whose ids (positions in the whole sample) lie in [b·BatchSize, (b+1)·BatchSize), whichever process
/// evaluates it and whatever ran before, and every random draw of a unit derives from (Seed, job, b). So a unit gives the
/// same outcomes in an uninterrupted run, a resumed one, or a shard that holds only some of the batches.
/// </summary>
public sealed record EvaluationUnits
{
    /// <summary>Ids of the images given, ascending; default 0 … n−1.</summary>
    public IReadOnlyList<long>? Ids { get; init; }
    public int BatchSize { get; init; } = 100;
    public int Seed { get; init; }
    /// <summary>Where finished units are written as they finish, and read from instead of being run again.</summary>
    public OutcomeJournal? Journal { get; init; }
    /// <summary>Called with each unit's seed before it runs, for randomness outside torch's generator (the deployed chain's).</summary>
    public Action<int>? Reseed { get; init; }
    /// <summary>Attack only the images the model classifies correctly when clean (see <see cref="AttackSettings.SkipMisclassified"/>).</summary>
    public bool SkipMisclassified { get; init; }
}

/// <summary>
/// Runs attacks on a model over a set of images and counts, per image and per attack, whether the model still answers
/// correctly; the worst case per image is "correct under every attack". The model is evaluated as deployed (a randomised
/// defence draws fresh randomness for the final prediction). Reports AutoAttack-style warning flags.
/// </summary>
public static class RobustnessEvaluator
{
    public const string CleanJob = "clean";
    const long UnitStream = 104;

    public static EvaluationReport Run(Func<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<NamedAttack> attacks,
                                       bool randomised = false, int batchSize = 100, Action<string, int, int>? progress = null) =>
        Run(model, images, labels, attacks, randomised, new EvaluationUnits { BatchSize = batchSize }, progress);

    /// <summary>Runs every unit of <paramref name="units"/> not already in its journal, journals it, and summarises them all.</summary>
    public static EvaluationReport Run(Func<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<NamedAttack> attacks,
                                       bool randomised, EvaluationUnits units, Action<string, int, int>? progress = null) =>
        Run(model, (int)images.shape[0], (start, count) => (images.narrow(0, start, count), labels.narrow(0, start, count)),
            attacks, randomised, units, progress);

    /// <summary>
    /// As above, with the images read one unit of work at a time: <paramref name="read"/>(start, count) gives the images
    /// and labels at positions start … start + count − 1 of the <paramref name="count"/> evaluated, made for that unit
    /// and disposed after it. So only one batch of images is in memory at once, and units already in the journal are not
    /// read at all; what is kept is the per-image outcomes.
    /// </summary>
    public static EvaluationReport Run(Func<Tensor, Tensor> model, int count, Func<int, int, (Tensor Images, Tensor Labels)> read,
                                       IReadOnlyList<NamedAttack> attacks, bool randomised, EvaluationUnits units, Action<string, int, int>? progress = null)
    {
        int n = count;
        var ids = units.Ids?.ToArray() ?? Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        if (ids.Length != n) throw new ArgumentException($"{ids.Length} ids for {n} images.", nameof(units));
        for (int i = 1; i < n; i++)
            if (ids[i] <= ids[i - 1]) throw new ArgumentException("image ids must be distinct and ascending.", nameof(units));
        if (units.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(units), $"batch size must be at least 1, got {units.BatchSize}.");
        // Consecutive images of one batch: (batch, first position in images, count).
        var batches = ids.Select((id, i) => (Batch: (int)(id / units.BatchSize), Position: i)).GroupBy(p => p.Batch)
            .Select(g => (Batch: g.Key, Start: g.First().Position, Count: g.Count())).ToList();

        List<OutcomeLine> RunJob(string job, Func<Tensor, Tensor, long[], List<OutcomeLine>> work, IReportsProgress? reporter = null)
        {
            var lines = new List<OutcomeLine>(n);
            int done = 0;
            progress?.Invoke(job, 0, n);
            foreach (var (batch, start, size) in batches)
            {
                JournalUnit? unit = null;
                if (units.Journal is not { } journal || !journal.TryGet(job, batch, out unit))
                {
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    int seed = Seeds.Derive(units.Seed, UnitStream, StableHash(job), batch);
                    manual_seed(seed);
                    units.Reseed?.Invoke(seed);
                    using var scope = NewDisposeScope(); // the unit's images and working tensors go with it
                    var (x, y) = read(start, size);
                    // Within a unit, the attack's own progress counts as that share of the unit's images.
                    int before = done;
                    if (reporter != null && progress != null) reporter.Progress = f => progress(job, before + (int)(Math.Clamp(f, 0, 1) * size), n);
                    List<OutcomeLine> computed;
                    try { computed = work(x, y, ids[start..(start + size)]); }
                    finally { if (reporter != null) reporter.Progress = null; }
                    unit = new JournalUnit(job, batch, computed, clock.Elapsed.TotalSeconds);
                    units.Journal?.Append(unit);
                }
                lines.AddRange(unit.Lines);
                progress?.Invoke(job, done += size, n);
            }
            return lines;
        }

        var clean = RunJob(CleanJob, (x, y, batchIds) =>
        {
            var predicted = Predict(model, x);
            var label = y.cpu().data<long>().ToArray();
            return batchIds.Select((id, i) => new OutcomeLine(id, label[i], predicted[i])).ToList();
        });
        var cleanLine = clean.ToDictionary(l => l.Id);
        var byAttack = new Dictionary<string, IReadOnlyList<OutcomeLine>>();
        foreach (var attack in attacks)
            byAttack[attack.Name] = RunJob(attack.Name, (x, y, batchIds) =>
            {
                var attacked = units.SkipMisclassified
                    ? Enumerable.Range(0, batchIds.Length).Where(i => cleanLine[batchIds[i]] is var c && c.Prediction == c.Label).ToArray()
                    : null;
                if (attacked is null || attacked.Length == batchIds.Length) return AttackBatch(model, attack, x, y, batchIds);
                // The misclassified images keep their clean answer, unattacked; the others are attacked as a smaller batch
                // (an attack's random draws per image derive from its id, so each gets the draws it would get in the whole batch).
                var lines = batchIds.Select(id => cleanLine[id]).ToList();
                if (attacked.Length == 0) return lines;
                using var index = tensor(attacked.Select(i => (long)i).ToArray(), device: x.device);
                var answers = AttackBatch(model, attack, x.index_select(0, index), y.index_select(0, index), attacked.Select(i => batchIds[i]).ToArray());
                for (int k = 0; k < attacked.Length; k++) lines[attacked[k]] = answers[k];
                return lines;
            }, attack.Reporter);
        return Summarise(attacks.Select(a => a.Kind).ToList(), randomised, clean, byAttack);
    }

    /// <summary>
    /// The report of an evaluation from its per-image outcomes (of one run, or of every shard of one): accuracies with
    /// Wilson intervals, the worst case per image, the outcomes in order (attack, then id), and the flags.
    /// </summary>
    public static EvaluationReport Summarise(IReadOnlyList<AttackKind> attacks, bool randomised, IReadOnlyList<OutcomeLine> clean,
                                             IReadOnlyDictionary<string, IReadOnlyList<OutcomeLine>> byAttack)
    {
        var cleanById = clean.OrderBy(l => l.Id).ToList();
        int n = cleanById.Count;
        var cleanPrediction = cleanById.ToDictionary(l => l.Id, l => l.Prediction);
        var correctEverywhere = cleanById.ToDictionary(l => l.Id, l => l.Prediction == l.Label);
        var outcomes = new List<ImageOutcome>();
        var summaries = new List<AttackSummary>();
        foreach (var attack in attacks)
        {
            var lines = byAttack[attack.Name].OrderBy(l => l.Id).ToList();
            if (lines.Count != n || lines.Any(l => !cleanPrediction.ContainsKey(l.Id)))
                throw new InvalidDataException($"{attack.Name}: outcomes for {lines.Count} images, but clean predictions for {n}; they must be the same images.");
            int correct = 0;
            foreach (var l in lines)
            {
                bool ok = l.Prediction == l.Label;
                correct += ok ? 1 : 0;
                correctEverywhere[l.Id] &= ok;
                outcomes.Add(new ImageOutcome((int)l.Id, l.Label, cleanPrediction[l.Id], attack.Name, l.Prediction, l.Linf, l.L2, ok, l.Queries));
            }
            summaries.Add(Summary(attack.Name, correct, n));
        }
        var cleanSummary = Summary("clean", cleanById.Count(l => l.Prediction == l.Label), n);
        var worst = Summary("worst case", correctEverywhere.Values.Count(c => c), n);
        return new EvaluationReport(n, cleanSummary, summaries, worst, outcomes, Flags(cleanSummary, summaries, attacks, randomised));
    }

    /// <summary>One attack on one batch: each image's answer on its adversarial image, the perturbation's norms and the queries spent.</summary>
    static List<OutcomeLine> AttackBatch(Func<Tensor, Tensor> model, NamedAttack attack, Tensor x, Tensor y, long[] ids)
    {
        var adversarial = attack.Perturb(x, y, ids).detach();
        var delta = (adversarial - x).flatten(1);
        var li = delta.abs().amax([1]).cpu().to(ScalarType.Float64).data<double>().ToArray();
        var l2s = delta.norm(1).cpu().to(ScalarType.Float64).data<double>().ToArray();
        var predicted = Predict(model, adversarial);
        var q = attack.Queries?.Invoke();
        var label = y.cpu().data<long>().ToArray();
        return ids.Select((id, i) => new OutcomeLine(id, label[i], predicted[i], li[i], l2s[i], q != null && i < q.Length ? q[i] : 0)).ToList();
    }

    /// <summary>FNV-1a of a job's name: stable across processes, unlike string.GetHashCode.</summary>
    static long StableHash(string text)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in text) { h ^= c; h *= 1099511628211UL; }
        return (long)(h & 0x7FFFFFFFFFFFFFFF);
    }

    static AttackSummary Summary(string name, int correct, int n)
    {
        var (low, high) = Wilson.Interval(correct, n);
        return new AttackSummary(name, correct, n, low, high);
    }

    static long[] Predict(Func<Tensor, Tensor> model, Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model(images).argmax(1).cpu().data<long>().ToArray();
    }

    /// <summary>Warnings in the spirit of AutoAttack's: signs that a number may overstate robustness.</summary>
    static List<string> Flags(AttackSummary clean, List<AttackSummary> results, IReadOnlyList<AttackKind> attacks, bool randomised)
    {
        var flags = new List<string>();
        var byName = attacks.Zip(results).ToList();
        foreach (var (attack, summary) in byName)
            // Above the clean accuracy's Wilson upper bound: more than a randomised defence's draw-to-draw noise.
            if (summary.Accuracy > clean.High + 1e-9 && summary.Count > 0)
                flags.Add($"{attack.Name}: accuracy under attack ({summary.Accuracy:P1}) above clean accuracy ({clean.Accuracy:P1}, 95% upper bound {clean.High:P1}); the attack is not working on this defence.");
        // White-box through the defence itself; transfer attacks differentiate the classifier alone.
        var whiteBox = byName.Where(p => !p.First.QueryOnly && !p.First.L0 && !p.First.Transfer).Select(p => p.Second.Accuracy).DefaultIfEmpty(double.NaN).Min();
        // Pixel (L0) attacks live outside the ε-ball: beating L∞ white-box attacks says nothing about gradients.
        foreach (var (attack, summary) in byName.Where(p => p.First.QueryOnly && !p.First.L0))
            if (!double.IsNaN(whiteBox) && summary.Accuracy < whiteBox - 0.02)
                flags.Add($"{attack.Name} (query-only) beats every white-box attack ({summary.Accuracy:P1} < {whiteBox:P1}): possible gradient masking.");
        // An attack that never sees the recreation doing better than one that differentiates through it: the gradients through it are poor.
        foreach (var (attack, summary) in byName.Where(p => p.First.Transfer))
            if (!double.IsNaN(whiteBox) && summary.Accuracy < whiteBox - 0.02)
                flags.Add($"{attack.Name}, crafted without the defence, beats every white-box attack through it ({summary.Accuracy:P1} < {whiteBox:P1}): possible gradient masking.");
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
