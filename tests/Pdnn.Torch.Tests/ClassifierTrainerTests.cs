using Pdnn.Data;
using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class ClassifierTrainerTests
{
    static readonly TrainOptions Tiny = new() { Architecture = "tiny", Epochs = 2, BatchSize = 64, LearningRate = 0.05, Seed = 3 };
    static ImageDataset Small => TestData.Train.Sample(512, seed: 0);

    static TrainResult Train(TrainOptions options, ImageDataset data, string? checkpoint = null, bool resume = false,
                             ImageDataset? test = null) =>
        new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(data, test, checkpoint, resume);

    [TestMethod]
    public void TrainingLowersTheLossOnRealCifarImages()
    {
        var result = Train(Tiny with { Epochs = 4 }, TestData.Train, test: TestData.Test);

        var history = result.State.History;
        Assert.IsTrue(result.Completed);
        Assert.HasCount(4, history);
        Assert.IsLessThan(history[0].TrainLoss - 0.15, history[^1].TrainLoss, $"loss {history[0].TrainLoss:F3} -> {history[^1].TrainLoss:F3}");
        // Chance is 10% on the 500 balanced test images; a binomial at 10% exceeds 20% with probability < 1e-10.
        Assert.IsGreaterThan(0.20, history[^1].TestAccuracy!.Value, $"test accuracy {history[^1].TestAccuracy:P1}");
    }

    [TestMethod]
    public void ResumedRunEqualsUninterruptedRun()
    {
        var straight = Train(Tiny, Small);

        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        var first = Train(Tiny with { MaxSteps = 5 }, Small, checkpoint);       // stops mid-epoch 1 (8 steps per epoch)
        Assert.IsFalse(first.Completed);
        Assert.AreEqual((0, 5), (first.State.Epoch, first.State.StepInEpoch));
        var second = Train(Tiny with { MaxSteps = 6 }, Small, checkpoint, resume: true); // into epoch 2
        Assert.AreEqual((1, 3), (second.State.Epoch, second.State.StepInEpoch));
        var resumed = Train(Tiny, Small, checkpoint, resume: true);
        Assert.IsTrue(resumed.Completed);

        var a = straight.Model.state_dict();
        var b = resumed.Model.state_dict();
        Assert.HasCount(a.Count, b);
        foreach (var (name, tensor) in a)
        {
            var diff = (tensor.to(ScalarType.Float64) - b[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.IsLessThanOrEqualTo(1e-4, diff, $"{name} differs by {diff}");
        }
        Assert.AreEqual(straight.State.History[^1].TrainLoss, resumed.State.History[^1].TrainLoss, 1e-4);
    }

    /// <summary>The weight average is the warmed-up exponential moving average, checked against its formula in float64.</summary>
    [TestMethod]
    public void WeightAverageFollowsItsFormula()
    {
        manual_seed(1);
        var spec = ResNetSpec.FromName("tiny");
        using var live = new CifarResNet(spec, 10);
        using var average = new WeightAverage(live, spec, 10, decay: 0.5, CPU);
        var weight = live.state_dict()["fc.weight"];
        double expected = weight[0, 0].item<float>();
        foreach (var value in new[] { 1.0, -2.0, 3.0, 0.25 })
        {
            using (no_grad()) weight.fill_(value);
            foreach (var (name, buffer) in live.state_dict().Where(kv => !kv.Value.is_floating_point())) buffer.fill_(7);
            double d = WeightAverage.DecayAt(0.5, average.Updates);
            expected = d * expected + (1 - d) * value;
            average.Update();
        }
        Assert.AreEqual(4, average.Updates);
        Assert.AreEqual(0.1, WeightAverage.DecayAt(0.5, 0), 1e-12, "the warm-up's first decay, (1 + 0) / (10 + 0)");
        Assert.AreEqual(expected, average.Model.state_dict()["fc.weight"][0, 0].item<float>(), 1e-5);
        var counters = average.Model.state_dict().Where(kv => !kv.Value.is_floating_point()).ToList();
        Assert.IsNotEmpty(counters, "batch norm's step counters");
        Assert.IsTrue(counters.All(kv => kv.Value.eq(7).all().item<bool>()), "integer buffers are copied, not averaged");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new WeightAverage(live, spec, 10, decay: 1, CPU));
    }

    /// <summary>
    /// With weight averaging the run ends with the average (not the last step's weights), and a run resumed mid-epoch
    /// from its checkpoint (which carries the average) ends with the same average as an uninterrupted one.
    /// </summary>
    [TestMethod]
    public void WeightAveragedRunResumesToTheSameAverage()
    {
        var options = Tiny with { WeightAverageDecay = 0.9 };
        var plain = Train(Tiny, Small);
        var straight = Train(options, Small);
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        Assert.IsFalse(Train(options with { MaxSteps = 5 }, Small, checkpoint).Completed);
        Assert.IsTrue(File.Exists(Path.Combine(checkpoint, "average.bin")));
        var resumed = Train(options, Small, checkpoint, resume: true);

        var a = straight.Model.state_dict();
        var b = resumed.Model.state_dict();
        foreach (var (name, tensor) in a)
        {
            var diff = (tensor.to(ScalarType.Float64) - b[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.IsLessThanOrEqualTo(1e-4, diff, $"{name} differs by {diff}");
        }
        // Same steps as the plain run (the average does not touch them), different weights at the end.
        Assert.AreEqual(plain.State.History[^1].TrainLoss, straight.State.History[^1].TrainLoss, 1e-6);
        var gap = (plain.Model.state_dict()["fc.weight"] - a["fc.weight"]).abs().max().item<float>();
        Assert.IsGreaterThan(1e-3f, gap, "the saved classifier is the average, not the last step's weights");
        Assert.ThrowsExactly<InvalidOperationException>(() => Train(Tiny, Small, checkpoint, resume: true), "a checkpoint with an average resumes only with it");
    }

    [TestMethod]
    public void SameSeedGivesTheSameWeightsAndAnotherSeedDoesNot()
    {
        var options = Tiny with { Epochs = 1 };
        var a = Train(options, Small).Model.state_dict()["fc.weight"];
        var b = Train(options, Small).Model.state_dict()["fc.weight"];
        var c = Train(options with { Seed = 4 }, Small).Model.state_dict()["fc.weight"];
        Assert.IsTrue(a.allclose(b, rtol: 0, atol: 1e-6));
        Assert.IsFalse(a.allclose(c, rtol: 0, atol: 1e-3));
    }

    [TestMethod]
    public void ASecondRunOnACheckpointInUseIsRefusedAndWritesNothing()
    {
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        using (OutputLock.Take(checkpoint)) // the first run, still going
        {
            var error = Assert.ThrowsExactly<InvalidOperationException>(() => Train(Tiny with { MaxSteps = 1 }, Small, checkpoint));
            StringAssert.Contains(error.Message, checkpoint);
            StringAssert.Contains(error.Message, "another run");
            Assert.IsFalse(Directory.Exists(checkpoint), "the refused run wrote nothing");
        }
        var result = Train(Tiny with { MaxSteps = 1 }, Small, checkpoint); // once the first has ended
        Assert.AreEqual(1, Checkpoint.ReadState(checkpoint).GlobalStep);
        Assert.IsFalse(result.Completed);
        Assert.IsFalse(File.Exists(OutputLock.PathOf(checkpoint)), "the run released its lock and removed the file");
    }

    [TestMethod]
    public void TimeBudgetStopsCleanlyWithACheckpoint()
    {
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        var result = Train(Tiny with { MaxMinutes = 1e-6 }, Small, checkpoint);

        Assert.IsFalse(result.Completed);
        StringAssert.Contains(result.StopReason, "time budget");
        Assert.IsTrue(Checkpoint.Exists(checkpoint));
        Assert.AreEqual(1, Checkpoint.ReadState(checkpoint).GlobalStep);
    }

    [TestMethod]
    public void FinishAtBudgetEndsTheRunWithTheWeightsItHas()
    {
        // Within the budget: 3 of 16 steps, then the classifier as it stands, reported complete and saying how far it got.
        var direct = Train(Tiny with { MaxSteps = 3, FinishAtBudget = true }, Small);
        Assert.IsTrue(direct.Completed);
        Assert.AreEqual((0, 3), (direct.State.Epoch, direct.State.StepInEpoch));
        StringAssert.Contains(direct.State.FinishedAtBudget, "step budget of 3 reached: ended with 0 of 2 epochs and 3 steps of the next");

        // A run stopped at its budget with a checkpoint, finished later by a resume whose budget is already spent: no step.
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        var stopped = Train(Tiny with { MaxSteps = 5 }, Small, checkpoint);
        Assert.IsFalse(stopped.Completed);
        Assert.IsNull(stopped.State.FinishedAtBudget);
        var finished = Train(Tiny with { MaxSteps = 0, FinishAtBudget = true }, Small, checkpoint, resume: true);
        Assert.IsTrue(finished.Completed);
        Assert.AreEqual((0, 5, 5L), (finished.State.Epoch, finished.State.StepInEpoch, finished.State.GlobalStep));
        foreach (var (name, tensor) in stopped.Model.state_dict())
            Assert.IsTrue(tensor.allclose(finished.Model.state_dict()[name], rtol: 0, atol: 0), $"{name}: finishing a stopped run changed its weights");
    }

    [TestMethod]
    public void AFinishedRunResumedTakesNoMoreSteps()
    {
        // A run that finished at its budget can die before its model is saved (a T run did, on 2026-11-28, in the final
        // test); the checkpoint says it finished, so the same command with --resume gives the weights it finished
        // with. (It used to go on for another budget: here 3 more steps and a different model.)
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        var options = Tiny with { MaxSteps = 3, FinishAtBudget = true };
        var finished = Train(options, Small, checkpoint);
        Assert.IsTrue(finished.Completed);
        Assert.AreEqual(finished.State.FinishedAtBudget, Checkpoint.ReadState(checkpoint).FinishedAtBudget, "the checkpoint does not record the finish");

        var resumed = Train(options, Small, checkpoint, resume: true);
        Assert.IsTrue(resumed.Completed);
        Assert.AreEqual((0, 3, 3L), (resumed.State.Epoch, resumed.State.StepInEpoch, resumed.State.GlobalStep));
        Assert.AreEqual(finished.State.FinishedAtBudget, resumed.State.FinishedAtBudget);
        foreach (var (name, tensor) in finished.Model.state_dict())
            Assert.IsTrue(tensor.allclose(resumed.Model.state_dict()[name], rtol: 0, atol: 0), $"{name}: resuming a finished run changed its weights");
    }

    [TestMethod]
    public void ATimeBudgetedScheduleRunsToItsEndWhenTheBudgetIsSpent()
    {
        // 6 s of one-cycle schedule, with room for far more epochs than that: the run ends on the budget, not on the
        // epochs, and says so. (The rates themselves are BudgetedStep's, tested in LearningRateScheduleTests; the
        // observer samples them only every 10 steps, so their values here depend on the machine's speed.)
        var rates = new List<double>();
        var options = Tiny with { Epochs = 10_000, Schedule = ScheduleKind.OneCycle, LearningRate = 0.1, ScheduleMinutes = 0.1 };
        var result = new ClassifierTrainer(options, CPU, new RateRecorder(rates)).Run(Small, null, null, false);

        Assert.IsTrue(result.Completed, result.StopReason);
        StringAssert.Contains(result.State.FinishedAtBudget, "learning-rate schedule of 0.1 min run to its end");
        Assert.IsTrue(result.State.Epoch is > 0 and < 10_000, $"ended in epoch {result.State.Epoch}");
        Assert.IsGreaterThanOrEqualTo(6.0, result.State.ElapsedSeconds, "the run ended before its budget was spent");
        Assert.HasCount(result.State.Epoch, result.State.History, "the last (part-)epoch is recorded like the others");
        Assert.IsTrue(rates.All(r => r is >= 0 and <= 0.1), "a rate outside the one-cycle schedule's range");
    }

    sealed class RateRecorder(List<double> rates) : ITrainingObserver
    {
        public void Message(string text) { }
        public void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep) { }
        public void Step(StepProgress progress) => rates.Add(progress.LearningRate);
        public void EpochEnded(EpochSummary summary) { }
    }

    [TestMethod]
    public void ExistingCheckpointIsNeitherOverwrittenNorResumedWithOtherOptions()
    {
        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        Train(Tiny with { MaxSteps = 2 }, Small, checkpoint);
        var before = File.ReadAllBytes(Path.Combine(checkpoint, "weights.bin"));

        var overwrite = Assert.ThrowsExactly<InvalidOperationException>(() => Train(Tiny, Small, checkpoint));
        StringAssert.Contains(overwrite.Message, "--resume");
        var other = Assert.ThrowsExactly<InvalidOperationException>(() => Train(Tiny with { LearningRate = 0.2 }, Small, checkpoint, resume: true));
        StringAssert.Contains(other.Message, "same options");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(Path.Combine(checkpoint, "weights.bin")), "a refused run must not touch the checkpoint");
    }

    [TestMethod]
    public void LabelSmoothingRaisesTheLossFloor()
    {
        // With smoothing 0.3 the target keeps 3% on each wrong class, so the loss cannot approach 0 and stays above plain CE.
        var plain = Train(Tiny with { Epochs = 3 }, Small).State.History[^1].TrainLoss;
        var smoothed = Train(Tiny with { Epochs = 3, LabelSmoothing = 0.3 }, Small).State.History[^1].TrainLoss;
        Assert.IsGreaterThan(plain, smoothed, $"smoothed {smoothed:F3} vs plain {plain:F3}");
    }

    [TestMethod]
    public void TooFewImagesForOneBatchIsRefused()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => Train(Tiny, TestData.Train.Sample(10, 0)));
        StringAssert.Contains(e.Message, "fewer than one batch");
    }
}
