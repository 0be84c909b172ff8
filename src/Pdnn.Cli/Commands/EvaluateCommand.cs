using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pdnn.Attacks;
using Pdnn.Attacks.Attacks;
using Pdnn.Attacks.Evaluation;
using Pdnn.Data;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn evaluate`: accuracy of a defence under attack on n uniformly sampled test images, with the paper's attacks and
/// the adaptive ones side by side, written as JSON, CSV (one row per image and attack) and a Markdown table.
/// The defence runs as one differentiable TorchSharp module (its "twin"), loaded from the shipped models.
/// </summary>
static class EvaluateCommand
{
    public static Command Create()
    {
        var defense = new Option<string>("--defense") { Description = "none, nsr, fir, fs (bit depth 4) or ss (2x2 median).", DefaultValueFactory = _ => "none" };
        var models = new Option<string>("--models") { Description = "The models folder.", DefaultValueFactory = _ => "models" };
        var grid = new Option<int>("--grid") { Description = "FIR's grid cell size g (1, 4 or 8).", DefaultValueFactory = _ => 1 };
        var attacks = new Option<string>("--attacks") { Description = "Comma-separated: fgsm, pgd, eot-pgd, apgd-ce, apgd-dlr, 1px, square.", DefaultValueFactory = _ => "fgsm,pgd,eot-pgd,apgd-ce,apgd-dlr,square" };
        var eps = new Option<string>("--eps") { Description = "L∞ budget, e.g. 8/255.", DefaultValueFactory = _ => "8/255" };
        var n = new Option<int>("--n") { Description = "Uniformly sampled test images.", DefaultValueFactory = _ => 100 };
        var seed = CommonOptions.Seed();
        var steps = new Option<int>("--steps") { Description = "Iterations of PGD, EOT-PGD and APGD.", DefaultValueFactory = _ => 10 };
        var eot = new Option<int>("--eot-samples") { Description = "Draws of the defence's randomness averaged per EOT-PGD step.", DefaultValueFactory = _ => 8 };
        var queries = new Option<int>("--square-queries") { Description = "Query budget of the Square attack.", DefaultValueFactory = _ => 200 };
        var data = new Option<string?>("--data") { Description = $"Test data (default: the bundled sample, {DemoCommand.SampleFolder})." };
        var device = CommonOptions.Device();
        var output = new Option<string>("--out") { Description = "Output folder for results.json, outcomes.csv and summary.md.", DefaultValueFactory = _ => "out/evaluation" };
        var command = new Command("evaluate", "Accuracy of a defence under the paper's and adaptive attacks, with Wilson intervals and sanity flags.")
        {
            defense, models, grid, attacks, eps, n, seed, steps, eot, queries, data, device, output,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var deviceChoice = TorchDevice.Resolve(r.GetValue(device)!);
            double epsilon = ParseEpsilon(r.GetValue(eps)!);
            var dir = r.GetValue(models)!;
            var (classifier, _) = ClassifierFile.Load(Path.Combine(dir, "resnet20-cifar10"), deviceChoice.Device);
            var (name, model, randomised) = Defence(r.GetValue(defense)!, dir, r.GetValue(grid), deviceChoice.Device, classifier.forward);
            var test = DatasetLoader.Load(r.GetValue(data) ?? DemoCommand.SampleFolder, Split.Test).Sample(r.GetValue(n), r.GetValue(seed));
            using var images = new DeviceImages(test, deviceChoice.Device);
            var (x, y) = images.Range(0, test.Count);
            manual_seed(r.GetValue(seed));

            int k = r.GetValue(steps);
            var named = r.GetValue(attacks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(a => a switch
            {
                "fgsm" => new NamedAttack("FGSM", new Fgsm(model, epsilon).Perturb),
                "pgd" => new NamedAttack($"PGD-{k}", new Pgd(model, epsilon, epsilon / 4, k).Perturb),
                "eot-pgd" => new NamedAttack($"EOT-PGD-{k}x{r.GetValue(eot)}", new EotPgd(model, epsilon, epsilon / 4, k, r.GetValue(eot)).Perturb, Adaptive: true),
                "apgd-ce" => new NamedAttack($"APGD-CE-{k}", new Apgd(model, epsilon, k).Perturb, Adaptive: true),
                "apgd-dlr" => new NamedAttack($"APGD-DLR-{k}", new Apgd(model, epsilon, k, ApgdLoss.Dlr).Perturb, Adaptive: true),
                "1px" => new NamedAttack("1px (DE)", new PixelAttack(model, 1, population: 100, generations: 20).Perturb, QueryOnly: true),
                "square" => new NamedAttack($"Square-{r.GetValue(queries)}", new Square(model, epsilon, r.GetValue(queries)).Perturb, QueryOnly: true),
                _ => throw new ArgumentException($"--attacks: unknown attack '{a}'; known: fgsm, pgd, eot-pgd, apgd-ce, apgd-dlr, 1px, square."),
            }).ToList();

            AnsiConsole.MarkupLineInterpolated($"[grey]device:[/] {deviceChoice.Description}; defence {name}; ε = {r.GetValue(eps)}; {test.Count} images ({test.Source})");
            var report = RobustnessEvaluator.Run(model, x, y, named, randomised);
            Write(r.GetValue(output)!, name, r.GetValue(eps)!, test.Source, report);
            var table = new Table().AddColumns("", "accuracy", "Wilson 95%");
            foreach (var s in new[] { report.Clean }.Concat(report.Attacks).Append(report.WorstCase))
                table.AddRow(s.Attack, s.Accuracy.ToString("P1", CultureInfo.InvariantCulture), $"{s.Low:P1} – {s.High:P1}");
            AnsiConsole.Write(table);
            foreach (var flag in report.Flags) AnsiConsole.MarkupLineInterpolated($"[yellow]flag:[/] {flag}");
            AnsiConsole.MarkupLineInterpolated($"wrote results.json, outcomes.csv, summary.md in {r.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    static double ParseEpsilon(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && double.TryParse(parts[0], CultureInfo.InvariantCulture, out var a) && double.TryParse(parts[1], CultureInfo.InvariantCulture, out var b) && b > 0)
            return a / b;
        if (parts.Length == 1 && double.TryParse(text, CultureInfo.InvariantCulture, out var v)) return v;
        throw new ArgumentException($"--eps '{text}': expected a number or a fraction such as 8/255.");
    }

    /// <summary>The defence as one differentiable function of the image, from the shipped models.</summary>
    static (string Name, Func<Tensor, Tensor> Model, bool Randomised) Defence(string name, string dir, int grid, Device device, Func<Tensor, Tensor> classifier)
    {
        (Func<Tensor, Tensor>, string) Phi(string recreation)
        {
            var r = RecreationModel.Load(Path.Combine(dir, $"{recreation}-cifar10"), device);
            var tuned = Path.Combine(dir, $"resnet20-cifar10-on-{recreation}");
            var c = Directory.Exists(tuned) ? ClassifierFile.Load(tuned, device).Model : null;
            Func<Tensor, Tensor> cls = c != null ? c.forward : classifier;
            return (x => cls(r.Apply(x)), r.Description + (c != null ? " + ResNet-20 fine-tuned on it" : " + clean ResNet-20"));
        }
        switch (name)
        {
            case "none": return ("ResNet-20, no defence", classifier, false);
            case "nsr": { var (f, d) = Phi("sr-lite"); return ($"NSR: {d}", f, true); }
            case "fir": { var (f, d) = Phi($"inpainter-lite-g{grid}"); return ($"FIR: {d}", f, false); }
            case "fs": return ("FS: 4-bit squeezing (BPDA) + ResNet-20", x => classifier(Bpda.Identity(t => (t * 15).round() / 15)(x)), false);
            case "ss": return ("SS: 2x2 median (BPDA) + ResNet-20", x => classifier(Bpda.Identity(Median2x2)(x)), false);
            default: throw new ArgumentException($"--defense '{name}': expected none, nsr, fir, fs or ss (jpeg is not in evaluate yet).");
        }
    }

    /// <summary>2x2 median with scipy's conventions (window rows/columns −1..0, edge repeated, upper median).</summary>
    static Tensor Median2x2(Tensor x)
    {
        var padded = nn.functional.pad(x, [1, 0, 1, 0], TorchSharp.PaddingModes.Replicate);
        long h = x.shape[2], w = x.shape[3];
        var windows = stack([padded[.., .., ..(int)h, ..(int)w], padded[.., .., ..(int)h, 1..], padded[.., .., 1.., ..(int)w], padded[.., .., 1.., 1..]], -1);
        return windows.sort(-1).Values[.., .., .., .., 2];
    }

    static void Write(string dir, string defence, string eps, string data, EvaluationReport report)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(new
        {
            Defence = defence, Epsilon = eps, Data = data, report.Count, report.Clean, report.Attacks, report.WorstCase, report.Flags,
            Hardware = Hardware.CpuModel(),
        }, new JsonSerializerOptions { WriteIndented = true }));
        var csv = new StringBuilder("index,label,clean_prediction,attack,adversarial_prediction,linf,l2,correct\n");
        foreach (var o in report.Outcomes)
            csv.Append(CultureInfo.InvariantCulture, $"{o.Index},{o.Label},{o.CleanPrediction},{o.Attack},{o.AdversarialPrediction},{o.LinfNorm:F6},{o.L2Norm:F6},{o.Correct}\n");
        File.WriteAllText(Path.Combine(dir, "outcomes.csv"), csv.ToString());
        var md = new StringBuilder($"| defence | test acc | {string.Join(" | ", report.Attacks.Select(a => a.Attack))} | worst case |\n");
        md.Append($"|---|---|{string.Concat(report.Attacks.Select(_ => "---|"))}---|\n");
        string Cell(AttackSummary s) => string.Create(CultureInfo.InvariantCulture, $"{100 * s.Accuracy:F1} [{100 * s.Low:F1}, {100 * s.High:F1}]");
        md.Append($"| {defence} | {Cell(report.Clean)} | {string.Join(" | ", report.Attacks.Select(Cell))} | {Cell(report.WorstCase)} |\n");
        md.Append($"\nε = {eps}, L∞; {report.Count} images of {data}; accuracy % [Wilson 95%].\n");
        foreach (var f in report.Flags) md.Append($"\n- flag: {f}");
        File.WriteAllText(Path.Combine(dir, "summary.md"), md.ToString());
    }
}
