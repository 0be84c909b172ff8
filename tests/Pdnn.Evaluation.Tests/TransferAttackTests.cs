using Microsoft.ML;
using Pdnn.Attacks.Attacks;
using Pdnn.Data;
using Pdnn.Evaluation;
using Pdnn.Evaluation.MLNet;
using Pdnn.MLNet;
using Pdnn.MLNet.Transforms;
using Pdnn.Onnx.Import;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Evaluation.Tests;

[TestClass]
public sealed class TransferAttackTests
{
    static readonly string Models = Path.Combine(TestPaths.RepoRoot, "models");

    /// <summary>
    /// The transfer columns are crafted on the chain's classifier alone: the perturbation equals the one crafted on the
    /// classifier's ONNX file loaded on its own, and differs from one crafted through FIR's recreation; the images are
    /// then scored by the whole chain.
    /// </summary>
    [TestMethod]
    public void TransferAttacksUseTheClassifiersGradientsAloneAndAreScoredThroughTheWholeChain()
    {
        var test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(12, 5);
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(test);
        var model = ShippedModels.Chain(ml, Models, "fir", 4).Fit(data);
        var settings = new AttackSettings { Seed = 3, Steps = 3 };
        using var evaluator = new AttackEvaluator(model, new AttackEvaluatorOptions { Attacks = ["fgsm-transfer", "pgd-transfer", "fgsm"], Device = "cpu", Settings = settings });
        var attacks = evaluator.CreateAttacks();
        CollectionAssert.AreEqual(new[] { "FGSM (transfer from C)", "PGD-3 (transfer from C)", "FGSM" }, attacks.Select(a => a.Name).ToArray());

        var classifierFile = ((IEnumerable<ITransformer>)model).OfType<RobustClassifyTransformer>().Single().Describe().Model!;
        using var classifier = OnnxTorchGraph.Load(classifierFile, CPU);
        using var images = new DeviceImages(test, CPU);
        var (x, y) = images.Range(0, test.Count);
        var ids = Attack.Positions(x);

        var transfer = attacks[0].Perturb(x, y, ids);
        Assert.AreEqual(0f, (transfer - new Fgsm(classifier.Forward, settings.Epsilon).Perturb(x, y)).abs().max().item<float>(), "FGSM transfer = FGSM on C alone");
        var throughFir = attacks[2].Perturb(x, y, ids);
        float differ = (throughFir != transfer).to(ScalarType.Float32).mean().item<float>();
        Assert.IsGreaterThan(0.2f, differ, $"FGSM through FIR's recreation moves other pixels the other way ({differ:P0} of the values differ)");
        var pgd = new Pgd(classifier.Forward, settings.Epsilon, settings.Epsilon / 4, 3, seed: 3).Perturb(x, y, ids);
        Assert.AreEqual(0f, (attacks[1].Perturb(x, y, ids) - pgd).abs().max().item<float>(), "PGD transfer = PGD on C alone");

        // Scored by the whole φDNN: the evaluator's predictions are FIR's on the transferred images, not C's.
        var report = evaluator.Evaluate(data);
        using var noGrad = no_grad();
        var chain = evaluator.Twin.Logits(transfer).argmax(1).data<long>().ToArray();
        var scored = report.Outcomes.Where(o => o.Attack == attacks[0].Name).OrderBy(o => o.Index).Select(o => o.AdversarialPrediction).ToArray();
        CollectionAssert.AreEqual(chain, scored);
        var onC = classifier.Forward(transfer).argmax(1).data<long>().ToArray();
        Assert.IsLessThan(chain.Zip(y.data<long>().ToArray()).Count(p => p.First == p.Second), onC.Zip(y.data<long>().ToArray()).Count(p => p.First == p.Second),
            "the transfer fools C itself more often than it fools the φDNN");
    }
}
