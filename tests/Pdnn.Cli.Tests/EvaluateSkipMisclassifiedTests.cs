using System.Globalization;
using System.Text.Json;
using Pdnn.Tests;

namespace Pdnn.Cli.Tests;

/// <summary>
/// `evaluate --skip-misclassified` (AutoAttack's protocol): misclassified images are not attacked, the setting is recorded
/// where a reader looks (results.json, the tables' footnote), and it is part of the journal's key, so a journal written
/// one way is never resumed the other way.
/// </summary>
[TestClass]
public sealed class EvaluateSkipMisclassifiedTests
{
    static string[] Options(string dir) =>
    [
        "evaluate", "--defense", "none", "--models", Path.Combine(TestPaths.RepoRoot, "models"), "--data", TestPaths.Sample, "--n", "32",
        "--attacks", "fgsm,pgd", "--steps", "2", "--eps-curve", "", "--device", "cpu", "--out", dir,
    ];

    [TestMethod]
    public void MisclassifiedImagesAreLeftUnattackedAndTheRunSaysSo()
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), "eval");
        var run = PdnnProcess.Run([.. Options(dir), "--skip-misclassified"]);
        Assert.AreEqual(0, run.ExitCode, run.ToString());

        var rows = File.ReadLines(Path.Combine(dir, "none", "outcomes.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.HasCount(2 * 32, rows);
        // index,label,clean_prediction,attack,adversarial_prediction,linf,l2,queries,correct
        var misclassified = rows.Where(r => r[1] != r[2]).ToList();
        Assert.IsNotEmpty(misclassified, "the bundled sample has images the plain classifier gets wrong");
        foreach (var r in misclassified)
        {
            Assert.AreEqual(r[2], r[4], $"image {r[0]}, {r[3]}: unattacked, so its clean answer");
            Assert.AreEqual(0.0, double.Parse(r[5], CultureInfo.InvariantCulture), $"image {r[0]}, {r[3]}: no perturbation");
        }
        Assert.IsTrue(rows.Where(r => r[1] == r[2]).Any(r => double.Parse(r[5], CultureInfo.InvariantCulture) > 0), "the others were attacked");

        var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "none", "results.json"))).RootElement.GetProperty("Settings");
        Assert.IsTrue(settings.GetProperty("SkipMisclassified").GetBoolean());
        var summary = File.ReadAllText(Path.Combine(dir, "summary.md"));
        StringAssert.Contains(summary, " ‡ |");
        StringAssert.Contains(summary, "--skip-misclassified");

        // The same folder resumed without the option: another key, refused with a reason, nothing overwritten.
        var outcomes = File.ReadAllBytes(Path.Combine(dir, "none", "outcomes.csv"));
        var other = PdnnProcess.Run([.. Options(dir), "--resume"]);
        Assert.AreEqual(2, other.ExitCode, other.ToString());
        StringAssert.Contains(other.Output, "other models or options");
        CollectionAssert.AreEqual(outcomes, File.ReadAllBytes(Path.Combine(dir, "none", "outcomes.csv")));
    }
}
