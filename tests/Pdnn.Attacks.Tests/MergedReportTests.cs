using Pdnn.Attacks.Evaluation;
using Pdnn.Attacks.Reports;
using Pdnn.Tests;

namespace Pdnn.Attacks.Tests;

[TestClass]
public sealed class MergedReportTests
{
    static DefenceResult Run(string attack, (long Label, long Clean, long Adversarial)[] images)
    {
        var outcomes = images.Select((m, i) => new ImageOutcome(i, m.Label, m.Clean, attack, m.Adversarial, 0.03, 1, m.Adversarial == m.Label)).ToList();
        AttackSummary Summary(string name, int correct) { var (lo, hi) = Wilson.Interval(correct, images.Length); return new(name, correct, images.Length, lo, hi); }
        var report = new EvaluationReport(images.Length, Summary("clean", images.Count(m => m.Clean == m.Label)),
            [Summary(attack, outcomes.Count(o => o.Correct))], Summary("worst case", images.Count(m => m.Clean == m.Label && m.Adversarial == m.Label)), outcomes, []);
        return new DefenceResult("nsr", "NSR", "twin", report, "data", $"pdnn evaluate --attacks {attack}", "CPU", 1);
    }

    [TestMethod]
    public void WorstCaseOverEveryAttackOfEveryRunIsCountedOnTheSharedImages()
    {
        var root = TestPaths.NewTempDir();
        // Run A, 4 images: image 2 is wrong when clean; everything else survives PGD.
        EvaluationFiles.Write(Path.Combine(root, "a", "nsr"), Run("PGD-10", [(1, 1, 1), (2, 2, 2), (3, 0, 0), (4, 4, 4)]), new AttackSettings());
        // Run B, the first 2 of the same images: image 1 falls to the pixel attack.
        EvaluationFiles.Write(Path.Combine(root, "b", "nsr"), Run("1px (DE)", [(1, 1, 1), (2, 2, 5)]), new AttackSettings());

        var table = MergedReport.Write([Path.Combine(root, "a"), Path.Combine(root, "b")], root, "test");

        StringAssert.Contains(table, "| defence | test acc | 1px (DE) | PGD-10 | worst case per run | worst case, every attack |");
        StringAssert.Contains(table, "| NSR | 75.0 [30.1, 95.4] (n=4) | 50.0 [9.5, 90.5] (n=2) | 75.0 [30.1, 95.4] |");
        StringAssert.Contains(table, "| 75.0 [30.1, 95.4]; 50.0 [9.5, 90.5] (n=2) | 50.0 [9.5, 90.5] (n=2) |");
    }
}
