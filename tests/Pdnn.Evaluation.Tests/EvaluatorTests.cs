using Pdnn.Attacks.Attacks;
using Pdnn.Evaluation;
using static TorchSharp.torch;

namespace Pdnn.Evaluation.Tests;

[TestClass]
public sealed class EvaluatorTests
{
    [TestMethod]
    public void WilsonIntervalMatchesPublishedValues()
    {
        var (low, high) = Wilson.Interval(0, 10);
        Assert.AreEqual(0.0, low, 1e-4);
        Assert.AreEqual(0.2775, high, 1e-4);
        (low, high) = Wilson.Interval(5, 10);
        Assert.AreEqual(0.2366, low, 1e-4);
        Assert.AreEqual(0.7634, high, 1e-4);
    }

    /// <summary>Class = whether the mean pixel exceeds 0.5; images whose label is known by construction.</summary>
    static (Func<Tensor, Tensor> Model, Tensor X, Tensor Y) Brightness()
    {
        Func<Tensor, Tensor> model = x => { var m = x.flatten(1).mean([1]); return stack([0.5 - m, m - 0.5], 1); };
        var levels = new float[] { 0.1f, 0.3f, 0.45f, 0.55f, 0.7f, 0.9f, 0.2f, 0.8f };
        var x = stack(levels.Select(v => full([3, 4, 4], v)).ToArray());
        var y = tensor(new long[] { 0, 0, 0, 1, 1, 1, 1, 0 }); // the last two are mislabelled on purpose: clean accuracy 6/8
        return (model, x, y);
    }

    [TestMethod]
    public void SummaryMatchesAHandCount()
    {
        var (model, x, y) = Brightness();
        var attacks = new[]
        {
            new NamedAttack("none", (images, _, _) => images.clone()),
            // Pushes every image by 0.1 towards the other class: flips exactly those within 0.1 of the boundary (0.45, 0.55).
            new NamedAttack("shift", (images, labels, _) => (images + 0.1 * (1 - 2 * labels.to(ScalarType.Float32)).reshape(-1, 1, 1, 1)).clamp(0, 1)),
        };

        var report = RobustnessEvaluator.Run(model, x, y, attacks, batchSize: 3);

        Assert.AreEqual(6, report.Clean.Correct);
        Assert.AreEqual(6, report.Attacks[0].Correct);
        Assert.AreEqual(4, report.Attacks[1].Correct, "0.45 and 0.55 flip; the mislabelled two stay wrong");
        Assert.AreEqual(4, report.WorstCase.Correct);
        Assert.HasCount(16, report.Outcomes);
        var shifted = report.Outcomes.Where(o => o.Attack == "shift").ToList();
        Assert.IsTrue(shifted.All(o => Math.Abs(o.LinfNorm - 0.1) < 1e-6), "every image moved by exactly 0.1 in L∞");
        Assert.AreEqual(1L, shifted[2].AdversarialPrediction);
        Assert.IsEmpty(report.Flags);
    }

    [TestMethod]
    public void FlagsWarnAboutQueryOnlyWinsAndMissingEot()
    {
        var (model, x, y) = Brightness();
        var attacks = new[]
        {
            new NamedAttack("weak white-box", (images, _, _) => images.clone()),
            new NamedAttack("black-box", (images, _, _) => (1 - images), QueryOnly: true),
        };

        var report = RobustnessEvaluator.Run(model, x, y, attacks, randomised: true);

        Assert.IsTrue(report.Flags.Any(f => f.Contains("possible gradient masking")), string.Join("\n", report.Flags));
        Assert.IsTrue(report.Flags.Any(f => f.Contains("without EOT")), string.Join("\n", report.Flags));
    }

    [TestMethod]
    public void EpsilonChecksCatchTheUsualSymptoms()
    {
        Assert.IsEmpty(RobustnessEvaluator.EpsilonChecks([(0, 0.9), (2 / 255.0, 0.5), (8 / 255.0, 0.1), (0.3, 0.0)], 0.9));
        var flags = RobustnessEvaluator.EpsilonChecks([(0, 0.7), (2 / 255.0, 0.5), (8 / 255.0, 0.6), (0.3, 0.4)], 0.9);
        Assert.HasCount(3, flags);
    }

