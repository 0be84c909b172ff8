using Pdnn.Tests;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Models;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class ClassifierFileTests
{
    static (string Dir, CifarResNet Model) SaveTrainedTiny()
    {
        var options = new TrainOptions { Architecture = "tiny", Epochs = 1, BatchSize = 64, Seed = 1 };
        var model = new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null))
            .Run(TestData.Train.Sample(256, 0), null, null, false).Model;
        var dir = TestPaths.NewTempDir();
        ClassifierFile.Save(dir, "classifier", model, new ModelCard
        {
            Architecture = "tiny", ClassNames = TestData.Train.ClassNames.ToArray(), InputShape = [3, 32, 32],
            TrainData = "test", WeightsFile = "", WeightsSha256 = "",
        });
        return (dir, model);
    }

    [TestMethod]
    public void ReloadedModelGivesIdenticalOutputsOnRealImages()
    {
        var (dir, model) = SaveTrainedTiny();
        var (loaded, card) = ClassifierFile.Load(dir);

        using var images = new DeviceImages(TestData.Test, CPU);
        var x = images.Range(0, 100).Images;
        model.eval();
        using var noGrad = no_grad();
        Assert.IsTrue(model.forward(x).eq(loaded.forward(x)).all().item<bool>(), "logits must be bit-identical after reload");
        Assert.AreEqual(64, card.WeightsSha256.Length);
        Assert.AreEqual(ClassifierEvaluator.Evaluate(model, images).Correct, ClassifierEvaluator.Evaluate(loaded, images).Correct);
    }

    [TestMethod]
    public void AlteredWeightsAreRefused()
    {
        var (dir, _) = SaveTrainedTiny();
        var weights = Path.Combine(dir, "classifier.weights.bin");
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(weights, bytes);

        var e = Assert.ThrowsExactly<InvalidDataException>(() => ClassifierFile.Load(dir));
        StringAssert.Contains(e.Message, weights);
        StringAssert.Contains(e.Message, "SHA-256");
    }

    [TestMethod]
    public void MissingWeightsAreNamed()
    {
        var (dir, _) = SaveTrainedTiny();
        File.Delete(Path.Combine(dir, "classifier.weights.bin"));

        var e = Assert.ThrowsExactly<FileNotFoundException>(() => ClassifierFile.Load(dir));
        StringAssert.Contains(e.Message, "classifier.weights.bin");
    }
}
