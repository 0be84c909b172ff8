using System.CommandLine;
using Pdnn.Evaluation.Reports;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn evaluate-report`: joins several `pdnn evaluate` runs on the same seeded sample (say, white-box attacks on 500
/// images and the costly query-only ones on its first 50) into one table in the paper's layout, with the worst case over
/// every attack of every run, and the accuracy-vs-ε figure. A run split with `evaluate --shard i/n` is first merged:
/// its shards' journals give, in the run folder, the per-defence files an unsplit run writes, byte for byte.
/// With --compare a,b it compares two defences of the runs image by image instead (<see cref="PairedComparison"/>).
/// </summary>
static class EvaluateReportCommand
{
    public static Command Create()
    {
        var runs = new Option<string>("--runs") { Description = "Comma-separated output folders of pdnn evaluate (a run split with --shard: the --out its shards shared).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for summary.md, accuracy-vs-eps.png and clean-vs-worst-case.png (with --compare: for compare-a-vs-b.md).", Required = true };
        var title = new Option<string>("--title") { Description = "The table's title.", DefaultValueFactory = _ => "Robustness, ε = 8/255 (L∞)" };
        var compare = new Option<string?>("--compare") { Description = "a,b: instead of the joined table, compare two defences of the runs image by image (McNemar's exact test on the images where they disagree), into compare-a-vs-b.md." };
        var command = new Command("evaluate-report", "Join pdnn evaluate runs (merging the shards of a split run) into one table (paper's layout, worst case over every attack) and an accuracy-vs-ε figure; or, with --compare, compare two defences image by image.")
        {
            runs, output, title, compare,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var folders = r.GetValue(runs)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            foreach (var f in folders.Where(f => !Directory.Exists(f))) throw new DirectoryNotFoundException($"--runs: folder '{f}' not found.");
            var pair = r.GetValue(compare)?.Split(',', StringSplitOptions.TrimEntries);
            if (pair is null)
            {
                var table = MergedReport.Write(folders, r.GetValue(output)!, r.GetValue(title)!);
                Console.WriteLine(table);
                AnsiConsole.MarkupLineInterpolated($"wrote summary.md, accuracy-vs-eps.png and clean-vs-worst-case.png in {r.GetValue(output)}");
            }
            else if (pair is [var a, var b] && a.Length > 0 && b.Length > 0 && a != b)
            {
                foreach (var run in folders) DefenceRun.MergeShards(run);
                var comparison = PairedComparison.Markdown(a, b, PairedComparison.Compare(folders, a, b), folders);
                Directory.CreateDirectory(r.GetValue(output)!);
                var file = Path.Combine(r.GetValue(output)!, $"compare-{a}-vs-{b}.md");
                File.WriteAllText(file, comparison);
                Console.WriteLine(comparison);
                AnsiConsole.MarkupLineInterpolated($"wrote {file}");
            }
            else throw new ArgumentException($"--compare '{r.GetValue(compare)}': expected two different defences, e.g. nsr,nsr-srgan.");
            return 0;
        }));
        return command;
    }
}
