using System.CommandLine;
using Pdnn.Cli.Commands;
using Spectre.Console;

// Logs and CI capture output: do not wrap lines at 80 columns there.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

var root = new RootCommand("pdnn: Perceptual DNNs for ML.NET. Train and evaluate classifiers with TorchSharp, on CPU or GPU.")
{
    TrainClassifierCommand.Create(),
    EvalClassifierCommand.Create(),
    BenchTrainCommand.Create(),
    DataInfoCommand.Create(),
    DemoCommand.Create(),
    ExportOnnxCommand.Create(),
    BenchInferenceCommand.Create(),
    BenchMemoryCommand.Create(),
    BenchAttacksCommand.Create(),
    BenchImagenetteCommand.Create(),
    ModelInfoCommand.Create(),
    RecreationGridCommand.Create(),
    TrainRecreationCommand.CreateSr(),
    TrainRecreationCommand.CreateInpainter(),
    EvaluateCommand.Create(),
    EvaluateReportCommand.Create(),
};
return root.Parse(args).Invoke();
