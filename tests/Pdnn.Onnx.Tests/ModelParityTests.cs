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
        Assert.IsLessThanOrEqualTo(1e-4, difference, $"{architecture}: max abs logit difference {difference:E2}");
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

        Assert.IsLessThanOrEqualTo(1e-4, difference, $"max abs logit difference {difference:E2}");
    }
}

[TestClass]
public sealed class RecreationModelParityTests
{
    [TestMethod]
    public void SrGeneratorMatchesOnnxRuntime()
    {
        manual_seed(3);
        var model = new Pdnn.Torch.Models.Recreation.SrGenerator(Pdnn.Torch.Models.Recreation.SrGeneratorSpec.Lite);
        var difference = Parity.MaxAbsDifference(model, Parity.RealImages());
        Assert.IsLessThanOrEqualTo(1e-4, difference, $"max abs difference {difference:E2}");
    }

    [TestMethod]
    public void PaperSizeSrGeneratorMatchesOnnxRuntime()
    {
        manual_seed(4);
        var model = new Pdnn.Torch.Models.Recreation.SrGenerator(Pdnn.Torch.Models.Recreation.SrGeneratorSpec.Paper);
        var difference = Parity.MaxAbsDifference(model, Parity.RealImages()[..2]);
        Assert.IsLessThanOrEqualTo(1e-4, difference, $"max abs difference {difference:E2}");
    }

    [TestMethod]
    public void InpainterMatchesOnnxRuntime()
    {
        manual_seed(5);
        var model = new Pdnn.Torch.Models.Recreation.Inpainter(Pdnn.Torch.Models.Recreation.InpainterSpec.Lite);
        var images = Parity.RealImages();
        var mask = (rand([8, 1, 32, 32]) < 0.1).to(ScalarType.Float32);
        var input = cat([images * (1 - mask), mask], 1);
        var difference = Parity.MaxAbsDifference(model, input);
        Assert.IsLessThanOrEqualTo(1e-4, difference, $"max abs difference {difference:E2}");
    }
}
