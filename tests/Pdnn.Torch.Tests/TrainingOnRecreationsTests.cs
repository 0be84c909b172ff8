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
        Assert.IsLessThanOrEqualTo(0.13, erased.TestAccuracy!.Value, $"test accuracy on erased images {erased.TestAccuracy:P1}");
        Assert.IsLessThanOrEqualTo(0.15, erased.TrainAccuracy, $"train accuracy on erased images {erased.TrainAccuracy:P1}");
        Assert.IsGreaterThan(0.2, plain.TestAccuracy!.Value, $"test accuracy on the images themselves {plain.TestAccuracy:P1}");
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
        Assert.IsLessThan(1e-5, Distance(once, everyBatch), $"recreated once vs every batch: weights differ by {Distance(once, everyBatch)}");
        Assert.IsGreaterThan(1e-3, Distance(raw, everyBatch), $"the raw images trained to the same weights ({Distance(raw, everyBatch)}): the test cannot tell");
        Assert.AreEqual(everyBatch.State.History[^1].TestAccuracy!.Value, once.State.History[^1].TestAccuracy!.Value, 1e-9, "per-epoch test accuracy");
    }

    /// <summary>Ctrl-C or SIGTERM while the training set is being recreated (16 minutes for NSR's four copies on 2 cores)
    /// stops within a batch with a message saying that nothing was trained or saved; before, the signal waited for the
    /// first training step. No checkpoint is written: nothing of the run exists yet.</summary>
    [TestMethod]
    [DataRow(0, 4)]   // stored once: the determinism check's two calls, then two of the 11 batches
    [DataRow(2, 2)]   // two copies: two of the 22 batches
    public void AnInterruptionWhileRecreatingStopsWithinABatch(int copies, int interruptedAtCall)
    {
        using var interrupt = new CancellationTokenSource();
        int calls = 0;
        Func<Tensor, Tensor> mirrorThenInterrupt = x => { if (++calls == interruptedAtCall) interrupt.Cancel(); return x.flip(3); };
        var options = Tiny with { Epochs = 1, Recreation = "mirror", RecreateOnce = true, RecreatedCopies = copies, Interrupt = interrupt.Token };
        var folder = Directory.CreateTempSubdirectory("pdnn-interrupt-").FullName;
        try
        {
            var stopped = Assert.ThrowsExactly<OperationCanceledException>(() => new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null))
                .Run(TestData.Train.Sample(1024, 0), TestData.Test.Sample(200, 0), folder, false, mirrorThenInterrupt));
            StringAssert.Contains(stopped.Message, "interrupted while recreating the images with mirror");
            Assert.AreEqual(interruptedAtCall, calls, "the recreation went on after the interruption");
            Assert.IsFalse(Checkpoint.Exists(folder), "a checkpoint was written for a run that took no step");
        }
        finally { Directory.Delete(folder, recursive: true); }
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

    /// <summary>Recreated copies are augmented before the recreation: a recreation that marks the top-left pixel leaves it
    /// marked in every stored copy (cropping or flipping the recreations would move it), the copies of one image differ
    /// (each has its own crop and flip), labels follow their images copy by copy, and a random recreation is stored with a
    /// seeded draw per copy, the same on every call.</summary>
    [TestMethod]
    public void RecreatedCopiesAreAugmentedBeforeTheRecreationAndSeeded()
    {
        var sample = TestData.Train.Sample(60, seed: 2);
        Func<Tensor, Tensor> mark = x => { var y = x.clone(); y[.., .., 0, 0] = ones(1); return y; };
        var copies = RecreatedOnce.AugmentedCopies(sample, mark, "mark", CPU, copies: 3, seed: 4, padding: 4, batchSize: 16);
        Assert.AreEqual(180, copies.Count);
        for (int i = 0; i < copies.Count; i++)
            for (int c = 0; c < 3; c++)
                Assert.AreEqual(255, copies.Image(i)[c * 32 * 32], $"stored image {i}, channel {c}: the marked pixel moved (augmented after the recreation)");
        int identical = Enumerable.Range(0, 60).Count(i => copies.Image(i).SequenceEqual(copies.Image(60 + i)) && copies.Image(i).SequenceEqual(copies.Image(120 + i)));
        Assert.IsLessThan(10, identical, $"{identical} of 60 images have three identical copies: the copies were not augmented");
        CollectionAssert.AreEqual(sample.Labels.Concat(sample.Labels).Concat(sample.Labels).ToArray(), copies.Labels);

        Func<Tensor, Tensor> noisy = x => x + 0.1f * rand_like(x);
        var a = RecreatedOnce.AugmentedCopies(sample, noisy, "noise", CPU, copies: 2, seed: 4, padding: null, batchSize: 16);
        var b = RecreatedOnce.AugmentedCopies(sample, noisy, "noise", CPU, copies: 2, seed: 4, padding: null, batchSize: 16);
        CollectionAssert.AreEqual(a.Pixels, b.Pixels, "the same seed stored different draws");
        Assert.IsFalse(a.Image(0).SequenceEqual(a.Image(60)), "both copies of an unaugmented image have the same noise: one draw, not one per copy");
    }

    /// <summary>Epoch e trains on copy e mod K: with copy 1 erased (the recreation blanks every image after the first
    /// copy), the first epoch is the same as a run whose copies are all real and the second is not, and is at chance.</summary>
    [TestMethod]
    public void EachEpochTrainsOnItsOwnCopy()
    {
        var options = Tiny with { Epochs = 2, Recreation = "copies", RecreateOnce = true, RecreatedCopies = 2 };
        var train = TestData.Train.Sample(1024, 0);
        TrainResult Run(Func<Tensor, Tensor> recreate) =>
            new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(train, null, null, false, recreate);
        int seen = 0;
        var secondErased = Run(x => { var y = seen < train.Count ? x.clone() : zeros_like(x); seen += (int)x.shape[0]; return y; }).State.History;
        var real = Run(x => x.clone()).State.History;
        Assert.AreEqual(real[0].TrainAccuracy, secondErased[0].TrainAccuracy, 1e-12, "epoch 1 did not read the first (real) copy");
        Assert.IsGreaterThan(0.03, Math.Abs(real[1].TrainAccuracy - secondErased[1].TrainAccuracy),
            $"epoch 2: {real[1].TrainAccuracy:P1} with a real second copy, {secondErased[1].TrainAccuracy:P1} with an erased one: it did not read the second copy");
        Assert.IsLessThanOrEqualTo(0.15, secondErased[1].TrainAccuracy, $"epoch 2 reached {secondErased[1].TrainAccuracy:P1} on the erased copy");
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
        Assert.IsLessThanOrEqualTo(0.5 / 255 + 1e-6, error, $"stored recreations are {error * 255:F2}/255 from the live ones");
        Assert.IsGreaterThan(0.1, (live - x).abs().max().item<float>(), "the recreation left the images as they were: the test cannot tell");
        CollectionAssert.AreEqual(sample.Labels, labels.data<long>().Select(l => (int)l).ToArray());
    }
}
