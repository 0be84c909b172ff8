using System.CommandLine;
using System.Globalization;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

static class BenchTrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = $"Architecture: {string.Join(", ", ResNetSpec.Names)}.", DefaultValueFactory = _ => "resnet20" };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 128 };
        var steps = new Option<int>("--steps") { Description = "Timed training steps.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed warm-up steps.", DefaultValueFactory = _ => 3 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions; the median is reported.", DefaultValueFactory = _ => 3 };
        var device = CommonOptions.Device();
        var adversarial = new Option<string>("--adversarial") { Description = "Measure adversarial training steps: none, fgsm, fgsm-rs, n-fgsm, pgd, trades.", DefaultValueFactory = _ => "none" };
        var attackSteps = new Option<int>("--attack-steps") { Description = "Inner steps of pgd and trades.", DefaultValueFactory = _ => 7 };
        var imageSize = new Option<int>("--image-size") { Description = "Side of the square synthetic images (32 for CIFAR-10; 64 or 96 for Imagenette crops).", DefaultValueFactory = _ => 32 };
        var precision = CommonOptions.Precision();
        var recreation = new Option<string?>("--recreation") { Description = "Time the φDNN's training step: each batch recreated by this model folder (pdnn train-sr / train-inpainter output), adversarial examples crafted through it; in bfloat16 with --precision bf16." };
        var results = new Option<string?>("--results") { Description = "Append a Markdown table row with the result to this file." };

        var command = new Command("bench-train", "Measure classifier training throughput (images/s): SGD steps with augmentation, forward and backward.")
        {
            arch, batch, steps, warmup, repeats, device, adversarial, attackSteps, imageSize, precision, recreation, results,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var deviceChoice = TorchDevice.Resolve(r.GetValue(device)!);
            AnsiConsole.MarkupLineInterpolated($"[grey]device:[/] {deviceChoice.Description}");
            var precisionChoice = CommonOptions.ParsePrecision(r.GetValue(precision)!);
            var recreationModel = r.GetValue(recreation) is { } dir ? RecreationModel.Load(dir, deviceChoice.Device) : null;
            Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>? recreate = recreationModel == null ? null
                : precisionChoice == TrainingPrecision.BFloat16 ? recreationModel.BFloat16() : recreationModel.Apply;
            var runs = new List<BenchmarkResult>();
            for (int i = 0; i < Math.Max(1, r.GetValue(repeats)); i++)
            {
                var result = TrainingBenchmark.Measure(ResNetSpec.FromName(r.GetValue(arch)!).Name, r.GetValue(batch), r.GetValue(steps),
                                                       r.GetValue(warmup), deviceChoice.Device, seed: i,
                                                       new AdversarialOptions { Kind = TrainClassifierCommand.ParseKind(r.GetValue(adversarial)!), Steps = r.GetValue(attackSteps) },
                                                       imageSize: r.GetValue(imageSize) is var side and > 0 ? side : throw new ArgumentException("--image-size must be positive."),
                                                       precision: precisionChoice, recreate: recreate,
                                                       recreationName: recreationModel == null ? null : Path.GetFileName(Path.TrimEndingDirectorySeparator(r.GetValue(recreation)!)));
                AnsiConsole.MarkupLineInterpolated($"run {i + 1}: {result.ImagesPerSecond:F1} images/s ({result.Steps} steps of {result.BatchSize} in {result.Seconds:F2} s)");
                runs.Add(result);
            }
            var median = runs.OrderBy(x => x.ImagesPerSecond).ElementAt(runs.Count / 2);
            AnsiConsole.MarkupLineInterpolated($"[green]{median.Architecture} at {median.ImageSize}x{median.ImageSize}, batch {median.BatchSize}, {median.Recipe}: {median.ImagesPerSecond:F1} images/s (median of {runs.Count})[/] on {Hardware.Describe(deviceChoice)}");
            if (r.GetValue(results) is { } file)
            {
                var row = string.Create(CultureInfo.InvariantCulture,
                    $"| {DateTime.UtcNow:yyyy-MM-dd} | {median.Architecture}{(median.ImageSize == 32 ? "" : $" at {median.ImageSize}x{median.ImageSize}")}{(median.Recipe == "clean" ? "" : ", " + median.Recipe)} | {median.BatchSize} | {median.ImagesPerSecond:F1} | {string.Join(" / ", runs.Select(x => x.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)))} | {deviceChoice.Device} | {Hardware.Describe(deviceChoice)} | TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version} |");
                File.AppendAllLines(file, [row]);
                AnsiConsole.MarkupLineInterpolated($"appended to {file}");
            }
            return 0;
        }));
        return command;
    }
}
