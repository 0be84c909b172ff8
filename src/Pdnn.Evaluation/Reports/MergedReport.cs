using System.Globalization;
using System.Text;
using System.Text.Json;
using Pdnn.Data;
using Pdnn.Figures;

namespace Pdnn.Evaluation.Reports;

/// <summary>One defence's stored evaluation (a folder written by <see cref="EvaluationFiles.Write"/>).</summary>
public sealed record StoredResult(string Folder, string Defence, string Description, int Count, AttackSummary Clean,
                                  IReadOnlyList<AttackSummary> Attacks, IReadOnlyList<string> Flags,
                                  IReadOnlyList<(double Epsilon, double Accuracy)> Curve, string Command, string Data, string Hardware,
                                  bool SkipMisclassified = false)
{
    public static StoredResult Read(string folder)
    {
        var path = Path.Combine(folder, "results.json");
        var json = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        AttackSummary Summary(JsonElement e) => new(e.GetProperty("Attack").GetString()!, e.GetProperty("Correct").GetInt32(), e.GetProperty("Count").GetInt32(),
                                                    e.GetProperty("Low").GetDouble(), e.GetProperty("High").GetDouble());
        var curve = json.TryGetProperty("EpsilonCurve", out var c) && c.ValueKind == JsonValueKind.Array
            ? c.EnumerateArray().Select(p => (p.GetProperty("Epsilon").GetDouble(), p.GetProperty("Accuracy").GetDouble())).ToList() : [];
        return new StoredResult(folder, json.GetProperty("Defence").GetString()!, json.GetProperty("Description").GetString()!, json.GetProperty("Count").GetInt32(),
            Summary(json.GetProperty("Clean")), json.GetProperty("Attacks").EnumerateArray().Select(Summary).ToList(),
            json.GetProperty("Flags").EnumerateArray().Select(f => f.GetString()!).ToList(), curve,
            json.GetProperty("Command").GetString()!, json.GetProperty("Data").GetString()!, json.GetProperty("Hardware").GetString()!,
            json.TryGetProperty("Settings", out var settings) && settings.TryGetProperty(nameof(AttackSettings.SkipMisclassified), out var skip) && skip.GetBoolean());
    }

    /// <summary>Every defence's stored evaluation in the run folders <paramref name="runs"/> (each a folder with results.json).</summary>
    public static List<StoredResult> ReadAll(IEnumerable<string> runs) =>
        runs.SelectMany(run => Directory.GetDirectories(run).Where(d => File.Exists(Path.Combine(d, "results.json")))).Select(Read).ToList();

    /// <summary>Per measure ("clean", then each attack by its column name), per image (index in the seeded uniform
    /// sample): correct or not.</summary>
    public Dictionary<string, Dictionary<int, bool>> OutcomesByAttack()
    {
        var result = new Dictionary<string, Dictionary<int, bool>> { ["clean"] = [] };
        foreach (var line in File.ReadLines(Path.Combine(Folder, "outcomes.csv")).Skip(1))
        {
            // index,label,clean_prediction,attack,adversarial_prediction,linf,l2,queries,correct
            var f = line.Split(',');
            int index = int.Parse(f[0], CultureInfo.InvariantCulture);
            result["clean"][index] = f[1] == f[2];
            var attack = string.Join(',', f[3..^5]);
            if (!result.TryGetValue(attack, out var byImage)) result[attack] = byImage = [];
            byImage[index] = bool.Parse(f[^1]);
        }
        return result;
    }

    /// <summary>Per image (index in the seeded uniform sample): correct when clean, and under each attack.</summary>
    public Dictionary<int, List<bool>> Outcomes()
    {
        var result = new Dictionary<int, List<bool>>();
        foreach (var byImage in OutcomesByAttack().Values)
            foreach (var (index, correct) in byImage)
            {
                if (!result.TryGetValue(index, out var list)) result[index] = list = [];
                list.Add(correct);
            }
        return result;
    }
}

