using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class MixedPrecisionTests
{
    static readonly TrainOptions Tiny = new() { Architecture = "tiny", Epochs = 2, BatchSize = 64, LearningRate = 0.05, Seed = 3 };

    static TrainResult Train(TrainOptions options, string? checkpoint = null, bool resume = false) =>
        new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null))
            .Run(TestData.Train.Sample(512, seed: 0), TestData.Test, checkpoint, resume);

    /// <summary>One SGD step from the same weights on the same real images, in float32 and in bfloat16: the bfloat16 step
    /// must move every weight tensor the way the float32 step does (bfloat16 keeps ~3 significant digits, so the two
    /// updates differ a little, but they point the same way). A clean step, because an adversarial one would also
    /// differ by the examples crafted (a gradient's sign flips where it is near zero).</summary>
    [TestMethod]
    public void BFloat16StepMovesTheFloat32WeightsLikeAFloat32Step()
    {
        using var images = new DeviceImages(TestData.Train.Sample(64, seed: 1), CPU);
        var (x, y) = images.Range(0, 64);
        var spec = ResNetSpec.FromName("tiny");

        Dictionary<string, Tensor> Update(bool bf16)
        {
            manual_seed(5);
            var model = new CifarResNet(spec, 10);
            var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
            var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
            using var mixed = bf16 ? new MixedPrecision(model, spec, 10, CPU) : null;
            Func<Tensor, Tensor> classify = mixed != null ? mixed.Forward : model.forward;
            mixed?.Load();
            ClassifierTrainer.Step(classify, optimizer, x, y, 0, mixed);
            return model.state_dict().ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float32) - before[p.Key].to(ScalarType.Float32));
        }

        var exact = Update(bf16: false);
        var mixedUpdate = Update(bf16: true);
        foreach (var (name, delta) in exact)
        {
            if (name.EndsWith("num_batches_tracked")) continue;
            if (delta.norm().item<float>() == 0)
            {
                // Constants (the input normalisation) must not pick up bfloat16 rounding on their way through the copy.
                Assert.AreEqual(0f, mixedUpdate[name].abs().max().item<float>(), $"{name} changed in the bfloat16 step");
                continue;
            }
            double cosine = (delta * mixedUpdate[name]).sum().item<float>()
                            / (delta.norm().item<float>() * mixedUpdate[name].norm().item<float>() + 1e-12);
            Assert.IsTrue(cosine > 0.98, $"{name}: the bfloat16 update has cosine {cosine:F3} with the float32 one");
        }
    }

    [TestMethod]
    public void BFloat16TrainingLearnsAndKeepsFloat32Weights()
    {
        var result = Train(Tiny with { Epochs = 4, Precision = TrainingPrecision.BFloat16 });

        foreach (var (name, tensor) in result.Model.state_dict())
            if (tensor.is_floating_point()) Assert.AreEqual(ScalarType.Float32, tensor.dtype, name);
        var history = result.State.History;
        Assert.IsTrue(history[^1].TrainLoss < history[0].TrainLoss - 0.1, $"loss {history[0].TrainLoss:F3} -> {history[^1].TrainLoss:F3}");
        // Chance is 10% on the 500 balanced test images (evaluated in float32 on the master weights).
        Assert.IsTrue(history[^1].TestAccuracy > 0.20, $"test accuracy {history[^1].TestAccuracy:P1}");
    }

    [TestMethod]
    public void BFloat16RunResumesToTheUninterruptedWeightsAndOnlyInBFloat16()
    {
        var options = Tiny with { Precision = TrainingPrecision.BFloat16 };
        var straight = Train(options);
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        Assert.IsFalse(Train(options with { MaxSteps = 5 }, checkpoint).Completed);

        var float32 = Assert.ThrowsExactly<InvalidOperationException>(() => Train(Tiny, checkpoint, resume: true));
        StringAssert.Contains(float32.Message, "same options");
        var resumed = Train(options, checkpoint, resume: true);

        Assert.IsTrue(resumed.Completed);
        foreach (var (name, tensor) in straight.Model.state_dict())
        {
            var diff = (tensor.to(ScalarType.Float64) - resumed.Model.state_dict()[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.IsTrue(diff <= 1e-4, $"{name} differs by {diff}");
        }
    }
}
