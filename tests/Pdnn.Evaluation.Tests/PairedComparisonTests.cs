using Pdnn.Evaluation;
using Pdnn.Evaluation.Reports;
using Pdnn.Tests;

namespace Pdnn.Evaluation.Tests;

[TestClass]
public sealed class PairedComparisonTests
{
    static DefenceResult Run(string defence, string attack, (long Label, long Clean, long Adversarial)[] images, string data = "test (uniform sample of 4, seed 0)")
    {
        var outcomes = images.Select((m, i) => new ImageOutcome(i, m.Label, m.Clean, attack, m.Adversarial, 0.03, 1, m.Adversarial == m.Label)).ToList();
        AttackSummary Summary(string name, int correct) { var (lo, hi) = Wilson.Interval(correct, images.Length); return new(name, correct, images.Length, lo, hi); }
        var report = new EvaluationReport(images.Length, Summary("clean", images.Count(m => m.Clean == m.Label)),
            [Summary(attack, outcomes.Count(o => o.Correct))], Summary("worst case", images.Count(m => m.Clean == m.Label && m.Adversarial == m.Label)), outcomes, []);
        return new DefenceResult(defence, defence, "twin", report, data, $"pdnn evaluate --attacks {attack}", "CPU", 1);
    }

    [TestMethod]
    [DataRow(358, 329, 0.2854)] // NSR against nsr-srgan on 10,000 images (models/robustness/nsr-vs-nsr-srgan-10000)
    [DataRow(0, 5, 0.0625)]     // 2 x 0.5^5
    [DataRow(1, 9, 0.0215)]     // 2 x 11 / 1024
    [DataRow(3, 3, 1.0)]        // capped at 1
    [DataRow(0, 0, 1.0)]        // no disagreement, no evidence
    public void McNemarIsTheExactBinomialTestOfTheDisagreements(int onlyA, int onlyB, double p)
    {
        Assert.AreEqual(p, PairedComparison.McNemarP(onlyA, onlyB), 5e-5);
        Assert.AreEqual(PairedComparison.McNemarP(onlyA, onlyB), PairedComparison.McNemarP(onlyB, onlyA), "two-sided: symmetric");
    }

    [TestMethod]
    public void TwoDefencesPairOnTheImagesTheyShare()
    {
        var root = TestPaths.NewTempDir();
        var settings = new AttackSettings();
        // Run a: 4 images. nsr: all right clean, PGD leaves images 0 and 1. fir-g1: image 3 wrong clean, PGD leaves image 2 only.
        EvaluationFiles.Write(Path.Combine(root, "a", "nsr"), Run("nsr", "PGD-10", [(1, 1, 1), (2, 2, 2), (3, 3, 0), (4, 4, 0)]), settings);
        EvaluationFiles.Write(Path.Combine(root, "a", "fir-g1"), Run("fir-g1", "PGD-10", [(1, 1, 0), (2, 2, 0), (3, 3, 3), (4, 0, 0)]), settings);
        // Run b: the first 2 of the same images, nsr only: image 0 falls to the pixel attack.
        EvaluationFiles.Write(Path.Combine(root, "b", "nsr"), Run("nsr", "1px (DE)", [(1, 1, 5), (2, 2, 2)], "test (uniform sample of 2, seed 0)"), settings);
        // Run c, same 4 images, fir-g1 only, another attack: nothing in common with a's nsr, so not paired with it.
        EvaluationFiles.Write(Path.Combine(root, "c", "fir-g1"), Run("fir-g1", "Square", [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)]), settings);

        var rows = PairedComparison.Compare([Path.Combine(root, "a"), Path.Combine(root, "b"), Path.Combine(root, "c")], "nsr", "fir-g1");
        // p rounded: the binomial CDF is computed through the regularised beta function, exact to ~1e-15.
        PairedRow Find(string measure, string run) => rows.Single(r => r.Measure == measure && r.Runs == run) is var row ? row with { P = Math.Round(row.P, 9) } : null!;

        Assert.AreEqual(new PairedRow("clean", "a", 4, 4, 3, 1, 0, 1.0), Find("clean", "a"));
        Assert.AreEqual(new PairedRow("PGD-10", "a", 4, 2, 1, 2, 1, 1.0), Find("PGD-10", "a"));
        Assert.AreEqual(new PairedRow("worst case", "a", 4, 2, 1, 2, 1, 1.0), Find("worst case", "a"));
        // b (2 images) is not paired with a (4) run by run, nor c (no attack in common) with a.
        Assert.IsFalse(rows.Any(r => r.Runs.Contains('/') || r.Measure == "1px (DE)" || r.Measure == "Square"));
        // Every attack of every run: nsr survives both only on image 1, fir-g1 (a and c) on neither of the 2 shared images.
        Assert.AreEqual(new PairedRow("worst case, every attack of every run", "a, b, c", 2, 1, 0, 1, 0, 1.0), Find("worst case, every attack of every run", "a, b, c"));
        Assert.HasCount(4, rows);
        StringAssert.Contains(PairedComparison.Markdown("x", "y", [new PairedRow("m", "r", 40, 40, 0, 40, 0, PairedComparison.McNemarP(40, 0))], ["r"]),
                              "| m | r | 40 | 100.0 | 0.0 | 40 | 0 | < 0.0001 |", "a p too small for four decimals is not printed as 0");
        StringAssert.Contains(PairedComparison.Markdown("nsr", "fir-g1", rows, ["a", "b"]), "| PGD-10 | a | 4 | 50.0 | 25.0 | 2 | 1 | 1 |");
    }

    [TestMethod]
    public void DefencesNeverOnTheSameImagesOrAMissingDefenceAreRefused()
    {
        var root = TestPaths.NewTempDir();
        EvaluationFiles.Write(Path.Combine(root, "a", "nsr"), Run("nsr", "PGD-10", [(1, 1, 1)]), new AttackSettings());
        EvaluationFiles.Write(Path.Combine(root, "b", "fs"), Run("fs", "PGD-10", [(1, 1, 1)], "test (uniform sample of 4, seed 1)"), new AttackSettings());
        string[] runs = [Path.Combine(root, "a"), Path.Combine(root, "b")];

        var other = Assert.ThrowsExactly<ArgumentException>(() => PairedComparison.Compare(runs, "nsr", "fs"));
        StringAssert.Contains(other.Message, "never evaluated on the same sample");
        var missing = Assert.ThrowsExactly<ArgumentException>(() => PairedComparison.Compare(runs, "nsr", "jpeg"));
        StringAssert.Contains(missing.Message, "'jpeg'");
        StringAssert.Contains(missing.Message, "found: nsr, fs");
    }

    [TestMethod]
    public void AWholeSetRunIsNotPairedWithASampleOfIt()
    {
        // The whole test set is evaluated in its own order, a sample of it shuffled: the two must not pair by place.
        var root = TestPaths.NewTempDir();
        EvaluationFiles.Write(Path.Combine(root, "a", "nsr"), Run("nsr", "PGD-10", [(1, 1, 1), (2, 2, 2)]), new AttackSettings());
        EvaluationFiles.Write(Path.Combine(root, "b", "nsr"), Run("nsr", "PGD-10", [(1, 1, 1), (2, 2, 2), (3, 3, 3)], "test"), new AttackSettings());
        var error = Assert.ThrowsExactly<ArgumentException>(() => MergedReport.Write([Path.Combine(root, "a"), Path.Combine(root, "b")], root, "t"));
        StringAssert.Contains(error.Message, "different data or seeds");
    }
}
