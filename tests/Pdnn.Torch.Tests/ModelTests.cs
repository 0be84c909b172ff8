using Pdnn.Torch.Models;
using Pdnn.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class ModelTests
{
    static long Parameters(nn.Module m) => m.parameters().Sum(p => p.numel());

    [TestMethod]
    public void ResNetSizesMatchTheirPublishedCounts()
    {
        // ResNet-20 (He et al. 2016): 0.27 M with zero-padding shortcuts; the 1x1-conv shortcuts used here add ~2.8 k.
        var resnet20 = Parameters(new CifarResNet(ResNetSpec.ResNet20, 10));
        Assert.IsTrue(resnet20 is > 268_000 and < 276_000, $"ResNet-20 has {resnet20} parameters");
        // ResNet-18 for CIFAR: 11.17 M.
        var resnet18 = Parameters(new CifarResNet(ResNetSpec.ResNet18, 10));
        Assert.IsTrue(resnet18 is > 11_100_000 and < 11_250_000, $"ResNet-18 has {resnet18} parameters");
    }

    [TestMethod]
    public void MapsABatchOfImagesToClassLogits()
    {
        using var scope = NewDisposeScope();
        var model = new CifarResNet(ResNetSpec.ResNet20, 10);
        model.eval();
        using var images = new DeviceImages(TestData.Test.Subset([0, 1, 2, 3, 4]), CPU);
        var logits = model.forward(images.Range(0, 5).Images);
        CollectionAssert.AreEqual(new long[] { 5, 10 }, logits.shape);
        Assert.IsTrue(logits.isfinite().all().item<bool>());
    }

    [TestMethod]
    public void NormalisationIsTheFirstLayerAndTravelsWithTheWeights()
    {
        var normalize = new PixelNormalize([0.5f, 0.25f, 0f], [0.5f, 0.25f, 2f]);
        var x = tensor(new float[] { 1f, 0.5f, 1f }).reshape(1, 3, 1, 1);
        CollectionAssert.AreEqual(new[] { 1f, 1f, 0.5f }, normalize.forward(x).data<float>().ToArray());
        var names = new CifarResNet(ResNetSpec.Tiny, 10).state_dict().Keys.ToList();
        CollectionAssert.Contains(names, "normalize.mean");
        CollectionAssert.Contains(names, "normalize.std");
    }

    [TestMethod]
    public void UnknownArchitectureIsNamed()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ResNetSpec.FromName("vgg19"));
        StringAssert.Contains(e.Message, "vgg19");
        StringAssert.Contains(e.Message, "resnet20");
    }
}
