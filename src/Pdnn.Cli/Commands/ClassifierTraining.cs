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
            new ClassifierTrainer(options, device.Device, observer).Run(train, test, checkpointDir, resume, recreation == null ? null : recreation.Apply, initial,
                // In bfloat16 the recreation's network runs in bfloat16 too inside training steps (crafting through it dominates).
                recreation != null && options.Precision == TrainingPrecision.BFloat16 && !options.RecreateOnce ? recreation.BFloat16() : null));
        WriteHistory(Path.Combine(outDir, "history.csv"), result.State.History);

        if (result.State.StoppedOnCollapse != null)
            AnsiConsole.MarkupLineInterpolated($"[red]stopped:[/] {result.State.StoppedOnCollapse}");
        if (result.State.FinishedAtBudget != null)
            AnsiConsole.MarkupLineInterpolated($"[yellow]finished at the budget (--on-budget finish):[/] {result.State.FinishedAtBudget}");
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
        var card = TrainingCard.Describe(options, train, result, Hardware.Describe(device), command, recreation != null) with
        {
            TestData = test?.Source,
            TestCount = test?.Count ?? 0,
            TestAccuracy = eval?.Accuracy,
        };
        var cardPath = ClassifierFile.Save(outDir, "classifier", result.Model, card);
        if (eval != null)
            AnsiConsole.MarkupLineInterpolated($"[green]test accuracy {eval.Accuracy:P2}[/] ({eval.Correct}/{eval.Count}) on {test!.Source}{(recreation != null ? $", recreated by {recreation.Description}" : "")}");
        AnsiConsole.MarkupLineInterpolated($"saved {cardPath} ({result.State.ElapsedSeconds / 60:F1} min of training)");
        return 0;
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
