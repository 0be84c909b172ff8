namespace Pdnn.Torch.Training;

public enum ScheduleKind { Cosine, Step, OneCycle }

/// <summary>The learning rate as a pure function of the global step, so a resumed run continues the same curve.</summary>
public static class LearningRateSchedule
{
    public static double At(ScheduleKind kind, double baseRate, long step, long totalSteps) => kind switch
    {
        // Cosine annealing to zero over the whole run.
        ScheduleKind.Cosine => baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step, totalSteps) / Math.Max(1, totalSteps))),
        // x0.1 at 50% and again at 75% of the run (the schedule of He et al. 2016, scaled to the run length).
        ScheduleKind.Step => baseRate * (step < totalSteps / 2 ? 1 : step < totalSteps * 3 / 4 ? 0.1 : 0.01),
        // Linear warm-up from 0 to the base rate over the first 40% of the run, then linearly down to 0: the cyclic
        // schedule of Wong et al. 2020 that makes FGSM-RS training converge in ~15 epochs.
        ScheduleKind.OneCycle => OneCycle(baseRate, Math.Min(step, totalSteps), Math.Max(1, totalSteps)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// The step whose rate a time-budgeted run (<see cref="TrainOptions.ScheduleMinutes"/>) uses: how far through the
    /// schedule it is by steps or by time, whichever is further; <paramref name="totalSteps"/> (the schedule's end) once
    /// <paramref name="elapsedSeconds"/> reaches <paramref name="budgetSeconds"/>.
    /// </summary>
    public static long BudgetedStep(long step, long totalSteps, double elapsedSeconds, double budgetSeconds) =>
        budgetSeconds <= 0 || elapsedSeconds >= budgetSeconds ? totalSteps
            : Math.Min(totalSteps, Math.Max(step, (long)Math.Ceiling(totalSteps * elapsedSeconds / budgetSeconds)));

    static double OneCycle(double baseRate, long step, long total)
    {
        double peak = 0.4 * total;
        return step <= peak ? baseRate * step / peak : baseRate * (total - step) / (total - peak);
    }
}
