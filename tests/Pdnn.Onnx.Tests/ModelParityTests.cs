using Pdnn.Data;
using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Onnx.Tests;

[TestClass]
public sealed class ModelParityTests
{
    [TestMethod]
    [DataRow("tiny")]
    [DataRow("resnet20")]
    [DataRow("resnet18")]
    public void UntrainedResNetMatchesOnnxRuntime(string architecture)
    {
        manual_seed(1);
        var model = new CifarResNet(ResNetSpec.FromName(architecture), 10);
        var difference = Parity.MaxAbsDifference(model, Parity.RealImages());
        Assert.IsTrue(difference <= 1e-4, $"{architecture}: max abs logit difference {difference:E2}");
    }

    [TestMethod]
    public void TrainedResNetMatchesOnnxRuntimeAndAgreesOnEveryLabel()
    {
        // Trained briefly on real images, so batch-norm statistics and normalisation are not at their defaults.
        var train = DatasetLoader.Load(TestPaths.Sample, Split.Train, new() { UseCache = false }).Sample(512, 0);
        var options = new TrainOptions { Architecture = "resnet8", Epochs = 1, BatchSize = 64, Seed = 2 };
        var model = new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(train, null, null, false).Model;

        var x = Parity.RealImages();
        var difference = Parity.MaxAbsDifference(model, x);

        Assert.IsTrue(difference <= 1e-4, $"max abs logit difference {difference:E2}");
    }
}
