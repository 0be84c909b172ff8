using System.Text.Json;
using Pdnn.Tests;

namespace Pdnn.Cli.Tests;

/// <summary>
/// An evaluation loses nothing and can be split: a killed run resumed with --resume, and a run split into shards merged by
/// evaluate-report, end with exactly the outcomes of one uninterrupted run. NSR, so that the defence's own randomness
/// (noise in the twin and in the deployed chain the pixel attack queries) is part of what must come out the same.
/// </summary>
[TestClass]
public sealed class EvaluateResumeTests
{
    // Small, as NSR's SR generator is slow on a CPU: 3 batches of 2 images, FGSM and 1px, and one ε of the curve (EOT-PGD).
    static string[] Options(string curve = "8") =>
    [
        "evaluate", "--defense", "nsr", "--models", Path.Combine(TestPaths.RepoRoot, "models"), "--data", TestPaths.Sample, "--n", "6", "--batch-size", "2",
        "--attacks", "fgsm,1px", "--steps", "2", "--eot-samples", "2", "--de-population", "8", "--de-generations", "2",
        "--eps-curve", curve, "--curve-n", "2", "--device", "cpu",
    ];

    // Every run's folder is called "eval": the summary names the run folder beside its flags.
    static string NewRunDir() => Path.Combine(TestPaths.NewTempDir(), "eval");

    static readonly Lazy<string> Uninterrupted = new(() =>
    {
        var dir = NewRunDir();
        var run = PdnnProcess.Run([.. Options(), "--out", dir]);
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        return dir;
    });

    static void AssertSameOutcomes(string expected, string actual)
    {
        var outcomes = File.ReadAllBytes(Path.Combine(expected, "nsr", "outcomes.csv"));
        Assert.HasCount(1 + 2 * 6, File.ReadAllLines(Path.Combine(expected, "nsr", "outcomes.csv")), "header + 6 images x 2 attacks");
        CollectionAssert.AreEqual(outcomes, File.ReadAllBytes(Path.Combine(actual, "nsr", "outcomes.csv")), "outcomes.csv differs");
        Assert.AreEqual(File.ReadAllText(Path.Combine(expected, "summary.md")), File.ReadAllText(Path.Combine(actual, "summary.md")));
        var curve = JsonDocument.Parse(File.ReadAllText(Path.Combine(actual, "nsr", "results.json"))).RootElement.GetProperty("EpsilonCurve");
        Assert.AreEqual(1, curve.GetArrayLength());
    }

    static int FinishedUnits(string journal)
    {
        try { return File.Exists(journal) ? File.ReadLines(journal).Count(l => l.StartsWith("end\t")) : 0; }
        catch (IOException) { return 0; }
    }

    [TestMethod]
    public void AKilledEvaluationResumesToTheOutcomesOfAnUninterruptedOne()
    {
        var expected = Uninterrupted.Value;
        var dir = NewRunDir();
        var journal = Path.Combine(dir, "nsr", "journal", "attacks.csv");
        using (var process = PdnnProcess.Start([.. Options(), "--out", dir]))
        {
            // 11 units of work in all (3 batches x clean + 2 attacks, then the curve's 2); kill it after the third.
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (!process.HasExited && FinishedUnits(journal) < 3 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.IsFalse(process.HasExited, $"the run ended (exit {(process.HasExited ? process.ExitCode : 0)}) before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        Assert.IsFalse(File.Exists(Path.Combine(dir, "nsr", "outcomes.csv")), "killed before the end: no results yet");

        var overwrite = PdnnProcess.Run([.. Options(), "--out", dir]);
        Assert.AreEqual(2, overwrite.ExitCode, "an unfinished evaluation is never started afresh without being asked: " + overwrite);
        StringAssert.Contains(overwrite.Output, "--resume");

        var resumed = PdnnProcess.Run([.. Options(), "--out", dir, "--resume"]);
        Assert.AreEqual(0, resumed.ExitCode, resumed.ToString());
        AssertSameOutcomes(expected, dir);
    }

    [TestMethod]
    public void TwoShardsMergedEqualTheUnshardedRun()
    {
        var expected = Uninterrupted.Value;
        var dir = NewRunDir();
        foreach (var shard in new[] { "0/2", "1/2" })
        {
            var run = PdnnProcess.Run([.. Options(), "--out", dir, "--shard", shard]);
            Assert.AreEqual(0, run.ExitCode, run.ToString());
        }
        // Each shard evaluated its own part: batches 0 and 2 (images 0, 1, 4, 5), and batch 1.
        var first = File.ReadLines(Path.Combine(dir, "shard-0-of-2", "nsr", "journal", "attacks.csv")).Where(l => l.StartsWith("unit\tclean")).ToList();
        CollectionAssert.AreEqual(new[] { "unit\tclean\t0", "unit\tclean\t2" }, first);
        Assert.IsFalse(File.Exists(Path.Combine(dir, "summary.md")), "a shard writes no table of its own");

        var merged = PdnnProcess.Run("evaluate-report", "--runs", dir, "--out", dir);
        Assert.AreEqual(0, merged.ExitCode, merged.ToString());
        AssertSameOutcomes(expected, dir);
    }

    [TestMethod]
    public void AMissingShardIsNamed()
    {
        var dir = NewRunDir();
        var run = PdnnProcess.Run([.. Options(curve: ""), "--out", dir, "--shard", "1/3"]);
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        var merged = PdnnProcess.Run("evaluate-report", "--runs", dir, "--out", dir);
        Assert.AreEqual(2, merged.ExitCode, merged.ToString());
        StringAssert.Contains(merged.Output, "0/3, 2/3 missing");
        var bad = PdnnProcess.Run([.. Options(), "--out", dir, "--shard", "3/3"]);
        Assert.AreEqual(2, bad.ExitCode, bad.ToString());
        StringAssert.Contains(bad.Output, "--shard '3/3'");
    }
}
