using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MathNet.Numerics.Distributions;

namespace Pdnn.Evaluation.Reports;

/// <summary>One measure (clean, an attack, a worst case) of two defences on the same images.</summary>
/// <param name="OnlyA">Images defence A gets right and B does not.</param>
/// <param name="P">Exact two-sided McNemar test of "A and B are equally accurate here".</param>
public sealed record PairedRow(string Measure, string Runs, int Images, int CorrectA, int CorrectB, int OnlyA, int OnlyB, double P);

/// <summary>
/// Two defences compared image by image on the same seeded sample. Their Wilson intervals overlap for differences that
/// a paired test resolves: both were run on the same images, so only the images where they disagree carry information
/// about which is better. McNemar's exact test: if both are equally accurate, each disagreement goes either way with
/// probability ½. Runs are paired when they evaluated the same images with an attack in common; runs of different size
/// meet only in the worst case over every run, on the images they share (a smaller seeded sample is a prefix of a larger
/// one, as in <see cref="MergedReport"/>). For a randomised defence each run's clean prediction is its own draw.
/// </summary>
public static partial class PairedComparison
{
    /// <summary>Two-sided exact McNemar p: twice the binomial tail of the rarer disagreement, capped at 1.</summary>
    public static double McNemarP(int onlyA, int onlyB)
    {
        int disagreements = onlyA + onlyB;
        return disagreements == 0 ? 1 : Math.Min(1, 2 * Binomial.CDF(0.5, disagreements, Math.Min(onlyA, onlyB)));
    }

    /// <summary>
    /// Every measure the two defences share, per pair of their runs on the same sample (data, seed and size) with an
    /// attack in common: clean, each attack both ran, and each one's worst case in that run (over its own attacks); then,
    /// where either has several runs on samples of that data and seed, the worst case over every attack of all of them,
    /// on the images they share.
    /// </summary>
    public static IReadOnlyList<PairedRow> Compare(IReadOnlyList<string> runs, string a, string b)
    {
        var stored = StoredResult.ReadAll(runs);
        foreach (var defence in new[] { a, b }.Where(d => stored.All(r => r.Defence != d)))
            throw new ArgumentException($"--compare: no evaluation of '{defence}' under {string.Join(", ", runs)} (found: {string.Join(", ", stored.Select(r => r.Defence).Distinct())}).");
        var rows = new List<PairedRow>();
        // Only runs on one sample pair up: the same data and seed (images are paired by their place in the sample).
        foreach (var family in stored.Where(r => r.Defence == a || r.Defence == b).GroupBy(r => SampleFamily(r.Data)))
        {
            var runsA = family.Where(r => r.Defence == a).ToList();
            var runsB = family.Where(r => r.Defence == b).ToList();
            var outcomes = family.ToDictionary(r => r, r => r.OutcomesByAttack());
            foreach (var ra in runsA)
                foreach (var rb in runsB.Where(rb => rb.Count == ra.Count)) // runs of another size: in the last row only
                {
                    var (oa, ob) = (outcomes[ra], outcomes[rb]);
                    // Runs of different kinds (say, query-only against white-box) have no attack in common and their
                    // worst cases measure different things: not paired.
                    if (!oa.Keys.Any(m => m != "clean" && ob.ContainsKey(m))) continue;
                    string name = RunName(ra) == RunName(rb) ? RunName(ra) : $"{RunName(ra)} / {RunName(rb)}";
                    foreach (var measure in oa.Keys.Where(ob.ContainsKey))
                        rows.Add(Row(measure, name, oa[measure], ob[measure]));
                    rows.Add(Row("worst case", name, WorstCase(oa.Values), WorstCase(ob.Values)));
                }
            if (runsA.Count > 0 && runsB.Count > 0 && (runsA.Count > 1 || runsB.Count > 1))
                rows.Add(Row("worst case, every attack of every run", string.Join(", ", family.Select(RunName).Distinct()),
                             WorstCase(runsA.SelectMany(r => outcomes[r].Values)), WorstCase(runsB.SelectMany(r => outcomes[r].Values))));
        }
        if (rows.Count == 0)
            throw new ArgumentException($"--compare: '{a}' and '{b}' were never evaluated on the same sample (same data and seed) under {string.Join(", ", runs)}; a paired comparison needs the same images.");
        return rows;
    }

    /// <summary>The comparison as Markdown: one row per measure, with the counts the test is made of.</summary>
    public static string Markdown(string a, string b, IReadOnlyList<PairedRow> rows, IReadOnlyList<string> runs)
    {
        var md = new StringBuilder($"# {a} against {b}, image by image\n\n");
        md.Append($"| measure | run | images | {a} % | {b} % | only {a} right | only {b} right | McNemar p (exact, two-sided) |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
            md.Append(CultureInfo.InvariantCulture, $"| {r.Measure} | {r.Runs} | {r.Images} | {100.0 * r.CorrectA / r.Images:F1} | {100.0 * r.CorrectB / r.Images:F1} | {r.OnlyA} | {r.OnlyB} | {(r.P < 1e-4 ? "< 0.0001" : r.P.ToString("0.####", CultureInfo.InvariantCulture))} |\n");
        md.Append("\nOnly the images where the two disagree count: if both were equally accurate each disagreement would go either way " +
                  "with probability ½. Runs are paired when they evaluated the same images with at least one attack in common; a worst case " +
                  "is over each defence's own attacks in that run. The last row joins every run of each on the images all of them share " +
                  "(the smallest sample's); for a randomised defence each run's clean prediction is its own draw.\n");
        md.Append($"\nRuns: {string.Join(", ", runs.Select(r => $"`{r}`"))}.\n");
        return md.ToString();
    }

    static PairedRow Row(string measure, string runs, Dictionary<int, bool> a, Dictionary<int, bool> b)
    {
        var shared = a.Keys.Where(b.ContainsKey).ToList();
        int onlyA = shared.Count(i => a[i] && !b[i]), onlyB = shared.Count(i => !a[i] && b[i]);
        return new PairedRow(measure, runs, shared.Count, shared.Count(i => a[i]), shared.Count(i => b[i]), onlyA, onlyB, McNemarP(onlyA, onlyB));
    }

    /// <summary>Per image: correct under every measure that covers it, on the images every measure covers.</summary>
    static Dictionary<int, bool> WorstCase(IEnumerable<Dictionary<int, bool>> measures)
    {
        var all = measures.ToList();
        return all[0].Keys.Where(i => all.All(m => m.ContainsKey(i))).ToDictionary(i => i, i => all.All(m => m[i]));
    }

    static string RunName(StoredResult r) => Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(r.Folder).TrimEnd(Path.DirectorySeparatorChar)))!;

    /// <summary>The data and seed, without the sample's size: "X (uniform sample of 500, seed 0)" → "X (seed 0)". A smaller
    /// seeded sample is a prefix of a larger one, so runs of one family pair on the images they share.</summary>
    public static string SampleFamily(string data) => SampleSize().Replace(data, "");

    [GeneratedRegex(@"uniform sample of \d+, ")]
    private static partial Regex SampleSize();
}
