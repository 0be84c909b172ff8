using System.CommandLine;
using Pdnn.Evaluation.Reports;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn evaluate-report`: joins several `pdnn evaluate` runs on the same seeded sample (say, white-box attacks on 500
/// images and the costly query-only ones on its first 50) into one table in the paper's layout, with the worst case over
/// every attack of every run, and the accuracy-vs-ε figure. A run split with `evaluate --shard i/n` is first merged:
/// its shards' journals give, in the run folder, the per-defence files an unsplit run writes, byte for byte.
/// </summary>
static class EvaluateReportCommand
{
    public static Command Create()
    {
        var runs = new Option<string>("--runs") { Description = "Comma-separated output folders of pdnn evaluate (a run split with --shard: the --out its shards shared).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for summary.md, accuracy-vs-eps.png and clean-vs-worst-case.png.", Required = true };
        var title = new Option<string>("--title") { Description = "The table's title.", DefaultValueFactory = _ => "Robustness, ε = 8/255 (L∞)" };
        var command = new Command("evaluate-report", "Join pdnn evaluate runs (merging the shards of a split run) into one table (paper's layout, worst case over every attack) and an accuracy-vs-ε figure.")
        {
            runs, output, title,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var folders = r.GetValue(runs)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            foreach (var f in folders.Where(f => !Directory.Exists(f))) throw new DirectoryNotFoundException($"--runs: folder '{f}' not found.");
            var table = MergedReport.Write(folders, r.GetValue(output)!, r.GetValue(title)!);
            Console.WriteLine(table);
            AnsiConsole.MarkupLineInterpolated($"wrote summary.md, accuracy-vs-eps.png and clean-vs-worst-case.png in {r.GetValue(output)}");
            return 0;
        }));
        return command;
    }
}
