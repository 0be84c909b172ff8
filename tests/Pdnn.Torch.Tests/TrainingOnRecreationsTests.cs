using Pdnn.Torch.Models;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class TrainingOnRecreationsTests
{
    static readonly TrainOptions Tiny = new() { Architecture = "tiny", Epochs = 3, BatchSize = 64, LearningRate = 0.05, Seed = 3 };

    static TrainResult Train(TrainOptions options, Func<Tensor, Tensor>? recreate = null, CifarResNet? initial = null) =>
        new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null))
            .Run(TestData.Train.Sample(1024, 0), TestData.Test, null, false, recreate, initial);

    [TestMethod]
    public void TheRecreationIsWhatTheClassifierSeesInTrainingAndTest()
    {
        // A recreation that erases the image leaves nothing to learn: accuracy stays at chance (10%), on train and test.
        var erased = Train(Tiny, x => zeros_like(x)).State.History[^1];
        var plain = Train(Tiny).State.History[^1];
        Assert.IsTrue(erased.TestAccuracy <= 0.13, $"test accuracy on erased images {erased.TestAccuracy:P1}");
        Assert.IsTrue(erased.TrainAccuracy <= 0.15, $"train accuracy on erased images {erased.TrainAccuracy:P1}");
        Assert.IsTrue(plain.TestAccuracy > 0.2, $"test accuracy on the images themselves {plain.TestAccuracy:P1}");
    }

    [TestMethod]
    public void FineTuningStartsFromTheGivenWeights()
    {
        var start = Train(Tiny with { Epochs = 1 }).Model;
        // Learning rate 0: SGD leaves every weight where it started (batch-norm running statistics still move).
        var tuned = Train(Tiny with { Epochs = 1, LearningRate = 0, Seed = 9 }, initial: start).Model;
        var a = start.state_dict();
        foreach (var (name, value) in tuned.state_dict().Where(p => p.Key.EndsWith("weight")))
            Assert.IsTrue(value.equal(a[name]).all().item<bool>(), $"{name} moved");
    }
}
