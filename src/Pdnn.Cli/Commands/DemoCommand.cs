using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Training;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>The main job on the embedded default: a small ResNet trained on the bundled CIFAR-10 sample, then its test accuracy.</summary>
static class DemoCommand
{
    public const string SampleFolder = "samples/data/cifar10-sample";

    public static Command Create()
    {
        var epochs = new Option<int>("--epochs") { Description = "Epochs over the 2,000 sample training images.", DefaultValueFactory = _ => 40 };
        var arch = new Option<string>("--arch") { Description = "Architecture (see train-classifier --help).", DefaultValueFactory = _ => "resnet8" };
        var device = CommonOptions.Device();
        var output = new Option<string?>("--out") { Description = "Output folder (default: a new folder under out/demo-<time>)." };
        var data = new Option<string?>("--data") { Description = $"Data (default: the bundled sample, {SampleFolder})." };
        var command = new Command("demo", "Train a small ResNet (ResNet-8) for about a minute on the bundled CIFAR-10 sample (2,000 train / 500 test images) and print its test accuracy.")
        {
            epochs, arch, device, output, data,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var path = r.GetValue(data) ?? FindSample();
            var outDir = r.GetValue(output) ?? Path.Combine("out", $"demo-{DateTime.Now:yyyyMMdd-HHmmss}");
            var deviceChoice = TorchDevice.Resolve(r.GetValue(device)!);
            var train = CommonOptions.LoadData(path, Split.Train, null, noCache: false);
            var test = CommonOptions.LoadData(path, Split.Test, null, noCache: false);
            var options = new TrainOptions { Architecture = r.GetValue(arch)!, Epochs = r.GetValue(epochs), BatchSize = 64, LearningRate = 0.05, Seed = 0 };
            AnsiConsole.MarkupLineInterpolated($"[bold]demo:[/] {options.Architecture}, {options.Epochs} epochs, batch {options.BatchSize}, on {train.Count} images; chance is 10%.");
            int code = ClassifierTraining.Run(options, train, test, deviceChoice, outDir, resume: false,
                "pdnn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)));
            if (code == 0) ShippedModelsInMlNet(path);
            return code;
        }));
        return command;
    }

    /// <summary>
    /// The shipped ResNet-20 and recreation models (models/, ONNX) as ML.NET chains on the same test images: the plain
    /// classifier and the φDNNs built from it. Skipped, with a line saying so, where models/ is not beside the sample.
    /// </summary>
    static void ShippedModelsInMlNet(string sample)
    {
        var models = Path.GetFullPath(Path.Combine(sample, "..", "..", "..", "models"));
        var classifier = Path.Combine(models, "resnet20-cifar10", "classifier.onnx");
        if (!File.Exists(classifier))
        {
            AnsiConsole.MarkupLineInterpolated($"[grey]no shipped models in {models}; skipping the ML.NET part.[/]");
            return;
        }
        var ml = new MLContext(seed: 0);
        var images = DatasetLoader.Load(sample, Split.Test);
        var data = ml.Data.LoadFromImageDataset(images);
        var chains = new List<(string, IEstimator<ITransformer>)> { (ShippedModels.Describe("none"), ShippedModels.Chain(ml, models, "none")) };
        if (File.Exists(Path.Combine(models, "sr-lite-cifar10", "sr-generator.onnx")))
            chains.Add((ShippedModels.Describe("nsr"), ShippedModels.Chain(ml, models, "nsr", seed: 1)));
        foreach (var g in new[] { 1, 4, 8 })
            if (File.Exists(Path.Combine(models, $"inpainter-lite-g{g}-cifar10", "inpainter.onnx")))
                chains.Add((ShippedModels.Describe("fir", g), ShippedModels.Chain(ml, models, "fir", g)));
        AnsiConsole.MarkupLineInterpolated($"[bold]shipped models as ML.NET chains[/] on the same {images.Count} test images (clean accuracy; robustness is the evaluator's, issue 5):");
        foreach (var (name, chain) in chains)
        {
            var scored = chain.Fit(data).Transform(data);
            var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
            var truth = scored.GetColumn<string>("Label").ToArray();
            double accuracy = predicted.Zip(truth).Count(p => images.ClassNames[(int)p.First - 1] == p.Second) / (double)truth.Length;
            AnsiConsole.MarkupLineInterpolated($"  {name,-42} {accuracy,7:P1}");
        }
    }

    /// <summary>The sample in the repository: from the working folder or the app's folder upwards.</summary>
    public static string FindSample()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, SampleFolder);
                if (Directory.Exists(candidate)) return candidate;
            }
        throw new DirectoryNotFoundException($"the bundled sample ({SampleFolder}) was not found above {Directory.GetCurrentDirectory()}; pass --data.");
    }
}
