using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Pdnn.Attacks.Evaluation;
using Pdnn.Attacks.MLNet;
using Pdnn.Attacks.Reports;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Training;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn evaluate`: each defence is built as the deployed ML.NET chain over the shipped ONNX models, and the
/// <see cref="AttackEvaluator"/> attacks it — white-box attacks through the chain's differentiable twin, query-only
/// attacks against the chain itself — on n uniformly sampled test images. Writes, per defence, results.json,
/// outcomes.csv and summary.md; for the run, summary.md in the paper's layout, accuracy-vs-eps.png and example images.
/// </summary>
static class EvaluateCommand
{
    public static Command Create()
    {
        var defense = new Option<string>("--defense") { Description = "Comma-separated: none, nsr, fir, fs, ss, jpeg, ls, and the adversarially trained resnet-adv (the paper's FGSM recipe), resnet-adv-rs (FGSM-RS), resnet-adv-pgd (PGD-7), nsr-adv, fir-adv (g = 1); or all (every defence whose models are shipped).", DefaultValueFactory = _ => "all" };
        var models = new Option<string?>("--models") { Description = "The models folder (default: the repository's models/)." };
        var grid = new Option<string>("--grid") { Description = "FIR's grid cell sizes g, comma-separated (1, 4, 8).", DefaultValueFactory = _ => "1,4,8" };
        var attacks = new Option<string>("--attacks") { Description = $"Comma-separated: {string.Join(", ", AttackSuite.Names)}.", DefaultValueFactory = _ => "1px,10px,fgsm,pgd,eot-pgd,apgd-ce,apgd-dlr,square" };
        var eps = new Option<string>("--eps") { Description = "L∞ budget, e.g. 8/255.", DefaultValueFactory = _ => "8/255" };
        var n = new Option<int>("--n") { Description = "Uniformly sampled test images.", DefaultValueFactory = _ => 500 };
        var seed = CommonOptions.Seed();
        var steps = new Option<int>("--steps") { Description = "Iterations of PGD, EOT-PGD and APGD.", DefaultValueFactory = _ => 10 };
        var eot = new Option<int>("--eot-samples") { Description = "Draws of the defence's randomness averaged per EOT-PGD step.", DefaultValueFactory = _ => 8 };
        var queries = new Option<int>("--square-queries") { Description = "Query budget of the Square attack.", DefaultValueFactory = _ => 1000 };
        var population = new Option<int>("--de-population") { Description = "Differential evolution population (paper: 400).", DefaultValueFactory = _ => 400 };
        var generations = new Option<int>("--de-generations") { Description = "Differential evolution generations (paper: 100).", DefaultValueFactory = _ => 100 };
        var target = new Option<string>("--query-target") { Description = "What query-only attacks query: chain (the deployed ML.NET/ONNX chain) or twin.", DefaultValueFactory = _ => "chain" };
        var curve = new Option<string>("--eps-curve") { Description = "ε values (in /255) for the accuracy-vs-ε figure under PGD (EOT-PGD for randomised defences); empty: none.", DefaultValueFactory = _ => "0,2,4,8,16,32,64" };
        var curveN = new Option<int>("--curve-n") { Description = "Images for the ε curve (the first of the sample).", DefaultValueFactory = _ => 100 };
        var data = new Option<string?>("--data") { Description = $"Test data (default: the bundled sample, {DemoCommand.SampleFolder})." };
        var device = CommonOptions.Device();
        var output = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => "out/evaluation" };
        var quick = new Option<bool>("--quick")
        {
            Description = "A few minutes on a 2-core CPU (the README's main job): FIR g=4 only, 32 images, DE 40x5, Square-100, ε curve on 16 images; options given explicitly still win.",
        };
        var command = new Command("evaluate", "Accuracy of defences under the paper's and adaptive attacks, with Wilson intervals, sanity flags, an ε curve and example images.")
        {
            defense, models, grid, attacks, eps, n, seed, steps, eot, queries, population, generations, target, curve, curveN, data, device, output, quick,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            // --quick changes the defaults, never a value the user typed.
            T Get<T>(Option<T> option, T quickValue) => r.GetValue(quick) && r.GetResult(option) is null or { Implicit: true } ? quickValue : r.GetValue(option)!;
            var settings = new AttackSettings
            {
                Epsilon = ParseEpsilon(r.GetValue(eps)!), Steps = r.GetValue(steps), EotSamples = r.GetValue(eot), SquareQueries = Get(queries, 100),
                PixelPopulation = Get(population, 40), PixelGenerations = Get(generations, 5), Seed = r.GetValue(seed),
            };
            var names = AttackSuite.Parse(Get(attacks, "1px,10px,fgsm,pgd,eot-pgd,apgd-ce,square"));
            var modelsFolder = r.GetValue(models) ?? ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("the shipped models folder was not found; pass --models.");
            var defences = Defences(r.GetValue(defense)!, Get(grid, "4"), modelsFolder);
            var curveEps = Get(curve, "0,4,8,16,32").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => ParseEpsilon(v + "/255")).ToList();
            bool queryChain = r.GetValue(target) switch { "chain" => true, "twin" => false, var t => throw new ArgumentException($"--query-target '{t}': expected chain or twin.") };
            var modelsDir = modelsFolder;
            var test = CommonOptions.LoadData(r.GetValue(data) ?? DemoCommand.FindSample(), Split.Test, null, noCache: false);
            var outDir = r.GetValue(output)!;
            string commandLine = "pdnn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
            int sampleSize = Get(n, 32);
            var dataName = $"{test.Source} (uniform sample of {Math.Min(sampleSize, test.Count)}, seed {settings.Seed})";
            // Drawn once, as AttackEvaluator would draw them (ImageDataset.Sample is the same draw), so that every
            // evaluator below reads only the images it attacks, not the whole test split again.
            var sample = test.Sample(sampleSize, settings.Seed);
            var curveSample = test.Sample(Math.Min(Get(curveN, 16), sampleSize), settings.Seed);

            var results = new List<DefenceResult>();
            foreach (var (defence, g) in defences)
            {
                var key = defence == "fir" ? $"fir-g{g}" : defence;
                var description = ShippedModels.Describe(defence, g);
                AnsiConsole.MarkupLineInterpolated($"[bold]{description}[/]: {string.Join(", ", names)}; ε = {r.GetValue(eps)}; {Math.Min(sampleSize, test.Count)} images");
                var clock = Stopwatch.StartNew();
                var ml = new MLContext(seed: settings.Seed);
                var view = ml.Data.LoadFromImageDataset(sample);
                var model = ShippedModels.Chain(ml, modelsDir, defence, g, settings.Seed).Fit(view);
                var options = new AttackEvaluatorOptions
                {
                    Attacks = names, Settings = settings, QueryDeployedChain = queryChain, Device = r.GetValue(device)!,
                };
                var evaluator = new AttackEvaluator(model, options);
                if (!evaluator.Twin.Randomised && names.Contains("eot-pgd") && names.Count > 1)
                {
                    // EOT over a deterministic defence averages identical gradients: PGD at 8x the cost.
                    AnsiConsole.MarkupLine("[grey]eot-pgd skipped: this defence draws no randomness, so it equals pgd.[/]");
                    evaluator.Dispose();
                    evaluator = new AttackEvaluator(model, options = options with { Attacks = names.Where(a => a != "eot-pgd").ToList() });
                }
                using var disposeEvaluator = evaluator;
                var report = WithProgress(p => { evaluator.Progress = p; return evaluator.Evaluate(view); });
                var epsCurve = curveEps.Count == 0 ? default : Curve(model, ml.Data.LoadFromImageDataset(curveSample), options, curveEps, evaluator.Twin.Randomised);
                var curvePoints = epsCurve.Points;
                if (curvePoints != null)
                    report = report with { Flags = [.. report.Flags, .. RobustnessEvaluator.EpsilonChecks(curvePoints, epsCurve.Clean,
                        evaluator.Twin.Randomised ? Math.Max(0.02, 1 / Math.Sqrt(Math.Min(Get(curveN, 16), sampleSize))) : 0.02).Select(f => "ε curve: " + f)] };
                var result = new DefenceResult(key, description, evaluator.Twin.Description, report, dataName, commandLine, Hardware.CpuModel(), clock.Elapsed.TotalSeconds, curvePoints);
                EvaluationFiles.Write(Path.Combine(outDir, key), result, settings);
                ExampleImages.Save(Path.Combine(outDir, key, "examples.png"), evaluator.Twin, sample, settings);
                results.Add(result);
                Print(result);
            }
            MergedReport.Write([outDir], outDir, $"Robustness, ε = {r.GetValue(eps)} (L∞)");
            AnsiConsole.MarkupLineInterpolated($"wrote summary.md, accuracy-vs-eps.png and one folder per defence in {outDir}");
            return 0;
        }));
        return command;
    }

    /// <summary>The (defence, grid) pairs to evaluate; fir expands to each grid size.</summary>
    static List<(string Defence, int Grid)> Defences(string list, string grids, string models)
    {
        // "all" means every defence whose models are shipped; one named explicitly must be there (Chain says which file is missing).
        var names = list == "all" ? ShippedModels.Defences.Where(d => ShippedModels.IsShipped(models, d)).ToArray()
            : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var gs = grids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(g => int.TryParse(g, out var v) && v > 0 ? v : throw new ArgumentException($"--grid '{grids}': expected positive integers such as 1,4,8.")).ToList();
        var result = new List<(string, int)>();
        foreach (var d in names)
        {
            if (!ShippedModels.Defences.Contains(d)) throw new ArgumentException($"--defense '{d}': expected one of {string.Join(", ", ShippedModels.Defences)} or all.");
            result.AddRange(d == "fir" ? gs.Select(g => (d, g)) : [(d, 1)]);
        }
        return result;
    }

    /// <summary>Accuracy under PGD (EOT-PGD when the defence is randomised) at each ε, on the first images of the sample.</summary>
    /// <remarks>Also returns the clean accuracy on the same images, which the ε = 0 check compares with.</remarks>
    static (List<(double, double)> Points, double Clean) Curve(ITransformer model, IDataView view, AttackEvaluatorOptions options, List<double> epsilons, bool randomised)
    {
        double clean = 0;
        var points = epsilons.Select(e =>
        {
            var at = options with { Attacks = [randomised ? "eot-pgd" : "pgd"], Settings = options.Settings with { Epsilon = e } };
            using var evaluator = new AttackEvaluator(model, at);
            var report = WithProgress(p => { evaluator.Progress = p; return evaluator.Evaluate(view); }, $" (ε = {e * 255:0.#}/255)");
            clean = report.Clean.Accuracy;
            return (e, report.Attacks[0].Accuracy);
        }).ToList();
        return (points, clean);
    }

    /// <summary>Runs <paramref name="work"/> with a progress bar per attack (plain lines when the output is not a terminal).</summary>
    static EvaluationReport WithProgress(Func<Action<string, int, int>, EvaluationReport> work, string suffix = "")
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
            return work((attack, done, total) => { if (done == total) AnsiConsole.MarkupLineInterpolated($"  {attack}{suffix}: {total} images done"); });
        EvaluationReport? report = null;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                report = work((attack, done, total) =>
                {
                    if (!tasks.TryGetValue(attack, out var task)) tasks[attack] = task = ctx.AddTask(attack + suffix, maxValue: total);
                    task.Value = done;
                });
            });
        return report!;
    }

    static void Print(DefenceResult result)
    {
        var table = new Table().AddColumns("", "accuracy", "Wilson 95%");
        foreach (var s in new[] { result.Report.Clean }.Concat(result.Report.Attacks).Append(result.Report.WorstCase))
            table.AddRow(s.Attack, s.Accuracy.ToString("P1", CultureInfo.InvariantCulture), $"{s.Low:P1} – {s.High:P1}");
        AnsiConsole.Write(table);
        foreach (var flag in result.Report.Flags) AnsiConsole.MarkupLineInterpolated($"[yellow]flag:[/] {flag}");
    }

    public static double ParseEpsilon(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && double.TryParse(parts[0], CultureInfo.InvariantCulture, out var a) && double.TryParse(parts[1], CultureInfo.InvariantCulture, out var b) && b > 0 && a >= 0)
            return a / b;
        if (parts.Length == 1 && double.TryParse(text, CultureInfo.InvariantCulture, out var v) && v >= 0) return v;
        throw new ArgumentException($"ε '{text}': expected a non-negative number or a fraction such as 8/255.");
    }
}