    /// <summary>
    /// A unit of work that takes long (DE at the paper's budget ran 16–27 min per 50-image unit) reports progress from
    /// inside the unit, as the attack's share of the unit's images, never going back; an attack without a reporter
    /// reports at unit ends only.
    /// </summary>
    [TestMethod]
    public void AttacksReportProgressFromInsideAUnit()
    {
        // Mean brightness decides the class; one pixel of 16 cannot move 0.1 or 0.9 across 0.5, so DE runs every generation.
        Func<Tensor, Tensor> model = x => { var m = x.flatten(1).mean([1]); return stack([0.5 - m, m - 0.5], 1); };
        var x = stack(new[] { 0.1f, 0.9f, 0.1f, 0.9f }.Select(v => full([3, 4, 4], v)).ToArray());
        var y = tensor(new long[] { 0, 1, 0, 1 });
        var de = new PixelAttack(model, 1, population: 4, generations: 8);
        var reports = new Dictionary<string, List<int>>();
        RobustnessEvaluator.Run(model, x, y,
            [new NamedAttack("de", de.Perturb, QueryOnly: true, Reporter: de), new NamedAttack("silent", (images, _, _) => images.clone())],
            progress: (job, done, total) => { Assert.AreEqual(4, total); (reports.TryGetValue(job, out var l) ? l : reports[job] = []).Add(done); });

        var seen = reports["de"];
        CollectionAssert.IsSubsetOf(new[] { 1, 2, 3 }, seen, $"DE's progress inside its one unit: {string.Join(",", seen)}");
        Assert.IsTrue(seen.Zip(seen.Skip(1)).All(p => p.Second >= p.First), "never backwards");
        Assert.AreEqual(4, seen[^1]);
        CollectionAssert.AreEqual(new[] { 0, 4 }, reports["silent"]);
        Assert.IsNull(de.Progress, "the evaluator detaches its callback after the unit");
    }

    /// <summary>
    /// SkipMisclassified (AutoAttack's protocol): the misclassified images are not attacked and keep their clean answer
    /// (no perturbation, no queries); the others get the outcomes of the full run (PGD's random start is drawn per image
    /// id, not per batch position); the worst case is the same; the attack is handed only the correctly classified images.
    /// </summary>
    [TestMethod]
    public void SkippingMisclassifiedImagesLeavesThemUnattackedAndTheRestAsTheyWere()
    {
        var (model, x, y) = Brightness(); // clean: 6 of 8 correct, images 6 and 7 mislabelled
        var pgd = new Pgd(model, 0.06, 0.02, 10);
        var handed = new List<long>();
        // A second "attack" that moves every image towards its label's side, like a lucky draw of a randomised defence:
        // on the two misclassified images it lands on the right answer, unless they are skipped.
        var attacks = new[]
        {
            new NamedAttack("pgd", (images, labels, ids) => { handed.AddRange(ids); return pgd.Perturb(images, labels, ids); }),
            new NamedAttack("lucky", (images, labels, _) => (images - 0.4 * (1 - 2 * labels.to(ScalarType.Float32)).reshape(-1, 1, 1, 1)).clamp(0, 1)),
        };

        var full = RobustnessEvaluator.Run(model, x, y, attacks, false, new EvaluationUnits { BatchSize = 4 });
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 }, handed);
        handed.Clear();
        var skipped = RobustnessEvaluator.Run(model, x, y, attacks, false, new EvaluationUnits { BatchSize = 4, SkipMisclassified = true }); // the second batch, 4–7, is half misclassified

        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4, 5 }, handed, "only the correctly classified images are attacked");
        Assert.AreEqual(8, full.Attacks[1].Correct, "without skipping, the lucky attack makes the two misclassified images correct");
        Assert.AreEqual(6, skipped.Attacks[1].Correct);
        Assert.AreEqual(full.WorstCase.Correct, skipped.WorstCase.Correct);
        foreach (var (a, b) in full.Outcomes.Zip(skipped.Outcomes))
        {
            Assert.AreEqual((a.Index, a.Attack), (b.Index, b.Attack));
            if (a.Index < 6) Assert.AreEqual(a, b, $"image {a.Index}, {a.Attack}: attacked in a smaller batch, the same outcome");
            else
            {
                Assert.AreEqual(b.CleanPrediction, b.AdversarialPrediction, "unattacked: the clean answer");
                Assert.AreEqual(0.0, b.LinfNorm);
                Assert.IsFalse(b.Correct);
            }
        }
    }

    /// <summary>
    /// Journals written before SkipMisclassified existed hold keys hashed from the settings' JSON: with the option off, that
    /// JSON must be what it was, or every committed journal would be refused on --resume.
    /// </summary>
    [TestMethod]
    public void SettingsWithoutSkippingSerialiseAsBeforeTheOptionExisted()
    {
        Assert.AreEqual("{\"Epsilon\":0.03137254901960784,\"Steps\":10,\"EotSamples\":8,\"SquareQueries\":1000,\"PixelPopulation\":400," +
                        "\"PixelGenerations\":100,\"MaxQueryBatch\":1024,\"Seed\":0}", System.Text.Json.JsonSerializer.Serialize(new AttackSettings()));
        StringAssert.Contains(System.Text.Json.JsonSerializer.Serialize(new AttackSettings { SkipMisclassified = true }), "\"SkipMisclassified\":true");
    }

    [TestMethod]
    public void PgdThroughTheEvaluatorRespectsTheBudget()
    {
        var (model, x, y) = Brightness();
        var pgd = new Pgd(model, 0.06, 0.02, 10);
        var report = RobustnessEvaluator.Run(model, x, y, [new NamedAttack("pgd", pgd.Perturb)]);
        Assert.IsTrue(report.Outcomes.All(o => o.LinfNorm <= 0.06 + 1e-6));
        Assert.AreEqual(4, report.Attacks[0].Correct, "ε = 0.06 flips the images at 0.45 and 0.55 only");
    }
}
