using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.Evaluation;
using Pdnn.Evaluation.MLNet;
using Pdnn.MLNet;
using Pdnn.Tests;
using static TorchSharp.torch;

namespace Pdnn.Evaluation.Tests;

/// <summary>The evaluator as an ML.NET transformer: a fitted chain + an IDataView of images and labels → per-image outcomes.</summary>
[TestClass]
public sealed class AttackEvaluatorTests
{
    static readonly string Models = Path.Combine(TestPaths.RepoRoot, "models");
    static readonly ImageDataset Test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false });

    static readonly AttackEvaluatorOptions Options = new()
    {
        Attacks = ["fgsm", "1px"], SampleSize = 24, Device = "cpu",
        Settings = new AttackSettings { Seed = 7, PixelPopulation = 40, PixelGenerations = 5 },
    };

    [TestMethod]
    public void OutcomesMatchTheSummaryAndTheChainsOwnPredictions()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, "none").Fit(data);
        using var evaluator = ml.Transforms.EvaluateRobustness(model, Options);

        var outcomes = evaluator.Transform(data);
        var report = evaluator.LastReport!;

        // One row per sampled image: the same images, in the same order, as ImageDataset.Sample with that seed.
        var sample = Test.Sample(24, 7);
        CollectionAssert.AreEqual(Enumerable.Range(0, 24).Select(i => sample.ClassNames[sample.Labels[i]]).ToArray(),
                                  outcomes.GetColumn<string>("Label").ToArray());
        // Slots named after the attacks; counts per slot equal the summary (a hand count over the view).
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        outcomes.Schema["Correct"].GetSlotNames(ref slotNames);
        CollectionAssert.AreEqual(report.Attacks.Select(a => a.Attack).ToArray(), slotNames.DenseValues().Select(s => s.ToString()).ToArray());
        var correct = outcomes.GetColumn<bool[]>("Correct").ToArray();
        for (int k = 0; k < report.Attacks.Count; k++)
            Assert.AreEqual(report.Attacks[k].Correct, correct.Count(c => c[k]), report.Attacks[k].Attack);
        Assert.AreEqual(report.Clean.Correct, outcomes.GetColumn<bool>("CleanCorrect").Count(c => c));
        Assert.AreEqual(report.WorstCase.Correct, outcomes.GetColumn<bool>("WorstCaseCorrect").Count(c => c));
        Assert.IsLessThanOrEqualTo(report.Clean.Correct, report.Attacks[0].Correct);

        // The twin's clean predictions are the deployed chain's.
        var rows = evaluator.LastRows.ToHashSet();
        var deployed = model.Transform(data).GetColumn<uint>("PredictedLabel").Where((_, i) => rows.Contains(i)).ToArray();
        var chosen = evaluator.LastRows.Select((row, i) => (row, i)).OrderBy(p => p.row).Select(p => p.i).ToArray();
        var twin = outcomes.GetColumn<string>("CleanPrediction").ToArray();
        CollectionAssert.AreEqual(deployed.Select(p => Test.ClassNames[(int)p - 1]).ToArray(), chosen.Select(i => twin[i]).ToArray());

        // FGSM stays in the ε-ball; the DE attack queried the deployed chain, within its budget.
        Assert.IsTrue(outcomes.GetColumn<float[]>("Linf").All(v => v[0] <= 8f / 255 + 1e-6f));
        var queries = outcomes.GetColumn<long[]>("Queries").Select(q => q[1]).ToArray();
        Assert.IsTrue(queries.All(q => q >= 40 && q <= 40 * 6), string.Join(",", queries));
    }

    /// <summary>
    /// The evaluator reads one unit of work's images at a time (from a temporary file); the reference holds the whole
    /// sample in one tensor, as the evaluator did before it streamed. Same seed: the same outcomes, norms to the last bit,
    /// for a randomised defence (NSR, its noise drawn per unit), partial batches, and a shard.
    /// </summary>
    [TestMethod]
    public void StreamedEvaluationGivesTheOutcomesOfTheWholeSampleInMemory()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, "nsr").Fit(data);
        // Small, as NSR's SR generator is slow on a CPU: 8 images in batches of 3, 3 and 2.
        var options = Options with { Attacks = ["fgsm", "pgd"], SampleSize = 8, BatchSize = 3, Settings = Options.Settings with { Steps = 2 } };
        using var evaluator = ml.Transforms.EvaluateRobustness(model, options);
        var streamed = evaluator.Evaluate(data).Outcomes;
        using var shardEvaluator = ml.Transforms.EvaluateRobustness(model, options with { Shard = new Shard(1, 2) });
        var shard = shardEvaluator.Evaluate(data).Outcomes;

        var sample = Test.Sample(8, 7);
        using var x = tensor(Enumerable.Range(0, 8).SelectMany(i => sample.Image(i).ToArray()).Select(b => b / 255f).ToArray(), [8, 3, 32, 32]);
        using var y = tensor(sample.Labels.Select(l => (long)l).ToArray());
        var inMemory = RobustnessEvaluator.Run(evaluator.Twin.Logits, x, y, evaluator.CreateAttacks(), evaluator.Twin.Randomised,
                                               new EvaluationUnits { BatchSize = 3, Seed = 7 }).Outcomes;

        Assert.HasCount(8 * 2, inMemory);
        Assert.IsTrue(inMemory.Any(o => o.Correct) && inMemory.Any(o => !o.Correct), "a sample where some images survive and some do not");
        CollectionAssert.AreEqual(inMemory.ToList(), streamed.ToList());
        // Shard 1 of 2 holds batch 1: images 3, 4 and 5.
        CollectionAssert.AreEqual(inMemory.Where(o => o.Index is >= 3 and < 6).ToList(), shard.ToList());
    }

    [TestMethod]
    public void KeyLabelsGiveTheSameReportAsClassNames()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, "fs").Fit(data);
        var options = Options with { Attacks = ["fgsm"] };
        using var byName = ml.Transforms.EvaluateRobustness(model, options);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(Test.ClassNames.Reverse().Select(n => new { Label = n })))
            .Fit(data).Transform(data);
        using var byKey = ml.Transforms.EvaluateRobustness(model, options);
        Assert.AreEqual(byName.Evaluate(data).Attacks[0].Correct, byKey.Evaluate(keyed).Attacks[0].Correct);
        Assert.AreEqual(byName.LastReport!.Clean.Correct, byKey.LastReport!.Clean.Correct);
    }

    [TestMethod]
    public void BadColumnsAreNamed()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, "none").Fit(data);
        using var evaluator = ml.Transforms.EvaluateRobustness(model, Options with { LabelColumn = "Class" });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => evaluator.Transform(data));
        StringAssert.Contains(error.Message, "'Class'");
        var unknown = Assert.ThrowsExactly<ArgumentException>(() => new AttackEvaluator(model, Options with { Attacks = ["pgd", "cw"] }));
        StringAssert.Contains(unknown.Message, "'cw'");
    }
}
