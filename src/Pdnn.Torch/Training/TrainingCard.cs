using Pdnn.Data;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training.Adversarial;

namespace Pdnn.Torch.Training;

/// <summary>The card of a finished training run: what every trainer front end (the CLI, the ML.NET trainer) writes beside the weights.</summary>
public static class TrainingCard
{
    /// <param name="onRecreations">The classifier learned on recreations (then the card says where adversarial examples were crafted).</param>
    public static ModelCard Describe(TrainOptions options, ImageDataset train, TrainResult result, string hardware, string command,
                                     bool onRecreations = false) => new()
    {
        Architecture = options.Architecture.ToLowerInvariant(),
        ClassNames = [.. train.ClassNames],
        InputShape = [train.Channels, train.Height, train.Width],
        Parameters = result.Model.parameters().Sum(p => p.numel()),
        TrainData = train.Source,
        TrainCount = train.Count - options.HeldOut, // the held-out images are split off inside the trainer
        Epochs = options.Epochs,
        EpochsCompleted = result.State.Epoch,
        FinishedAtBudget = result.State.FinishedAtBudget,
        BatchSize = options.BatchSize,
        LearningRate = options.LearningRate,
        Schedule = options.Schedule.ToString().ToLowerInvariant(),
        ScheduleMinutes = options.ScheduleMinutes,
        WeightAverageDecay = options.WeightAverageDecay > 0 ? options.WeightAverageDecay : null,
        LabelSmoothing = options.LabelSmoothing,
        Augment = options.Augment,
        Seed = options.Seed,
        Recreation = options.Recreation,
        RecreatedOnce = options.RecreateOnce ? true : null,
        RecreatedCopies = options.RecreatedCopies > 0 ? options.RecreatedCopies : null,
        InitialWeights = options.InitialWeights,
        Sparsity = options.Sparsity > 0 ? MagnitudePruning.MeasuredSparsity(result.Model) : null,
        TrainingPrecision = options.Precision == TrainingPrecision.BFloat16 ? "bfloat16" : null,
        AdversarialTraining = Adversarial(options, result, onRecreations),
        Command = command,
        Hardware = hardware,
        WallSeconds = result.State.ElapsedSeconds,
        TorchSharpVersion = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
        WeightsFile = "",
        WeightsSha256 = "",
    };

    static AdversarialTrainingCard? Adversarial(TrainOptions options, TrainResult result, bool onRecreations)
    {
        var a = options.Adversarial;
        if (!a.Enabled) return null;
        var kept = result.State.History.FirstOrDefault(h => h.Epoch == result.KeptEpoch)?.HeldOut;
        return new AdversarialTrainingCard
        {
            Kind = a.Kind switch { AdversaryKind.FgsmRs => "fgsm-rs", AdversaryKind.NFgsm => "n-fgsm", var k => k.ToString().ToLowerInvariant() },
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
}
