using Pdnn.Evaluation.Reports;
using Pdnn.Tests;

namespace Pdnn.Evaluation.Tests;

/// <summary>The results derived from a run's journals say where they were computed, sitting by sitting.</summary>
[TestClass]
public sealed class DefenceRunTests
{
    static EvaluationPlan Plan() => new()
    {
        Defence = "none", Description = "a defence", Twin = "RobustClassify (exact)", Data = "two images", Command = "pdnn evaluate ...",
        Hardware = "the machine that wrote the plan", Settings = new AttackSettings(), Attacks = [new AttackKind("FGSM")], Count = 2, BatchSize = 2,
    };

    static JournalUnit Unit(string job, params long[] predictions) =>
        new(job, 0, predictions.Select((p, i) => new OutcomeLine(i, 1, p)).ToList(), 2.0);

    [TestMethod]
    public void ARunResumedOnOtherHardwareNamesBothMachines()
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), "none");
        DefenceRun.WritePlan(dir, Plan());
        using (var gpu = OutcomeJournal.Open(DefenceRun.AttackJournal(dir), "k", resume: false, sitting: "gpu box")) gpu.Append(Unit("clean", 1, 1));
        using (var cpu = OutcomeJournal.Open(DefenceRun.AttackJournal(dir), "k", resume: true, sitting: "cpu box")) cpu.Append(Unit("FGSM", 1, 0));

        var (result, _) = DefenceRun.Derive([dir]);
        Assert.AreEqual("gpu box; cpu box", result.Hardware, "not only the plan's machine, which wrote the plan after the last sitting");
        Assert.AreEqual(0.5, result.Report.Attacks[0].Accuracy, 1e-12, "and the outcomes of both sittings");
    }

    [TestMethod]
    public void JournalsWithoutSittingsFallBackToThePlansHardware()
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), "none");
        DefenceRun.WritePlan(dir, Plan());
        using (var old = OutcomeJournal.Open(DefenceRun.AttackJournal(dir), "k", resume: false))
        {
            old.Append(Unit("clean", 1, 1));
            old.Append(Unit("FGSM", 1, 0));
        }
        Assert.AreEqual("the machine that wrote the plan", DefenceRun.Derive([dir]).Result.Hardware);
    }
}
