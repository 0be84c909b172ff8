using Pdnn.Evaluation;
using Pdnn.Evaluation.Reports;
using Pdnn.Figures;
using Pdnn.Tests;
using SkiaSharp;

namespace Pdnn.Evaluation.Tests;

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

    [TestMethod]
    public void TheFiguresDrawEachDefenceInAStyleOfItsOwn()
    {
        var root = TestPaths.NewTempDir();
        var images = new (long, long, long)[] { (1, 1, 1), (2, 2, 0) };
        EvaluationFiles.Write(Path.Combine(root, "a", "nsr"), Run("PGD-10", images) with { Curve = [(0, 1.0), (8 / 255.0, 0.5), (16 / 255.0, 0.0)] }, new AttackSettings());
        EvaluationFiles.Write(Path.Combine(root, "a", "none"), Run("PGD-10", [(1, 1, 1), (2, 0, 0)]) with { Defence = "none", Curve = [(0, 0.5), (8 / 255.0, 0.0), (16 / 255.0, 0.0)] }, new AttackSettings());

        MergedReport.Write([Path.Combine(root, "a")], root, "test");

        foreach (var (file, size) in new[] { ("accuracy-vs-eps.png", (900, 540)), ("clean-vs-worst-case.png", (900, 560)) })
        {
            using var figure = SKBitmap.Decode(Path.Combine(root, file));
            Assert.AreEqual(size, (figure.Width, figure.Height), file);
            int Pixels(OxyPlot.OxyColor c) => figure.Pixels.Count(p => p.Red == c.R && p.Green == c.G && p.Blue == c.B);
            Assert.IsGreaterThan(40, Pixels(SeriesStyle.Colour(0)), $"{file}: the first defence");
            Assert.IsGreaterThan(40, Pixels(SeriesStyle.Colour(1)), $"{file}: the second defence, in a colour of its own");
            Assert.AreEqual(0, Pixels(SeriesStyle.Colour(2)), $"{file}: nothing drawn for a third");
        }
    }
}
