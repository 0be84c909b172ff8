using Microsoft.ML;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using static TorchSharp.torch;

namespace Pdnn.MLNet.Tests;

[TestClass]
public sealed class ShippedModelTests
{
    [TestMethod]
    public void ShippedOnnxClassifierAgreesWithItsTorchSharpWeights()
    {
        var dir = Path.Combine(TestPaths.RepoRoot, "models", "resnet20-cifar10");
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var scores = RealImages.Images(ml.Transforms.RobustClassify(Path.Combine(dir, "classifier.onnx")).Fit(data).Transform(data), "Score");

        var (model, _) = ClassifierFile.Load(dir, CPU);
        var images = RealImages.Images(data);
        using var noGrad = no_grad();
        var expected = nn.functional.softmax(model.forward(tensor(images.SelectMany(v => v).ToArray(), [images.Length, 3, 32, 32])), 1).data<float>().ToArray();

        var actual = scores.SelectMany(v => v).ToArray();
        for (int i = 0; i < actual.Length; i++) Assert.AreEqual(expected[i], actual[i], 1e-4, $"score {i}");
    }
}
