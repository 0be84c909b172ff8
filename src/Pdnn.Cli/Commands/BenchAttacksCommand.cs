using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Pdnn.Attacks.Attacks;
using Pdnn.Attacks.Twins;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.Torch.Devices;
using Spectre.Console;
using static TorchSharp.torch;

namespace Pdnn.Cli.Commands;

/// <summary>
/// Attack throughput on the shipped defences: PGD-10 images/s through each defence's twin (forward + backward, 10 steps),
/// and differential-evolution queries/s against the twin and against the deployed ML.NET chain, one image's population
/// per model call (as before batching across images) and the populations of --de-images images stacked, beside the
/// plain inference throughput that bounds it.
/// </summary>
static class BenchAttacksCommand
{
    public static Command Create()
    {
        var defense = new Option<string>("--defense") { Description = "Comma-separated defences (none, nsr, fir, fs, ss, jpeg).", DefaultValueFactory = _ => "none,nsr,fir" };
        var n = new Option<int>("--n") { Description = "Images per timed pass.", DefaultValueFactory = _ => 100 };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes; the median is reported.", DefaultValueFactory = _ => 3 };
        var device = CommonOptions.Device();
        var results = new Option<string?>("--results") { Description = "Append Markdown table rows to this file." };
        var deImages = new Option<int>("--de-images") { Description = "Images whose DE populations are stacked into one model call.", DefaultValueFactory = _ => 8 };
        var population = new Option<int>("--de-population") { Description = "DE population per image (paper: 400; evaluate --quick: 40).", DefaultValueFactory = _ => 400 };
        var generations = new Option<int>("--de-generations") { Description = "DE generations timed (after the initial population).", DefaultValueFactory = _ => 1 };
        var queryBatch = new Option<int>("--query-batch") { Description = "Most candidate images per model call when stacked.", DefaultValueFactory = _ => 1024 };
        var skipPgd = new Option<bool>("--no-pgd") { Description = "Measure differential evolution only." };
        var deTarget = new Option<string>("--de-target") { Description = "What DE queries: twin, chain (the deployed ML.NET chain) or both.", DefaultValueFactory = _ => "both" };
        var command = new Command("bench-attacks", "Images/s of PGD-10 through each defence's twin and queries/s of differential evolution (twin and deployed chain).")
        {
            defense, n, repeats, device, results, deImages, population, generations, queryBatch, skipPgd, deTarget,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var choice = TorchDevice.Resolve(r.GetValue(device)!);
            var models = ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("the shipped models folder was not found.");
            var test = DatasetLoader.Load(DemoCommand.FindSample(), Split.Test).Sample(r.GetValue(n), 0);
            var ml = new MLContext(seed: 0);
            var view = ml.Data.LoadFromImageDataset(test);
            var pixels = Enumerable.Range(0, test.Count).SelectMany(i => test.Image(i).ToArray()).Select(b => b / 255f).ToArray();
            var x = tensor(pixels, [test.Count, 3, 32, 32]).to(choice.Device);
            var y = tensor(test.Labels.Select(l => (long)l).ToArray()).to(choice.Device);
            var rows = new List<(string Defence, string Measure, double Value, string Unit)>();

            // One untimed run first: the first passes of a process pay for allocator and thread-pool warm-up
            // (measured here: the first defence timed ran at half speed without it).
            double Median(Func<double> run)
            {
                run();
                int k = Math.Max(1, r.GetValue(repeats));
                return Enumerable.Range(0, k).Select(_ => run()).Order().ElementAt(k / 2);
            }
            // Measures compared with each other are timed in turns (a, b, c, a, b, c, …), so a change in the machine's
            // load during the run falls on all of them alike.
            double[] Medians(IReadOnlyList<Func<double>> runs)
            {
                foreach (var run in runs) run();
                int k = Math.Max(1, r.GetValue(repeats));
                var times = runs.Select(_ => new List<double>()).ToList();
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < runs.Count; j++) times[j].Add(runs[j]());
                return times.Select(t => t.Order().ElementAt(k / 2)).ToArray();
            }
            foreach (var d in r.GetValue(defense)!.Split(',', StringSplitOptions.TrimEntries))
            {
                var model = ShippedModels.Chain(ml, models, d, 4).Fit(view);
                using var twin = ChainTwin.FromChain(model, choice.Device);
                var name = ShippedModels.Describe(d, 4);
                if (!r.GetValue(skipPgd))
                    rows.Add((name, "PGD-10 through the twin", Median(() =>
                    {
                        var clock = Stopwatch.StartNew();
                        using var scope = NewDisposeScope();
                        new Pgd(twin.Logits, 8.0 / 255, 2.0 / 255, 10).Perturb(x, y).cpu();
                        return test.Count / clock.Elapsed.TotalSeconds;
                    }), "images/s"));
                var deployed = new DeployedScorer(model, "Image", twin.Shape);
                int k = Math.Min(r.GetValue(deImages), test.Count), chunk = r.GetValue(queryBatch), gens = r.GetValue(generations), pop = r.GetValue(population);
                var targets = new (string Name, Func<Tensor, Tensor> Query)[] { ("twin", twin.Logits), ("deployed ML.NET chain", deployed.LogProbabilities) };
                foreach (var (target, query) in r.GetValue(deTarget) switch
                {
                    "both" => targets, "twin" => targets[..1], "chain" => targets[1..],
                    var t => throw new ArgumentException($"--de-target '{t}': expected twin, chain or both."),
                })
                {
                    // The ceiling: the same model scoring full batches of images, no attack around it.
                    using var batch = x.narrow(0, 0, k).repeat(Math.Max(1, Math.Min(chunk, pop * k) / k), 1, 1, 1);
                    double Inference()
                    {
                        var clock = Stopwatch.StartNew();
                        using var scope = NewDisposeScope();
                        using (no_grad()) query(batch).cpu();
                        return batch.shape[0] / clock.Elapsed.TotalSeconds;
                    }
                    Func<double> Pixel(int perCall) => () =>
                    {
                        var attack = new PixelAttack(query, 1, population: pop, generations: gens, imagesPerCall: perCall, maxQueryBatch: chunk);
                        var clock = Stopwatch.StartNew();
                        using var scope = NewDisposeScope();
                        attack.Perturb(x.narrow(0, 0, k), y.narrow(0, 0, k));
                        return attack.Queries / clock.Elapsed.TotalSeconds;
                    };
                    var measured = Medians([Inference, Pixel(1), Pixel(k)]);
                    rows.Add((name, $"inference, batches of {batch.shape[0]}, {target}", measured[0], "images/s"));
                    rows.Add((name, $"1px DE (population {pop}), 1 image per model call, {target}", measured[1], "queries/s"));
                    rows.Add((name, $"1px DE (population {pop}), {k} images stacked per model call (at most {chunk}), {target}", measured[2], "queries/s"));
                }
                foreach (var row in rows.Where(row => row.Defence == name))
                    AnsiConsole.MarkupLineInterpolated($"{row.Defence,-42} {row.Measure,-50} {row.Value,10:F1} {row.Unit}");
            }
            var hardware = choice.IsCuda ? choice.Description : Hardware.CpuModel() + $", {Environment.ProcessorCount} logical cores";
            AnsiConsole.MarkupLineInterpolated($"[grey]{test.Count} images of {test.Source} (DE: the first {Math.Min(r.GetValue(deImages), test.Count)}, {r.GetValue(generations)} generation(s) after the first); TorchSharp on {choice.Description}; {hardware}[/]");
            if (r.GetValue(results) is { } file)
                File.AppendAllLines(file, rows.Select(t => string.Create(CultureInfo.InvariantCulture,
                    $"| {DateTime.UtcNow:yyyy-MM-dd} | {t.Defence} | {t.Measure} | {t.Value:F1} {t.Unit} | {hardware} |")));
            return 0;
        }));
        return command;
    }
}
