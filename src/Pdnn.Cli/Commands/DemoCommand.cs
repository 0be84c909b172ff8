using System.CommandLine;
using Pdnn.Data;
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
            return ClassifierTraining.Run(options, train, test, deviceChoice, outDir, resume: false,
                "pdnn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)));
        }));
        return command;
    }

    /// <summary>The sample in the repository: from the working folder or the app's folder upwards.</summary>
    static string FindSample()
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
