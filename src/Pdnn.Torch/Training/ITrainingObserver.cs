namespace Pdnn.Torch.Training;

public sealed record StepProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double Accuracy,
                                  double ImagesPerSecond, double LearningRate);

/// <param name="HeldOut">Adversarial runs: clean / FGSM / PGD-10 accuracy on the held-out images after this epoch.</param>
/// <param name="Collapse">The collapse detector's finding at this epoch, if any.</param>
/// <param name="HeldOutLoss">Recreation runs with held-out images: the model's loss on them after this epoch.</param>
public sealed record EpochSummary(int Epoch, double TrainLoss, double TrainAccuracy, double? TestAccuracy,
                                  double ImagesPerSecond, double Seconds,
                                  Adversarial.RobustCheck? HeldOut = null, string? Collapse = null, double? HeldOutLoss = null);

/// <summary>What a training run reports as it goes; the command line draws a progress bar from it.</summary>
public interface ITrainingObserver
{
    void Message(string text);
    void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep);
    void Step(StepProgress progress);
    void EpochEnded(EpochSummary summary);
}

/// <summary>Plain lines on a TextWriter (logs, CI, tests).</summary>
public sealed class TextTrainingObserver(TextWriter writer, int stepsBetweenLines = 50) : ITrainingObserver
{
    public void Message(string text) => writer.WriteLine(text);
    int lastLine; // the last multiple of stepsBetweenLines a line was written for, in this epoch

    public void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep) => lastLine = firstStep / stepsBetweenLines;

    public void Step(StepProgress p)
    {
        // Steps arrive every few steps, counted from wherever a resumed epoch started: a line whenever a multiple is passed.
        if (p.Step / stepsBetweenLines <= lastLine) return;
        lastLine = p.Step / stepsBetweenLines;
        writer.WriteLine($"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4}" +
                         (double.IsNaN(p.Accuracy) ? "" : $" acc {p.Accuracy:P1}") + $" {p.ImagesPerSecond:F0} img/s");
    }
    public void EpochEnded(EpochSummary s) => writer.WriteLine(Format(s));

    public static string Format(EpochSummary s) =>
        $"epoch {s.Epoch}: train loss {s.TrainLoss:F4}" + (double.IsNaN(s.TrainAccuracy) ? "" : $", train acc {s.TrainAccuracy:P2}") +
        (s.TestAccuracy is { } t ? $", test acc {t:P2}" : "") +
        (s.HeldOut is { } h ? $", held-out clean {h.Clean:P1} / FGSM {h.Fgsm:P1} / PGD-10 {h.Pgd10:P1}" : "") +
        (s.HeldOutLoss is { } l ? $", held-out loss {l:F4}" : "") +
        $", {s.ImagesPerSecond:F0} img/s, {s.Seconds:F1} s" + (s.Collapse is { } c ? $"  !! {c}" : "");
}
