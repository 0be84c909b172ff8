using Pdnn.Data;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>One training run as the commands do it: train (or resume), evaluate, save the classifier with its card.</summary>
static class ClassifierTraining
{
    /// <summary>Exit code for "stopped at a budget, checkpoint written: run again with --resume" (EX_TEMPFAIL).</summary>
    public const int ExitStoppedEarly = 75;

    public static int Run(TrainOptions options, ImageDataset train, ImageDataset? test, DeviceChoice device, string outDir,
                          bool resume, string command, RecreationModel? recreation = null, CifarResNet? initial = null)
    {
        AnsiConsole.MarkupLineInterpolated($"[grey]device:[/] {device.Description}");
        Directory.CreateDirectory(outDir);
        var checkpointDir = Path.Combine(outDir, "checkpoint");
        var result = SpectreTrainingObserver.Show(observer =>
            new ClassifierTrainer(options, device.Device, observer).Run(train, test, checkpointDir, resume, recreation == null ? null : recreation.Apply, initial));
        WriteHistory(Path.Combine(outDir, "history.csv"), result.State.History);

        if (result.State.StoppedOnCollapse != null)
            AnsiConsole.MarkupLineInterpolated($"[red]stopped:[/] {result.State.StoppedOnCollapse}");
        if (!result.Completed)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]stopped:[/] {result.StopReason} with {result.State.Epoch} of {options.Epochs} epochs done{(result.State.StepInEpoch > 0 ? $" and {result.State.StepInEpoch} steps into the next" : "")}; checkpoint in {checkpointDir}. Run the same command with --resume to continue.");
            return ExitStoppedEarly;
        }

        EvalResult? eval = null;
        if (test != null)
        {
            using var testImages = new DeviceImages(test, device.Device);
            TorchSharp.torch.manual_seed(options.Seed);
            eval = recreation == null ? ClassifierEvaluator.Evaluate(result.Model, testImages)
                : ClassifierEvaluator.Evaluate(new PhiDnn(recreation, result.Model), testImages, batchSize: 100);
        }
        var card = new ModelCard
        {
            Architecture = options.Architecture,
            ClassNames = train.ClassNames.ToArray(),
            InputShape = [train.Channels, train.Height, train.Width],
            Parameters = result.Model.parameters().Sum(p => p.numel()),
            TrainData = train.Source,
            TrainCount = train.Count,
            TestData = test?.Source,
            TestCount = test?.Count ?? 0,
            TestAccuracy = eval?.Accuracy,
            Epochs = options.Epochs,
            EpochsCompleted = result.State.Epoch,
            BatchSize = options.BatchSize,
            LearningRate = options.LearningRate,
            Schedule = options.Schedule.ToString().ToLowerInvariant(),
            LabelSmoothing = options.LabelSmoothing,
            Augment = options.Augment,
            Seed = options.Seed,
            Recreation = options.Recreation,
            InitialWeights = options.InitialWeights,
            AdversarialTraining = AdversarialCard(options, result, recreation != null),
            Command = command,
            Hardware = Hardware.Describe(device),
            WallSeconds = result.State.ElapsedSeconds,
            TorchSharpVersion = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
            WeightsFile = "",
            WeightsSha256 = "",
        };
        var cardPath = ClassifierFile.Save(outDir, "classifier", result.Model, card);
        if (eval != null)
            AnsiConsole.MarkupLineInterpolated($"[green]test accuracy {eval.Accuracy:P2}[/] ({eval.Correct}/{eval.Count}) on {test!.Source}{(recreation != null ? $", recreated by {recreation.Description}" : "")}");
        AnsiConsole.MarkupLineInterpolated($"saved {cardPath} ({result.State.ElapsedSeconds / 60:F1} min of training)");
        return 0;
    }

    static AdversarialTrainingCard? AdversarialCard(TrainOptions options, TrainResult result, bool onRecreations)
    {
        var a = options.Adversarial;
        if (!a.Enabled) return null;
        var kept = result.State.History.FirstOrDefault(h => h.Epoch == result.KeptEpoch)?.HeldOut;
        return new AdversarialTrainingCard
        {
            Kind = a.Kind switch { AdversaryKind.FgsmRs => "fgsm-rs", var k => k.ToString().ToLowerInvariant() },
            Recipe = a.Describe(),
            Epsilon = a.Epsilon, Steps = a.EffectiveSteps, StepSize = a.EffectiveStepSize, CleanWeight = a.CleanWeight,
            TradesBeta = a.Kind == AdversaryKind.Trades ? a.TradesBeta : null,
            CraftThrough = onRecreations ? (a.CraftThrough == CraftThrough.PhiDnn ? "phi-dnn" : "classifier") : null,
            HeldOutImages = options.HeldOut,
            Keep = options.Keep == KeepWeights.BestRobust ? "best-robust" : "last",
            KeptEpoch = result.KeptEpoch,
            HeldOutClean = kept?.Clean, HeldOutFgsm = kept?.Fgsm, HeldOutPgd10 = kept?.Pgd10,
            Collapses = result.State.History.Where(h => h.Collapse != null).Select(h => h.Collapse!).ToArray(),
            StoppedOnCollapse = result.State.StoppedOnCollapse != null,
        };
    }

    /// <summary>One line per epoch; adversarial runs add the held-out clean/FGSM/PGD-10 accuracy and the collapse flag.</summary>
    static void WriteHistory(string file, IEnumerable<EpochSummary> history)
    {
        var lines = history.Select(h => FormattableString.Invariant(
            $"{h.Epoch},{h.TrainLoss:F5},{h.TrainAccuracy:F5},{h.TestAccuracy:F5},{h.ImagesPerSecond:F1},{h.Seconds:F2}") +
            (h.HeldOut is { } c ? FormattableString.Invariant($",{c.Clean:F4},{c.Fgsm:F4},{c.Pgd10:F4},{(h.Collapse != null ? 1 : 0)}") : ""));
        var header = "epoch,train_loss,train_accuracy,test_accuracy,images_per_second,seconds" +
                     (history.Any(h => h.HeldOut != null) ? ",heldout_clean,heldout_fgsm,heldout_pgd10,collapse" : "");
        File.WriteAllLines(file, lines.Prepend(header));
    }
}
