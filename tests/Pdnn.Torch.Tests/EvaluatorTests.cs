using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class EvaluatorTests
{
    /// <summary>Always answers class 3 ("cat"), so the right accuracy is the share of cats.</summary>
    sealed class AlwaysCat() : nn.Module<Tensor, Tensor>("AlwaysCat")
    {
        public override Tensor forward(Tensor x) => nn.functional.one_hot(full([x.shape[0]], 3L), 10).to(ScalarType.Float32) * 5;
    }

    [TestMethod]
    public void AccuracyAndPerClassAccuracyMatchAHandCount()
    {
        var data = TestData.Test.Sample(137, seed: 5);
        int cats = data.Labels.Count(l => l == 3);
        using var images = new DeviceImages(data, CPU);

        var result = ClassifierEvaluator.Evaluate(new AlwaysCat(), images, batchSize: 50); // 137 = 2 full batches + 37

        Assert.AreEqual(137, result.Count);
        Assert.AreEqual(cats, result.Correct);
        Assert.AreEqual(1.0, result.PerClassAccuracy[3]);
        Assert.AreEqual(0.0, result.PerClassAccuracy[0]);
    }
}
