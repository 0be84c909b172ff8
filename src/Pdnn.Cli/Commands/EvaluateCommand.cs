using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Pdnn.Data;
using Pdnn.Data.Readers;
using Pdnn.Evaluation;
using Pdnn.Evaluation.MLNet;
using Pdnn.Evaluation.Reports;
using Pdnn.MLNet;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn evaluate`: each defence is built as the deployed ML.NET chain over the shipped ONNX models, and the
/// <see cref="AttackEvaluator"/> attacks it — white-box attacks through the chain's differentiable twin, query-only
/// attacks against the chain itself — on n uniformly sampled test images. Writes, per defence, the per-image outcomes
/// as each unit of work finishes (journal/), then results.json, outcomes.csv and summary.md derived from them; for the
/// run, summary.md in the paper's layout, accuracy-vs-eps.png, clean-vs-worst-case.png and example images. A killed run continues with --resume;
/// --shard i/n evaluates one slice, and evaluate-report merges the slices (see <see cref="DefenceRun"/>).
/// </summary>
static class EvaluateCommand
{
    public static Command Create()
    {
        var defense = new Option<string>("--defense") { Description = "Comma-separated: none, nsr, fir, fs, ss, jpeg, ls, and the adversarially trained resnet-adv (the paper's FGSM recipe), resnet-adv-rs (FGSM-RS), resnet-adv-rs-cpu45 (FGSM-RS trained within 45 min on a 2-core CPU), resnet-adv-n-fgsm (N-FGSM), resnet-adv-n-fgsm-cpu45 (N-FGSM, 18 epochs in 46.7 min on a 2-core CPU), resnet-adv-pgd (PGD-7), nsr-adv, fir-adv (g = 1); or all (every defence whose models are shipped). Also, not in all, the paper's ablations: sr (NSR's generator without noise), nsr-gaussian, nsr-sp (one kind of noise), each with the T classifier or, suffixed -plain (also nsr-plain), the plain ResNet-20 (Table 3); pruned (ResNet-20 pruned 80%, Table 1); resnet-adv-fgsm-pure (FGSM training without clean loss: the paper's ResNetadv failure, catastrophic overfitting); nsr-srgan (NSR with the SRGAN-refined generator and its T classifier; measured no more robust than NSR); the other adversarial recipes: resnet-adv-rs30 (FGSM-RS, 30 epochs), nsr-adv-scratch and fir-adv-scratch (classifier adversarially trained through the φDNN from random weights), nsr-adv-craft-classifier (the same, examples crafted on the classifier alone).", DefaultValueFactory = _ => "all" };
        var models = new Option<string?>("--models") { Description = "The models folder (default: the repository's models/)." };
        var grid = new Option<string>("--grid") { Description = "FIR's grid cell sizes g, comma-separated (1, 4, 8).", DefaultValueFactory = _ => "1,4,8" };
        var attacks = new Option<string>("--attacks") { Description = $"Comma-separated: {string.Join(", ", AttackSuite.Names)}.", DefaultValueFactory = _ => "1px,10px,fgsm,pgd,fgsm-transfer,pgd-transfer,eot-pgd,apgd-ce,apgd-dlr,square" };
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
        var data = new Option<string?>("--data") { Description = $"Test data (default: the bundled sample, {DemoCommand.SampleFolder}). An Imagenette folder (imagenette2-160) is recognised: its validation images are cut to 64x64 centre crops and the defences are Imagenette's ({string.Join(", ", ImagenetteModels.Defences)})." };
        var device = CommonOptions.Device();
        var output = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => "out/evaluation" };
        var batchSize = new Option<int>("--batch-size")
        {
            Description = "Images per unit of work: the journal's grain, what --resume redoes at most, and what --shard splits. Part of what decides the outcomes.",
            DefaultValueFactory = _ => 100,
        };
        var queryBatch = new Option<int>("--query-batch") { Description = "Most candidate images per model call of differential evolution (the populations of several images stacked).", DefaultValueFactory = _ => 1024 };
        var resume = new Option<bool>("--resume") { Description = "Continue the evaluation in --out (its journals): run only the units of work it lacks. Ends with the outcomes an uninterrupted run gives." };
        var shard = new Option<string?>("--shard") { Description = "i/n: evaluate only shard i of n (the batches b with b mod n = i) into <out>/shard-i-of-n; merge the shards with evaluate-report --runs <out>." };
        var skip = new Option<bool>("--skip-misclassified")
        {
            Description = "Attack only the images each defence classifies correctly when clean; the others count as wrong under every attack (AutoAttack's protocol). Same worst case, less time on a defence with low clean accuracy. Part of what decides the outcomes.",
        };
        var quick = new Option<bool>("--quick")
        {
            Description = "A few minutes on a 2-core CPU (the README's main job): FIR g=4 only, 32 images, DE 40x5, Square-100, ε curve on 16 images; options given explicitly still win.",
        };
        var command = new Command("evaluate", "Accuracy of defences under the paper's and adaptive attacks, with Wilson intervals, sanity flags, an ε curve and example images.")
        {
            defense, models, grid, attacks, eps, n, seed, steps, eot, queries, population, generations, target, curve, curveN, data, device, output,
            batchSize, queryBatch, resume, shard, skip, quick,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            // --quick changes the defaults, never a value the user typed.
            T Get<T>(Option<T> option, T quickValue) => r.GetValue(quick) && r.GetResult(option) is null or { Implicit: true } ? quickValue : r.GetValue(option)!;
            var settings = new AttackSettings
            {
                Epsilon = ParseEpsilon(r.GetValue(eps)!), Steps = r.GetValue(steps), EotSamples = r.GetValue(eot), SquareQueries = Get(queries, 100),
                PixelPopulation = Get(population, 40), PixelGenerations = Get(generations, 5), Seed = r.GetValue(seed), MaxQueryBatch = r.GetValue(queryBatch),
                SkipMisclassified = r.GetValue(skip),
            };
            if (r.GetValue(batchSize) < 1) throw new ArgumentException($"--batch-size {r.GetValue(batchSize)}: expected at least 1.");
            if (r.GetValue(queryBatch) < 1) throw new ArgumentException($"--query-batch {r.GetValue(queryBatch)}: expected at least 1.");
            var names = AttackSuite.Parse(Get(attacks, "1px,10px,fgsm,pgd,fgsm-transfer,pgd-transfer,eot-pgd,apgd-ce,square"));
            var modelsFolder = r.GetValue(models) ?? ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("the shipped models folder was not found; pass --models.");
            var dataPath = r.GetValue(data) ?? DemoCommand.FindSample();
            // Imagenette: 64x64 centre crops (the pixels ML.NET's ResizeImages gives) and the Imagenette classifier's defences.
            bool imagenette = ImagenetteModels.Recognises(dataPath);
            var defences = imagenette ? ImagenetteDefences(r.GetValue(defense)!, r.GetResult(grid) is null or { Implicit: true } ? null : r.GetValue(grid), modelsFolder) : Defences(r.GetValue(defense)!, Get(grid, "4"), modelsFolder);
            var curveEps = Get(curve, "0,4,8,16,32").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => ParseEpsilon(v + "/255")).ToList();
            bool queryChain = r.GetValue(target) switch { "chain" => true, "twin" => false, var t => throw new ArgumentException($"--query-target '{t}': expected chain or twin.") };
            var modelsDir = modelsFolder;
            var test = imagenette
                ? ImagenetteModels.WithClassNames(CommonOptions.LoadData(dataPath, Split.Test, (ImagenetteModels.ImageSize, ImagenetteModels.ImageSize), noCache: false, ResizeMode.CenterCrop))
                : CommonOptions.LoadData(dataPath, Split.Test, null, noCache: false);
            var outDir = r.GetValue(output)!;
            var part = r.GetValue(shard) is { } shardText ? Shard.Parse(shardText) : null;
            bool resuming = r.GetValue(resume);
            var runDir = part is null ? outDir : DefenceRun.ShardDir(outDir, part);
            string commandLine = "pdnn " + string.Join(' ', OutcomeArguments(Environment.GetCommandLineArgs().Skip(1).ToList())
                .Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"\"{a}\"" : a)); // copy-pasteable: "" for an empty value
            int sampleSize = Get(n, 32);
            // Drawn once, as AttackEvaluator would draw them (ImageDataset.Sample is the same draw), so that every
            // evaluator below reads only the images it attacks, not the whole test split again.
            var sample = test.Sample(sampleSize, settings.Seed);
            // The sample's own name: "<data> (uniform sample of n, seed s)", or the data's alone when n covers it all (the
            // whole set in its own order, not a shuffle: the reports must not pair its images with a sample's by place).
            var dataName = sample.Source;
            var curveSample = test.Sample(Math.Min(Get(curveN, 16), sampleSize), settings.Seed);

            var results = new List<DefenceResult>();
            foreach (var (defence, g) in defences)
            {
                var key = defence == "fir" ? $"fir-g{g}" : defence;
                var dir = Path.Combine(runDir, key);
                // Held until this defence's files are written: a second evaluation into the same folder is refused
                // before it can clear or resume the journals this one is writing.
                using var writing = OutputLock.Take(dir);
                // Nothing is lost: an unfinished evaluation is continued (--resume) or left alone, never overwritten.
                if (!resuming && DefenceRun.IsUnfinished(dir))
                    throw new InvalidOperationException($"{dir} holds an unfinished evaluation; continue it with --resume (same options), or delete the folder to start afresh.");
                if (!resuming) DefenceRun.Clear(dir);
                var description = imagenette ? ImagenetteModels.Describe(defence) : ShippedModels.Describe(defence, g);
                AnsiConsole.MarkupLineInterpolated($"[bold]{description}[/]: {string.Join(", ", names)}; ε = {r.GetValue(eps)}; {Math.Min(sampleSize, test.Count)} images{(part is null ? "" : $", shard {part}")}");
                var ml = new MLContext(seed: settings.Seed);
                var view = ml.Data.LoadFromImageDataset(sample);
                var model = (imagenette ? ImagenetteModels.Defence(ml, modelsDir, defence, seed: settings.Seed) : ShippedModels.Chain(ml, modelsDir, defence, g, settings.Seed)).Fit(view);
                var options = new AttackEvaluatorOptions
                {
                    Attacks = names, Settings = settings, QueryDeployedChain = queryChain, Device = r.GetValue(device)!,
                    BatchSize = r.GetValue(batchSize), Shard = part, Resume = resuming, Journal = DefenceRun.AttackJournal(dir),
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
                var curveAttack = evaluator.Twin.Randomised ? "eot-pgd" : "pgd";
                DefenceRun.WritePlan(dir, new EvaluationPlan
                {
                    Defence = key, Description = description, Twin = evaluator.Twin.Description, Data = dataName, Command = commandLine,
                    Hardware = evaluator.Hardware, Settings = settings, Attacks = evaluator.CreateAttacks().Select(a => a.Kind).ToList(),
                    Randomised = evaluator.Twin.Randomised, Count = sample.Count, BatchSize = options.BatchSize, Shard = part ?? new Shard(0, 1),
                    CurveEpsilons = curveEps, CurveAttack = AttackSuite.Create(curveAttack, settings, x => x, x => x).Name, CurveCount = curveSample.Count,
                });
                // The ε curve: PGD (EOT-PGD for randomised defences) at each ε on the sample's first images, one journal per ε.
                for (int k = 0; k < curveEps.Count; k++)
                {
                    var at = options with { Attacks = [curveAttack], Settings = settings with { Epsilon = curveEps[k] }, Journal = DefenceRun.CurveJournal(dir, k) };
                    using var curveEvaluator = new AttackEvaluator(model, at);
                    WithProgress(p => { curveEvaluator.Progress = p; return curveEvaluator.Evaluate(ml.Data.LoadFromImageDataset(curveSample)); }, $" (ε = {curveEps[k] * 255:0.#}/255)");
                }
                if (part is not { Index: > 0 }) ExampleImages.Save(Path.Combine(dir, "examples.png"), evaluator.Twin, sample, settings);
                if (part is null)
                {
                    // Derived from the journals, as evaluate-report derives a sharded run: the same units give the same files.
                    var (result, _) = DefenceRun.Derive([dir]);
                    EvaluationFiles.Write(dir, result, settings);
                    results.Add(result);
                    Print(result);
                }
                else AnsiConsole.MarkupLineInterpolated($"shard {part}: {report.Count} images of {sample.Count} evaluated; journals in {dir}");
            }
            if (part is null)
            {
                MergedReport.Write([outDir], outDir, $"Robustness, ε = {r.GetValue(eps)} (L∞)", mergeShards: false); // this run's own folders only
                AnsiConsole.MarkupLineInterpolated($"wrote summary.md, accuracy-vs-eps.png, clean-vs-worst-case.png and one folder per defence in {outDir}");
            }
            else AnsiConsole.MarkupLineInterpolated($"shard {part} done; once every shard is: pdnn evaluate-report --runs {outDir} --out {outDir}");
            return 0;
        }));
        return command;
    }

    /// <summary>The arguments that decide the outcomes: all but --out, --shard and --resume (and their values).</summary>
    static IEnumerable<string> OutcomeArguments(List<string> args)
    {
        string[] dropped = ["--out", "--shard", "--resume"];
        for (int i = 0; i < args.Count; i++)
        {
            var name = args[i].Split('=', ':')[0];
            if (!dropped.Contains(name)) { yield return args[i]; continue; }
            // "--out x" takes the next argument along; "--out=x", and --resume (a flag), do not.
            if (name != "--resume" && name == args[i] && i + 1 < args.Count) i++;
        }
    }

    /// <summary>
    /// The (defence, grid) pairs to evaluate on Imagenette: its FIR ships at g = 1 only, so a typed --grid other than 1 is
    /// refused rather than ignored.
    /// </summary>
    static List<(string Defence, int Grid)> ImagenetteDefences(string list, string? typedGrid, string models) =>
        typedGrid is { } g && g.Trim() != "1"
            ? throw new ArgumentException($"--grid '{g}': on Imagenette FIR ships at g = 1 only; leave --grid out or pass 1.")
            : (list == "all" ? ImagenetteModels.Defences.Where(d => ImagenetteModels.IsShipped(models, d)).ToArray() : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        .Select(d => ImagenetteModels.Defences.Contains(d) ? (d, 1)
            : throw new ArgumentException($"--defense '{d}': on Imagenette, expected one of {string.Join(", ", ImagenetteModels.Defences)} or all."))
        .ToList();

    static List<(string Defence, int Grid)> Defences(string list, string grids, string models)
    {
        // "all" means every defence whose models are shipped; one named explicitly must be there (Chain says which file is missing).
        var names = list == "all" ? ShippedModels.Defences.Where(d => ShippedModels.IsShipped(models, d)).ToArray()
            : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var gs = grids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(g => int.TryParse(g, out var v) && v > 0 ? v : throw new ArgumentException($"--grid '{grids}': expected positive integers such as 1,4,8.")).ToList();
        var result = new List<(string, int)>();
        foreach (var d in names)
        {
            if (!ShippedModels.Names.Contains(d)) throw new ArgumentException($"--defense '{d}': expected one of {string.Join(", ", ShippedModels.Names)} or all.");
            result.AddRange(d == "fir" ? gs.Select(g => (d, g)) : [(d, 1)]);
        }
        return result;
    }

    /// <summary>Runs <paramref name="work"/> with a progress bar per attack (plain lines when the output is not a terminal).</summary>
    static EvaluationReport WithProgress(Func<Action<string, int, int>, EvaluationReport> work, string suffix = "")
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            // A log gets no bar: a line when an attack ends, and on long work a line per tenth of its images at most
            // every 30 s, with the time since the attack began.
            var seen = new Dictionary<string, (System.Diagnostics.Stopwatch Clock, TimeSpan LastLine, int Tenth)>();
            return work((attack, done, total) =>
            {
                if (!seen.TryGetValue(attack, out var s)) seen[attack] = s = (System.Diagnostics.Stopwatch.StartNew(), TimeSpan.Zero, 0);
                if (s.Tenth == 10) return; // its last line is out (an attack's last step and its unit's end both report it)
                var elapsed = s.Clock.Elapsed;
                int tenth = total == 0 ? 10 : done * 10 / total;
                if (done < total && (tenth <= s.Tenth || elapsed - s.LastLine < TimeSpan.FromSeconds(30))) return;
                seen[attack] = (s.Clock, elapsed, tenth);
                string count = done == total ? $"{total} images done" : $"{done} / {total} images";
                AnsiConsole.MarkupLineInterpolated($"  {attack}{suffix}: {count} ({elapsed.TotalMinutes:F1} min)");
            });
        }
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
