using Pdnn.Data;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Recreation;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class RecreationTrainingTests
{
    sealed class Recorder : ITrainingObserver
    {
        public List<EpochSummary> Epochs { get; } = [];
        public List<StepProgress> Steps { get; } = [];
        public void Message(string text) { }
        public void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep) { }
        public void Step(StepProgress progress) => Steps.Add(progress);
        public void EpochEnded(EpochSummary summary) => Epochs.Add(summary);
    }

    static readonly RecreationTrainOptions Short = new() { Epochs = 3, BatchSize = 32, LearningRate = 2e-3, Seed = 1 };

    [TestMethod]
    public void SrGeneratorLossFallsOnRealImages()
    {
        var recorder = new Recorder();
        var model = RecreationTraining.TrainSrGenerator(SrGeneratorSpec.Lite, TestData.Train.Sample(384, 0), Short, CPU, recorder).Model;

        Assert.HasCount(3, recorder.Epochs);
        Assert.IsLessThan(recorder.Epochs[0].TrainLoss * 0.9, recorder.Epochs[^1].TrainLoss, $"L1 {recorder.Epochs[0].TrainLoss:F4} -> {recorder.Epochs[^1].TrainLoss:F4}");
        using var noGrad = no_grad();
        using var images = new DeviceImages(TestData.Test.Sample(4, 0), CPU);
        CollectionAssert.AreEqual(new long[] { 4, 3, 128, 128 }, model.forward(images.Range(0, 4).Images).shape);
    }

    [TestMethod]
    public void SrGanTrainsTheGeneratorAndTheDiscriminatorButNotTheFeatureNetwork()
    {
        var train = TestData.Train.Sample(256, 0);
        var features = new Pdnn.Torch.Models.CifarResNet(Pdnn.Torch.Models.ResNetSpec.Tiny, 10);
        features.eval();
        foreach (var p in features.parameters()) p.requires_grad_(false);
        var before = features.parameters().Select(p => p.clone()).ToList();
        using var images = new DeviceImages(TestData.Test.Sample(32, 0), CPU);
        var x = images.Range(0, 32).Images;
        double PixelLoss(SrGenerator g)
        {
            using var noGrad = no_grad();
            manual_seed(3);
            var up = nn.functional.interpolate(x, [128, 128], mode: InterpolationMode.Bilinear, align_corners: false);
            return nn.functional.l1_loss(g.forward(RecreationTraining.Corrupt(x, 0.01, 0.01)), up).item<float>();
        }
        manual_seed(Short.Seed);
        var untrained = new SrGenerator(SrGeneratorSpec.Lite);
        untrained.eval();
        var untrainedDiscriminator = new SrDiscriminator(SrGeneratorSpec.Lite.Channels).parameters().Select(p => p.clone()).ToList();

        var gan = RecreationTraining.TrainSrGan(SrGeneratorSpec.Lite, train, Short with { Epochs = 2 }, CPU, new Recorder(), 1e-3, 0.1, t => features.Features(t, 1)).Model;

        Assert.IsLessThan(PixelLoss(untrained) * 0.8, PixelLoss(gan.Generator), "held-out L1 falls");
        Assert.IsTrue(gan.Discriminator.parameters().Zip(untrainedDiscriminator).Any(p => !p.First.allclose(p.Second)), "the discriminator learns");
        Assert.IsTrue(features.parameters().Zip(before).All(p => p.First.equal(p.Second).all().item<bool>()), "the feature network is left alone");
    }

    [TestMethod]
    public void InitStartsFromTheFoldersNetworkAndEntersTheRunsIdentity()
    {
        var shipped = Path.Combine(Pdnn.Tests.TestPaths.RepoRoot, "models", "sr-lite-cifar10");
        var (trained, _, _) = RecreationModel.LoadNetwork(shipped);
        var options = Short with { Init = shipped };

        // A run of no epochs returns the generator as it starts: the shipped one, not a random one.
        var gan = RecreationTraining.TrainSrGan(SrGeneratorSpec.Lite, TestData.Train.Sample(64, 0), options with { Epochs = 0 }, CPU,
                                                new Recorder(), 1e-3, 0, null).Model;
        Assert.AreEqual(0, MaxDifference(trained, gan.Generator), "the generator starts from the folder's weights");
        manual_seed(Short.Seed);
        Assert.IsGreaterThan(1e-2, MaxDifference(trained, new SrGenerator(SrGeneratorSpec.Lite)), "a random generator is far from it");

        // A run's identity (what --resume checks) names the weights it started from.
        StringAssert.Contains(options.Identity("sr"), "|init:" + RecreationModel.ReadCard(shipped).WeightsSha256);
        Assert.DoesNotContain("init:", Short.Identity("sr"));
    }

    [TestMethod]
    public void InitFromAnotherKindOfRecreationIsRefusedNamingTheFolder()
    {
        var inpainter = Path.Combine(Pdnn.Tests.TestPaths.RepoRoot, "models", "inpainter-lite-g4-cifar10");
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            RecreationTraining.TrainSrGenerator(SrGeneratorSpec.Lite, TestData.Train.Sample(64, 0), Short with { Init = inpainter }, CPU, new Recorder()));
        StringAssert.Contains(e.Message, inpainter);
        StringAssert.Contains(e.Message, "inpainter");
        Assert.ThrowsExactly<FileNotFoundException>(() =>
            RecreationTraining.TrainSrGenerator(SrGeneratorSpec.Lite, TestData.Train.Sample(64, 0), Short with { Init = Pdnn.Tests.TestPaths.NewTempDir() }, CPU, new Recorder()));
    }

    [TestMethod]
    public void InpainterLossFallsOnRealImages()
    {
        var recorder = new Recorder();
        RecreationTraining.TrainInpainter(InpainterSpec.Lite, TestData.Train.Sample(384, 0), 4, Short, CPU, recorder);

        Assert.IsLessThan(recorder.Epochs[0].TrainLoss * 0.9, recorder.Epochs[^1].TrainLoss, $"L1 {recorder.Epochs[0].TrainLoss:F4} -> {recorder.Epochs[^1].TrainLoss:F4}");
    }

    [TestMethod]
    public void ResumedInpainterRunEqualsUninterruptedRun()
    {
        var data = TestData.Train.Sample(192, 0);
        var options = Short with { Epochs = 2 };
        var straight = RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, options, CPU, new Recorder()).Model;

        var checkpoint = Path.Combine(Pdnn.Tests.TestPaths.NewTempDir(), "checkpoint");
        var first = RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, options with { MaxSteps = 4 }, CPU, new Recorder(), checkpointDir: checkpoint);
        Assert.IsFalse(first.Completed);
        var resumed = RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, options, CPU, new Recorder(), checkpointDir: checkpoint, resume: true);
        Assert.IsTrue(resumed.Completed);

        var a = straight.state_dict();
        foreach (var (name, value) in resumed.Model.state_dict())
        {
            var diff = (value.to(ScalarType.Float64) - a[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.IsLessThanOrEqualTo(1e-4, diff, $"{name} differs by {diff}");
        }
    }

    // At this learning rate the inpainter's held-out loss (32 of 160 images) bottoms out after a few epochs and then creeps
    // up: the patience runs out once (the rate is halved), then again (the run ends); its best epoch is not its last
    // (asserted), so keeping that epoch's weights is tested.
    static readonly ImageDataset Watched = TestData.Train.Sample(160, 0);
    static readonly RecreationTrainOptions WatchedOptions = new() { Epochs = 40, BatchSize = 32, LearningRate = 5e-2, Seed = 1, HeldOut = 32, Patience = 2, LearningRateDrops = 1 };
    static readonly Lazy<(RecreationTrainResult<Inpainter> Run, Recorder Seen, string Checkpoint)> WatchedRun = new(() =>
    {
        var recorder = new Recorder();
        var checkpoint = Path.Combine(Pdnn.Tests.TestPaths.NewTempDir(), "checkpoint");
        var run = RecreationTraining.TrainInpainter(InpainterSpec.Lite, Watched, 4, WatchedOptions, CPU, recorder, checkpointDir: checkpoint);
        return (run, recorder, checkpoint);
    });

    static double MaxDifference(nn.Module a, nn.Module b)
    {
        var expected = a.state_dict();
        return b.state_dict().Max(p => (p.Value.to(ScalarType.Float64) - expected[p.Key].to(ScalarType.Float64)).abs().max().item<double>());
    }

    [TestMethod]
    public void PatienceHalvesTheRateThenEndsTheRunOnceTheHeldOutLossStopsImprovingAndKeepsTheLowestEpoch()
    {
        var (run, seen, checkpoint) = WatchedRun.Value;

        Assert.IsTrue(run.Completed);
        StringAssert.Contains(run.StopReason, "held-out loss not below");
        var losses = seen.Epochs.Select(e => e.HeldOutLoss!.Value).ToList();
        string trace = string.Join(", ", losses.Select(l => l.ToString("F4")));
        Assert.IsLessThan(40, losses.Count, $"stopped before the ceiling: {trace}");
        int kept = run.KeptEpoch!.Value;
        Assert.AreEqual(losses.Min(), losses[kept - 1], trace);
        Assert.IsTrue(losses.Skip(kept).All(l => l >= losses[kept - 1]), trace);

        // One drop: the first time two epochs pass without a new lowest loss, the steps after it run at half the rate;
        // the run ends two epochs after the later of the drop and the lowest epoch.
        Assert.AreEqual(1, run.State.LearningRateDrops);
        int drop = run.State.LastDropEpoch!.Value;
        Assert.HasCount(Math.Max(drop, kept) + 2, losses, $"drop after epoch {drop}, kept {kept}: {trace}");
        Assert.IsTrue(seen.Steps.Where(st => st.Epoch <= drop).All(st => st.LearningRate == 5e-2));
        Assert.IsTrue(seen.Steps.Where(st => st.Epoch > drop).All(st => st.LearningRate == 2.5e-2));
        Assert.IsTrue(seen.Steps.Any(st => st.Epoch > drop), "the run went on after the drop");

        // The weights are that epoch's (the same run with its ceiling there), not the last epoch's (the checkpoint).
        var stoppedThere = RecreationTraining.TrainInpainter(InpainterSpec.Lite, Watched, 4, WatchedOptions with { Epochs = kept }, CPU, new Recorder());
        Assert.IsLessThanOrEqualTo(1e-5, MaxDifference(stoppedThere.Model, run.Model), "the kept weights are the lowest epoch's");
        var last = new Inpainter(InpainterSpec.Lite);
        last.load(Path.Combine(checkpoint, "weights.bin"));
        Assert.IsGreaterThan(1e-3, MaxDifference(last, run.Model), "the last epoch's weights are not what the run ends with");
    }

    [TestMethod]
    public void ResumedRunWithHeldOutImagesEqualsUninterruptedRun()
    {
        var (straight, straightSeen, _) = WatchedRun.Value;

        // Interrupted twice mid-epoch (4 steps an epoch), after the best epoch has been written beside the checkpoint.
        var checkpoint = Path.Combine(Pdnn.Tests.TestPaths.NewTempDir(), "checkpoint");
        var first = RecreationTraining.TrainInpainter(InpainterSpec.Lite, Watched, 4, WatchedOptions with { MaxSteps = 10 }, CPU, new Recorder(), checkpointDir: checkpoint);
        Assert.IsFalse(first.Completed);
        Assert.IsTrue(File.Exists(checkpoint + ".best/weights.bin"));
        var second = RecreationTraining.TrainInpainter(InpainterSpec.Lite, Watched, 4, WatchedOptions with { MaxSteps = 9 }, CPU, new Recorder(), checkpointDir: checkpoint, resume: true);
        Assert.IsFalse(second.Completed);
        var resumed = RecreationTraining.TrainInpainter(InpainterSpec.Lite, Watched, 4, WatchedOptions, CPU, new Recorder(), checkpointDir: checkpoint, resume: true);

        Assert.IsTrue(resumed.Completed);
        Assert.AreEqual(straight.KeptEpoch, resumed.KeptEpoch);
        Assert.AreEqual(straight.State.LastDropEpoch, resumed.State.LastDropEpoch);
        CollectionAssert.AreEqual(straightSeen.Epochs.Select(e => e.HeldOutLoss).ToList(), resumed.State.History.Select(e => e.HeldOutLoss).ToList());
        Assert.IsLessThanOrEqualTo(1e-5, MaxDifference(straight.Model, resumed.Model));
    }

    [TestMethod]
    public void PatienceWithoutHeldOutImagesAndHoldingOutEverythingAreRefused()
    {
        var data = TestData.Train.Sample(64, 0);
        var noHeldOut = Assert.ThrowsExactly<ArgumentException>(() =>
            RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, Short with { Patience = 2 }, CPU, new Recorder()));
        StringAssert.Contains(noHeldOut.Message, "held-out");
        var all = Assert.ThrowsExactly<ArgumentException>(() =>
            RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, Short with { HeldOut = 64 }, CPU, new Recorder()));
        StringAssert.Contains(all.Message, "--held-out 64");
        var tooFew = Assert.ThrowsExactly<ArgumentException>(() =>
            RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, Short with { HeldOut = 40 }, CPU, new Recorder()));
        StringAssert.Contains(tooFew.Message, "after holding out 40");
        var dropsAlone = Assert.ThrowsExactly<ArgumentException>(() =>
            RecreationTraining.TrainInpainter(InpainterSpec.Lite, data, 4, Short with { HeldOut = 8, LearningRateDrops = 1 }, CPU, new Recorder()));
        StringAssert.Contains(dropsAlone.Message, "--patience");
    }

    [TestMethod]
    public void RandomGridMasksCoverTheRequestedShareInWholeCells()
    {
        manual_seed(0);
        var masks = RecreationTraining.RandomMasks(200, 32, 32, 8, 0.1, CPU);
        Assert.AreEqual(0.1, masks.mean().item<float>(), 0.02);
        // Cells of 8x8: every 8x8 block is all 0 or all 1.
        var blocks = masks.reshape(200, 4, 8, 4, 8).amax([2, 4]) - masks.reshape(200, 4, 8, 4, 8).amin([2, 4]);
        Assert.AreEqual(0f, blocks.max().item<float>());
    }

    [TestMethod]
    public void CorruptionAddsNoiseAndWholeWhiteOrBlackPixels()
    {
        manual_seed(0);
        var x = full([50, 3, 32, 32], 0.5f);
        var noisy = RecreationTraining.Corrupt(x, 0.01, 0.05);
        var white = (noisy == 1).all(1).to(ScalarType.Float32).mean().item<float>();
        var black = (noisy == 0).all(1).to(ScalarType.Float32).mean().item<float>();
        Assert.AreEqual(0.05, white, 0.01);
        Assert.AreEqual(0.05, black, 0.01);
        var rest = noisy.masked_select((noisy > 0) & (noisy < 1));
        Assert.AreEqual(0.01, rest.var().item<float>(), 0.001);
    }
}
