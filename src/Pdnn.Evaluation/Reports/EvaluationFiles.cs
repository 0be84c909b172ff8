using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pdnn.Evaluation.Reports;

/// <summary>One defence's evaluation, with what is needed to reproduce it; <paramref name="Seconds"/>: time spent on its units of work (summed over resumed runs and shards).</summary>
public sealed record DefenceResult(string Defence, string Description, string Twin, EvaluationReport Report, string Data, string Command,
                                   string Hardware, double Seconds, IReadOnlyList<(double Epsilon, double Accuracy)>? Curve = null);

/// <summary>Writes evaluations as JSON (summary, flags, settings), CSV (one row per image and attack) and Markdown tables in the paper's layout.</summary>
public static class EvaluationFiles
{
    static string Percent(AttackSummary s) => string.Create(CultureInfo.InvariantCulture, $"{100 * s.Accuracy:F1} [{100 * s.Low:F1}, {100 * s.High:F1}]");

    /// <summary>The paper's columns first (test acc, 1px, 10px, FGSM, PGD), then the transfer, adaptive and query-only ones, then the worst case.</summary>
    static IEnumerable<AttackSummary> Ordered(EvaluationReport r) =>
        r.Attacks.Select((a, i) => (a, i)).OrderBy(p => (AttackSuite.ColumnRank(p.a.Attack), p.i)).Select(p => p.a);

    public static void Write(string dir, DefenceResult result, AttackSettings settings)
    {
        Directory.CreateDirectory(dir);
        var r = result.Report;
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(new
        {
            result.Defence, result.Description, result.Twin, result.Data, result.Command, result.Hardware, WallSeconds = Math.Round(result.Seconds, 1),
            Settings = settings, r.Count, r.Clean, r.Attacks, r.WorstCase, r.Flags,
            EpsilonCurve = result.Curve?.Select(p => new { p.Epsilon, p.Accuracy }),
        }, new JsonSerializerOptions { WriteIndented = true }));
        var csv = new StringBuilder("index,label,clean_prediction,attack,adversarial_prediction,linf,l2,queries,correct\n");
        foreach (var o in r.Outcomes)
            csv.Append(CultureInfo.InvariantCulture, $"{o.Index},{o.Label},{o.CleanPrediction},{o.Attack},{o.AdversarialPrediction},{o.LinfNorm:F6},{o.L2Norm:F6},{o.Queries},{o.Correct}\n");
        File.WriteAllText(Path.Combine(dir, "outcomes.csv"), csv.ToString());
        File.WriteAllText(Path.Combine(dir, "summary.md"), Table([result]) + (settings.SkipMisclassified ? $"\n{MergedReport.SkipNote}\n" : "")
            + $"\n{result.Data}; {result.Hardware}; {result.Seconds / 60:F1} min.\n\nTwin: {result.Twin}\n\nCommand: `{result.Command}`\n");
    }

    /// <summary>A Markdown table of several defences (rows), attacks in the paper's order, accuracy % [Wilson 95%], then the flags.</summary>
    public static string Table(IReadOnlyList<DefenceResult> results)
    {
        var columns = results.SelectMany(x => Ordered(x.Report).Select(a => a.Attack)).Distinct().ToList();
        var md = new StringBuilder($"| defence | n | test acc | {string.Join(" | ", columns)} | worst case |\n");
        md.Append($"|---|---|---|{string.Concat(columns.Select(_ => "---|"))}---|\n");
        foreach (var x in results)
        {
            var cells = columns.Select(c => x.Report.Attacks.FirstOrDefault(a => a.Attack == c) is { } s ? Percent(s) : "–");
            md.Append($"| {x.Description} | {x.Report.Count} | {Percent(x.Report.Clean)} | {string.Join(" | ", cells)} | {Percent(x.Report.WorstCase)} |\n");
        }
        var flags = results.SelectMany(x => x.Report.Flags.Select(f => $"- {x.Defence}: {f}")).ToList();
        if (flags.Count > 0) md.Append("\nFlags:\n\n" + string.Join("\n", flags) + "\n");
        return md.ToString();
    }
}
