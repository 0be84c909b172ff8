using Pdnn.Tests;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class ShippedModelTests
{
    [TestMethod]
    public void ShippedResNet20LoadsWithItsHashAndClassifiesTheSampleAsItsCardSays()
    {
        var (model, card) = ClassifierFile.Load(Path.Combine(TestPaths.RepoRoot, "models", "resnet20-cifar10"), CPU);
        using var images = new DeviceImages(TestData.Test, CPU);

        var result = ClassifierEvaluator.Evaluate(model, images);

        Assert.AreEqual("resnet20", card.Architecture);
        CollectionAssert.AreEqual(Pdnn.Data.Cifar10.ClassNames.ToArray(), card.ClassNames);
        // The card reports 87.91% on all 10,000 test images; the 500 bundled ones are among them (binomial sd ≈ 1.5%).
        Assert.AreEqual(card.TestAccuracy!.Value, result.Accuracy, 0.06, $"accuracy on the bundled sample {result.Accuracy:P1}");
    }
}
