using Pdnn.Torch.Training;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class LearningRateScheduleTests
{
    [TestMethod]
    public void CosineFallsFromTheBaseRateToZero()
    {
        Assert.AreEqual(0.1, LearningRateSchedule.At(ScheduleKind.Cosine, 0.1, 0, 100), 1e-12);
        Assert.AreEqual(0.05, LearningRateSchedule.At(ScheduleKind.Cosine, 0.1, 50, 100), 1e-12);
        Assert.AreEqual(0.0, LearningRateSchedule.At(ScheduleKind.Cosine, 0.1, 100, 100), 1e-12);
    }

    [TestMethod]
    public void StepDividesByTenAtHalfAndThreeQuarters()
    {
        Assert.AreEqual(0.1, LearningRateSchedule.At(ScheduleKind.Step, 0.1, 49, 100), 1e-12);
        Assert.AreEqual(0.01, LearningRateSchedule.At(ScheduleKind.Step, 0.1, 50, 100), 1e-12);
        Assert.AreEqual(0.001, LearningRateSchedule.At(ScheduleKind.Step, 0.1, 75, 100), 1e-12);
    }

    [TestMethod]
    public void OneCycleRisesToThePeakAtTwoFifthsThenFallsToZero()
    {
        Assert.AreEqual(0.0, LearningRateSchedule.At(ScheduleKind.OneCycle, 0.2, 0, 100), 1e-12);
        Assert.AreEqual(0.1, LearningRateSchedule.At(ScheduleKind.OneCycle, 0.2, 20, 100), 1e-12);
        Assert.AreEqual(0.2, LearningRateSchedule.At(ScheduleKind.OneCycle, 0.2, 40, 100), 1e-12);
        Assert.AreEqual(0.1, LearningRateSchedule.At(ScheduleKind.OneCycle, 0.2, 70, 100), 1e-12);
        Assert.AreEqual(0.0, LearningRateSchedule.At(ScheduleKind.OneCycle, 0.2, 100, 100), 1e-12);
    }

    [TestMethod]
    public void TheBudgetedStepIsTheFurtherOfStepsAndTimeAndTheEndOnceTheTimeIsSpent()
    {
        Assert.AreEqual(50, LearningRateSchedule.BudgetedStep(10, 100, elapsedSeconds: 30, budgetSeconds: 60));
        Assert.AreEqual(60, LearningRateSchedule.BudgetedStep(60, 100, elapsedSeconds: 30, budgetSeconds: 60));
        Assert.AreEqual(100, LearningRateSchedule.BudgetedStep(10, 100, elapsedSeconds: 60, budgetSeconds: 60));
        Assert.AreEqual(100, LearningRateSchedule.BudgetedStep(10, 100, elapsedSeconds: 1, budgetSeconds: 0));
    }
}
