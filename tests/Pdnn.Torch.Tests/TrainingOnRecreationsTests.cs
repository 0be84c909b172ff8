using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;
using Pdnn.Torch.Training.Recreation;
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
    /// <summary>Recreating the training set once, without augmentation (so the two ways see the same images), trains to the
    /// weights that recreating every batch gives. The recreation here is a mirror image, exact in 8 bits, so the weights
    /// agree to rounding; a run that skipped it, or applied it twice, would learn on the raw images and end elsewhere.</summary>
    [TestMethod]
    public void RecreatingOnceTrainsLikeRecreatingEveryBatch()
    {
        var options = Tiny with { Epochs = 1, Augment = false, Recreation = "mirror" };
        Func<Tensor, Tensor> mirror = x => x.flip(3);
        TrainResult Run(TrainOptions o, Func<Tensor, Tensor>? recreate) => new ClassifierTrainer(o, CPU, new TextTrainingObserver(TextWriter.Null))
            .Run(TestData.Train.Sample(512, 0), TestData.Test.Sample(200, 0), null, false, recreate);
        var everyBatch = Run(options, mirror);
        var once = Run(options with { RecreateOnce = true }, mirror);
        var raw = Run(options with { Recreation = null }, null);
        double Distance(TrainResult a, TrainResult b) => a.Model.state_dict().Where(p => p.Key.EndsWith("weight"))
            .Max(p => (p.Value - b.Model.state_dict()[p.Key]).abs().max().item<float>());
        Assert.IsTrue(Distance(once, everyBatch) < 1e-5, $"recreated once vs every batch: weights differ by {Distance(once, everyBatch)}");
        Assert.IsTrue(Distance(raw, everyBatch) > 1e-3, $"the raw images trained to the same weights ({Distance(raw, everyBatch)}): the test cannot tell");
        Assert.AreEqual(everyBatch.State.History[^1].TestAccuracy!.Value, once.State.History[^1].TestAccuracy!.Value, 1e-9, "per-epoch test accuracy");
    }

    /// <summary>A random recreation (noise drawn at each call, as NSR's) is refused with the reason, and so are the runs
    /// that need the raw images (adversarial training, the held-out checks).</summary>
    [TestMethod]
    public void RecreatingOnceRefusesRandomRecreationsAndAdversarialRuns()
    {
        var noisy = Assert.ThrowsExactly<ArgumentException>(() => Train(Tiny with { Epochs = 1, RecreateOnce = true }, x => x + 0.1f * rand_like(x)));
        StringAssert.Contains(noisy.Message, "different recreations of the same images");
        var adversarial = Tiny with { Epochs = 1, RecreateOnce = true, HeldOut = 100, Adversarial = new AdversarialOptions { Kind = AdversaryKind.FgsmRs } };
        var refused = Assert.ThrowsExactly<ArgumentException>(() => Train(adversarial, x => x));
        StringAssert.Contains(refused.Message, "adversarial training");
    }

    /// <summary>FIR (the shipped g = 8 inpainter, real test images) is deterministic, so its stored recreations are its live
    /// ones rounded to the nearest of 256 levels.</summary>
    [TestMethod]
    public void StoredFirRecreationsAreTheLiveOnesRounded()
    {
        var fir = RecreationModel.Load(Path.Combine(TestPaths.RepoRoot, "models", "inpainter-lite-g8-cifar10"), CPU);
        var sample = TestData.Test.Sample(40, seed: 5);
        var stored = RecreatedOnce.Of(sample, fir.Apply, fir.Description, CPU, batchSize: 16);
        StringAssert.Contains(stored.Source, "recreated once by FIR");
        using var raw = new DeviceImages(sample, CPU);
        using var kept = new DeviceImages(stored, CPU);
        var (x, _) = raw.Range(0, 40);
        var (r, labels) = kept.Range(0, 40);
        using var noGrad = no_grad();
        var live = fir.Apply(x).clamp(0, 1);
        double error = (live - r).abs().max().item<float>();
        Assert.IsTrue(error <= 0.5 / 255 + 1e-6, $"stored recreations are {error * 255:F2}/255 from the live ones");
        Assert.IsTrue((live - x).abs().max().item<float>() > 0.1, "the recreation left the images as they were: the test cannot tell");
        CollectionAssert.AreEqual(sample.Labels, labels.data<long>().Select(l => (int)l).ToArray());
    }
}
