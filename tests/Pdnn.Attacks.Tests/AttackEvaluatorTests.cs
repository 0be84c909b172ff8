using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Attacks.Evaluation;
using Pdnn.Attacks.MLNet;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.Tests;

namespace Pdnn.Attacks.Tests;

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
