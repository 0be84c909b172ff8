using Pdnn.Torch.Training;
using Spectre.Console;

namespace Pdnn.Cli;

/// <summary>A progress bar per epoch with loss, accuracy, throughput and learning rate; a summary line after each epoch.</summary>
sealed class SpectreTrainingObserver(ProgressContext context) : ITrainingObserver
{
    ProgressTask? task;
    string? collapse; // shown on every later progress line once the detector has fired

    public void Message(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{text}[/]");

    public void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep)
    {
        task = context.AddTask($"epoch {epoch}/{epochs}", maxValue: stepsPerEpoch);
        task.Value = firstStep;
    }

    public void Step(StepProgress p)
    {
        if (task == null) return;
        task.Value = p.Step;
        task.Description = $"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:F3}  acc {p.Accuracy:P1}  {p.ImagesPerSecond:F0} img/s  lr {p.LearningRate:G3}" + (collapse != null ? $"  [red]{Markup.Escape(collapse)}[/]" : "");
    }

    public void EpochEnded(EpochSummary s)
    {
        if (task != null) { task.Value = task.MaxValue; task.StopTask(); }
        if (s.Collapse != null) collapse = $"collapse at epoch {s.Epoch}";
        AnsiConsole.MarkupLineInterpolated($"{TextTrainingObserver.Format(s)}");
    }

    /// <summary>Runs <paramref name="body"/> with a live progress display when the terminal is interactive, plain lines otherwise (logs, CI).</summary>
    public static T Show<T>(Func<ITrainingObserver, T> body)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
            return body(new TextTrainingObserver(Console.Out));
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => result = body(new SpectreTrainingObserver(ctx)));
        return result;
    }
}