/// <summary>
/// Joins the evaluations of several runs on the same seeded sample (e.g. white-box attacks on 500 images and the costly
/// query-only ones on its first 50) into one table in the paper's layout, per defence: every attack's accuracy with
/// its own n, the worst case of each run, and the worst case over every attack of every run on the images they share —
/// the number that survives the strongest attack we have. Also the accuracy-vs-ε figure.
/// </summary>
public static class MergedReport
{
    static readonly Dictionary<string, string> Short = new()
    {
        ["none"] = "ResNet-20", ["nsr"] = "NSR", ["nsr-srgan"] = "NSR (SRGAN)", ["fir-g1"] = "FIR g=1", ["fir-g4"] = "FIR g=4", ["fir-g8"] = "FIR g=8",
        ["fs"] = "FS", ["ss"] = "SS", ["jpeg"] = "JPEG", ["ls"] = "LS",
    };

    static string Cell(AttackSummary s, bool showN) =>
        string.Create(CultureInfo.InvariantCulture, $"{100 * s.Accuracy:F1} [{100 * s.Low:F1}, {100 * s.High:F1}]{(showN ? $" (n={s.Count})" : "")}");

    /// <summary>
    /// Reads every defence folder under each run folder (with <paramref name="mergeShards"/>, first merging the shards of
    /// a run split with --shard, see <see cref="DefenceRun.MergeShards"/>); writes summary.md, accuracy-vs-eps.png and
    /// clean-vs-worst-case.png into <paramref name="outDir"/>.
    /// </summary>
    public static string Write(IReadOnlyList<string> runs, string outDir, string title, bool mergeShards = true)
    {
        if (mergeShards)
            foreach (var run in runs) DefenceRun.MergeShards(run);
        var byDefence = StoredResult.ReadAll(runs)
            .GroupBy(r => r.Defence).OrderBy(g => Array.IndexOf([.. Short.Keys], g.Key) is var i && i < 0 ? 99 : i).ToList();
        if (byDefence.Count == 0) throw new DirectoryNotFoundException($"no results.json under {string.Join(", ", runs)}.");
        var columns = byDefence.SelectMany(g => g.SelectMany(r => r.Attacks.Select(a => a.Attack))).Distinct()
            .Select((a, i) => (a, i)).OrderBy(p => (AttackSuite.ColumnRank(p.a), p.i)).Select(p => p.a).ToList();
        bool multi = byDefence.Any(g => g.Count() > 1);
        var md = new StringBuilder($"# {title}\n\n");
        md.Append($"| defence | test acc | {string.Join(" | ", columns)} | worst case{(multi ? " per run | worst case, every attack" : "")} |\n");
        md.Append($"|---|---|{string.Concat(columns.Select(_ => "---|"))}---|{(multi ? "---|" : "")}\n");
        var points = new List<ScatterPlot.Item>();
        foreach (var g in byDefence)
        {
            // The worst case over every run pairs images by their place in the sample: only runs on one data and seed.
            if (g.Select(r => PairedComparison.SampleFamily(r.Data)).Distinct().Count() > 1)
                throw new ArgumentException($"the runs of '{g.Key}' were evaluated on different data or seeds ({string.Join("; ", g.Select(r => $"{r.Folder}: {r.Data}"))}); join runs of one sample only.");
            var main = g.OrderByDescending(r => r.Count).First();
            var cells = columns.Select(c => g.SelectMany(r => r.Attacks).FirstOrDefault(a => a.Attack == c) is { } s ? Cell(s, s.Count != main.Count) : "–");
            var outcomes = g.Select(r => r.Outcomes()).ToList(); // read each run's CSV once
            var worstCases = outcomes.Select(WorstCase).ToList();
            var worst = g.Zip(worstCases, (r, w) => Cell(w, r.Count != main.Count));
            var mainWorst = worstCases[g.ToList().IndexOf(main)];
            points.Add(new(Short.GetValueOrDefault(g.Key, g.Key), 100 * main.Clean.Accuracy, 100 * main.Clean.Low, 100 * main.Clean.High,
                           100 * mainWorst.Accuracy, 100 * mainWorst.Low, 100 * mainWorst.High));
            md.Append($"| {g.First().Description}{(g.Any(r => r.SkipMisclassified) ? " ‡" : "")} | {Cell(main.Clean, false)} (n={main.Count}) | {string.Join(" | ", cells)} | {string.Join("; ", worst)} |");
            if (multi)
            {
                // Images every run evaluated: the seeded sample's first min(n) (a smaller sample is a prefix of a larger one).
                int shared = g.Min(r => r.Count);
                int correct = Enumerable.Range(0, shared).Count(i => outcomes.All(o => o[i].All(ok => ok)));
                var (low, high) = Wilson.Interval(correct, shared);
                md.Append($" {Cell(new AttackSummary("all", correct, shared, low, high), true)} |");
            }
            md.Append('\n');
        }
        md.Append($"\nAccuracy % [Wilson 95%], L∞ ε = 8/255 for FGSM, PGD, EOT-PGD, APGD and Square; the pixel attacks may set their pixels to any value. " +
                  "FGSM and PGD differentiate the whole defence, with one draw of its randomness per step (no EOT); \"transfer from C\": crafted on the " +
                  "defence's classifier alone, without its recreation or pre-processing, then passed through the whole defence (the grey-box setting). " +
                  "Worst case: correct on the clean image and under every attack (for a randomised defence the clean prediction is one draw)." +
                  (byDefence.Any(g => g.Any(r => r.SkipMisclassified)) ? " " + SkipNote : "") + "\n");
        var flags = byDefence.SelectMany(g => g.SelectMany(r => r.Flags.Select(f => $"- {g.Key} ({Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(r.Folder).TrimEnd(Path.DirectorySeparatorChar)))}): {f}"))).Distinct().ToList();
        md.Append(flags.Count > 0 ? "\nFlags raised by the runs:\n\n" + string.Join("\n", flags) + "\n" : "\nNo run raised a flag.\n");
        md.Append("\nRuns:\n\n" + string.Join("\n", byDefence.SelectMany(g => g).Select(r => r.Command).Distinct().Select(c => $"- `{c}`")) + "\n");
        md.Append($"\nData: {string.Join("; ", byDefence.SelectMany(g => g).Select(r => r.Data).Distinct())}. Hardware: {string.Join("; ", byDefence.SelectMany(g => g).Select(r => r.Hardware).Distinct())}.\n");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "summary.md"), md.ToString());

        var curves = byDefence.Select(g => (Name: Short.GetValueOrDefault(g.Key, g.Key), Curve: g.FirstOrDefault(r => r.Curve.Count > 0)?.Curve)).Where(c => c.Curve != null).ToList();
        if (curves.Count > 0)
        {
            // ε values evenly spaced (they usually double), labelled with their value.
            var epsilons = curves.SelectMany(c => c.Curve!.Select(p => p.Epsilon)).Distinct().Order().ToList();
            LinePlot.SavePng(Path.Combine(outDir, "accuracy-vs-eps.png"), "Accuracy under PGD-10 (EOT-PGD for randomised defences)", "ε (/255)", "accuracy %",
                curves.Select(c => (c.Name, (IReadOnlyList<(double, double)>)c.Curve!.Select(p => ((double)epsilons.IndexOf(p.Epsilon), 100 * p.Accuracy)).ToList())).ToList(),
                xTicks: Enumerable.Range(0, epsilons.Count).Select(i => (double)i).ToList(),
                xTickLabel: i => (epsilons[(int)i] * 255).ToString("0.#", CultureInfo.InvariantCulture));
        }
        // The trade-off a reader compares defences by (issue 9's frontier), on each defence's largest run: the one with
        // the most images and the tightest intervals; its gradient attacks are the binding ones here.
        ScatterPlot.SavePng(Path.Combine(outDir, "clean-vs-worst-case.png"), "Clean accuracy and worst case (each defence's largest run)",
            "clean accuracy % (Wilson 95% interval)", "worst case %: correct under every attack", points);
        return md.ToString();
    }

    /// <summary>The footnote of a row whose attacks ran on its correctly classified images only.</summary>
    public const string SkipNote = "‡: attacked only where the clean prediction was correct (`--skip-misclassified`, AutoAttack's protocol); a misclassified " +
                                   "image counts as wrong under every attack, so each column is \"correct clean and under this attack\"; the worst case is the same as without.";

    static AttackSummary WorstCase(Dictionary<int, List<bool>> outcomes)
    {
        int n = outcomes.Count, correct = outcomes.Count(o => o.Value.All(ok => ok));
        var (low, high) = Wilson.Interval(correct, n);
        return new AttackSummary("worst case", correct, n, low, high);
    }
}
