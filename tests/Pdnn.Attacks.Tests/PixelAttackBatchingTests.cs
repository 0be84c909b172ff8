using Pdnn.Attacks.Attacks;
using Pdnn.Data;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

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
