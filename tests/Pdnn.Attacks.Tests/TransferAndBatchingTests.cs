using Microsoft.ML;
using Pdnn.Attacks.Attacks;
using Pdnn.Attacks.Evaluation;
using Pdnn.Attacks.MLNet;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.MLNet.Transforms;
using Pdnn.Onnx.Import;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

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
        Assert.IsTrue(onC.Zip(y.data<long>().ToArray()).Count(p => p.First == p.Second) < chain.Zip(y.data<long>().ToArray()).Count(p => p.First == p.Second),
            "the transfer fools C itself more often than it fools the φDNN");
    }
}

[TestClass]
public sealed class PixelAttackBatchingTests
{
    /// <summary>
    /// Differential evolution with the populations of several images stacked into one model call finds the same pixels,
    /// with the same queries, as one image at a time; and an image's search does not depend on the batch it is in.
    /// </summary>
    [TestMethod]
    public void BatchedDifferentialEvolutionFindsTheSamePixelsAsOneImageAtATime()
    {
        var (resnet, _) = ClassifierFile.Load(Path.Combine(TestPaths.RepoRoot, "models", "resnet20-cifar10"), CPU);
        Func<Tensor, Tensor> model = input => { using var noGrad = no_grad(); return resnet.forward(input); };
        var test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(8, 4);
        using var images = new DeviceImages(test, CPU);
        var (x, y) = images.Range(0, test.Count);
        long[] ids = [10, 11, 12, 13, 14, 15, 16, 17];

        var oneAtATime = new PixelAttack(model, pixels: 3, population: 30, generations: 8, seed: 2, imagesPerCall: 1);
        var stacked = new PixelAttack(model, pixels: 3, population: 30, generations: 8, seed: 2, maxQueryBatch: 100); // calls cut across images
        var a = oneAtATime.Perturb(x, y, ids);
        var b = stacked.Perturb(x, y, ids);

        Assert.IsTrue(a.eq(b).all().item<bool>(), "the same adversarial pixels");
        CollectionAssert.AreEqual(oneAtATime.QueriesPerImage, stacked.QueriesPerImage);
        Assert.IsLessThan(oneAtATime.ModelCalls, stacked.ModelCalls);
        // Not vacuous: some images were fooled early, others searched every generation.
        Assert.IsTrue(stacked.QueriesPerImage.Any(q => q < 30 * 9) && stacked.QueriesPerImage.Any(q => q == 30 * 9), string.Join(",", stacked.QueriesPerImage));
        using (no_grad()) Assert.IsTrue(model(b).argmax(1).ne(y).any().item<bool>());

        var alone = new PixelAttack(model, pixels: 3, population: 30, generations: 8, seed: 2).Perturb(x.narrow(0, 5, 1), y.narrow(0, 5, 1), [ids[5]]);
        Assert.IsTrue(alone[0].eq(b[5]).all().item<bool>(), "image 15 alone = image 15 among the others");
    }
}
