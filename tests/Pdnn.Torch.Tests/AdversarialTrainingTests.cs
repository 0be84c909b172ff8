using Pdnn.Data;
using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class AdversarialTrainingTests
{
    const double Eps = 8.0 / 255;
    static readonly TrainOptions Tiny = new() { Architecture = "tiny", Epochs = 2, BatchSize = 64, LearningRate = 0.05, Seed = 3 };

    static TrainResult Train(TrainOptions options, ImageDataset data, string? checkpoint = null, bool resume = false,
                             Func<Tensor, Tensor>? recreate = null) =>
        new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(data, null, checkpoint, resume, recreate);

    /// <summary>Accuracy of <paramref name="model"/> on the sample's 500 test images under a fixed PGD-10 at <paramref name="eps"/>.</summary>
    static double PgdAccuracy(CifarResNet model, double eps)
    {
        using var images = new DeviceImages(TestData.Test, CPU);
        var monitor = new RobustnessMonitor(images, eps);
        return monitor.Measure(model, model.forward, seed: 0).Pgd10;
    }

    [TestMethod]
    public void AdversarialTrainingRaisesPgdAccuracyAboveCleanTraining()
    {
        // The same tiny ResNet, data, seed and steps; only the training examples differ. At ε = 4/255 a clean-trained
        // model keeps a few percent under PGD-10, the PGD-trained one several times more (500 real test images).
        const double eps = 4.0 / 255;
        var options = Tiny with { Epochs = 6, LearningRate = 0.1, Schedule = ScheduleKind.OneCycle };
        var clean = Train(options, TestData.Train).Model;
        var robust = Train(options with { Adversarial = new() { Kind = AdversaryKind.Pgd, Epsilon = eps, Steps = 3 } }, TestData.Train).Model;

        double cleanPgd = PgdAccuracy(clean, eps), robustPgd = PgdAccuracy(robust, eps);
        Console.WriteLine($"PGD-10 at 4/255: clean training {cleanPgd:P1}, PGD-3 training {robustPgd:P1}");
        Assert.IsGreaterThanOrEqualTo(cleanPgd + 0.06, robustPgd, $"PGD-10 accuracy: clean training {cleanPgd:P1}, adversarial training {robustPgd:P1}");
    }

    [TestMethod]
    public void CraftedExamplesStayInTheBallAndRaiseTheLoss()
    {
        manual_seed(0);
        var model = new CifarResNet(ResNetSpec.Tiny, 10);
        var (x, y) = Batch(32);
        foreach (var kind in new[] { AdversaryKind.Fgsm, AdversaryKind.FgsmRs, AdversaryKind.Pgd })
        {
            var adversary = new TrainingAdversary(new AdversarialOptions { Kind = kind, Epsilon = Eps, Steps = 3 });
            var adversarial = adversary.Craft(model.forward, x, y);
            Assert.IsLessThanOrEqualTo(Eps + 1e-6, (adversarial - x).abs().max().item<float>(), $"{kind} left the ε-ball");
            Assert.IsTrue(adversarial.min().item<float>() >= 0 && adversarial.max().item<float>() <= 1, $"{kind} left [0,1]");
            using var noGrad = no_grad();
            double before = nn.functional.cross_entropy(model.forward(x), y).item<float>();
            double after = nn.functional.cross_entropy(model.forward(adversarial), y).item<float>();
            Assert.IsGreaterThan(before, after, $"{kind}: loss {before:F4} -> {after:F4}");
        }
    }

    [TestMethod]
    public void NFgsmLeavesTheEpsBallButNotThreeEpsAndRaisesTheLoss()
    {
        manual_seed(0);
        var model = new CifarResNet(ResNetSpec.Tiny, 10);
        var (x, y) = Batch(32);
        var adversary = new TrainingAdversary(new AdversarialOptions { Kind = AdversaryKind.NFgsm, Epsilon = Eps });
        Assert.AreEqual(Eps, adversary.Options.EffectiveStepSize, 1e-12);
        var adversarial = adversary.Craft(model.forward, x, y);

        var distance = (adversarial - x).abs();
        // Noise up to 2ε plus a step of ε, never clipped to the ε-ball: many pixels end beyond ε, none beyond 3ε.
        Assert.IsLessThanOrEqualTo(3 * Eps + 1e-6, distance.max().item<float>(), "N-FGSM went beyond 3ε");
        double beyond = distance.gt(Eps + 1e-6).to(ScalarType.Float32).mean().item<float>();
        Assert.IsGreaterThan(0.2, beyond, $"only {beyond:P1} of the pixels beyond ε: is the noise clipped to the ε-ball?");
        Assert.IsTrue(adversarial.min().item<float>() >= 0 && adversarial.max().item<float>() <= 1, "N-FGSM left [0,1]");
        using var noGrad = no_grad();
        Assert.IsGreaterThan(nn.functional.cross_entropy(model.forward(x), y).item<float>(), nn.functional.cross_entropy(model.forward(adversarial), y).item<float>());
    }

    [TestMethod]
    public void TheGradientReachesTheInputThroughTheRecreationAndMatchesFiniteDifferences()
    {
        // FIR with the shipped g=1 inpainter and a tiny classifier, in float64 so that central differences are exact
        // to ~1e-7: the adversary's input gradient of the φDNN's loss equals d/dh L(x + h·d) along random directions d.
        manual_seed(1);
        var inpainter = new Inpainter(InpainterSpec.Lite);
        inpainter.load(Path.Combine(TestPaths.RepoRoot, "models", "inpainter-lite-g1-cifar10", "inpainter.weights.bin"));
        inpainter.to(ScalarType.Float64).eval();
        var classifier = new CifarResNet(ResNetSpec.Tiny, 10);
        classifier.to(ScalarType.Float64).eval();
        using var masks = Recreations.MaskTensor(MaskSet.Draw(10, 1, 32, 32, new Random(0)), CPU).to(ScalarType.Float64);
        Func<Tensor, Tensor> phiDnn = x => classifier.forward(Recreations.InpaintAggregate(inpainter, x, masks));
        var (images, labels) = Batch(2);
        var x = images.to(ScalarType.Float64);

        var gradient = TrainingAdversary.InputGradient(phiDnn, x, labels);
        Assert.IsGreaterThan(0, gradient.abs().sum().item<double>(), "no gradient reached the input");
        // Every masked pixel's value in the recreation comes from the inpainter alone, so the gradient there flowed through it.
        Assert.IsTrue((gradient.abs().sum(1, keepdim: true) > 0).logical_and(masks[0].unsqueeze(0) > 0).any().item<bool>());

        double L(Tensor input) { using var noGrad = no_grad(); return nn.functional.cross_entropy(phiDnn(input), labels, reduction: nn.Reduction.Sum).item<double>(); }
        var generator = new Random(7);
        for (int trial = 0; trial < 3; trial++)
        {
            var direction = tensor(Enumerable.Range(0, (int)x.numel()).Select(_ => generator.NextDouble() * 2 - 1).ToArray(), x.shape, dtype: ScalarType.Float64);
            const double h = 1e-7; // small: at 1e-5 a ReLU of the 50,000-image inpainter changed side within ±h (a 0.2% error); float64 keeps round-off ~1e-9
            double numeric = (L(x + h * direction) - L(x - h * direction)) / (2 * h);
            double analytic = (gradient * direction).sum().item<double>();
            Assert.AreEqual(numeric, analytic, 1e-5 * Math.Max(1, Math.Abs(numeric)), $"direction {trial}");
        }
    }

    [TestMethod]
    public void CraftingGoesThroughThePhiDnnUnlessToldToUseTheClassifierAlone()
    {
        // The recreation notes whether it ever saw an input that carries gradients, i.e. whether the adversary attacked through it.
        foreach (var (through, expected) in new[] { (CraftThrough.PhiDnn, true), (CraftThrough.Classifier, false) })
        {
            bool attackedThrough = false;
            Tensor Recreate(Tensor x) { attackedThrough |= x.requires_grad; return x * 0.9 + 0.05; }
            var options = Tiny with { Epochs = 1, MaxSteps = 2, Adversarial = new() { Kind = AdversaryKind.FgsmRs, CraftThrough = through } };
            Train(options, TestData.Train.Sample(256, 0), recreate: Recreate);
            Assert.AreEqual(expected, attackedThrough, $"--craft-through {through}");
        }
    }

    [TestMethod]
    public void CollapseDetectorNamesAConstructedCollapseAndStaysQuietOnAHealthyRun()
    {
        List<(int, RobustCheck)> healthy = [(1, new(0.40, 0.28, 0.25)), (2, new(0.55, 0.38, 0.33)), (3, new(0.62, 0.45, 0.39)), (4, new(0.66, 0.47, 0.41))];
        for (int i = 1; i <= healthy.Count; i++) Assert.IsNull(CollapseDetector.Check(healthy[..i]), $"healthy run flagged at epoch {i}");

        // Catastrophic overfitting: FGSM accuracy climbs past clean-ish levels while PGD falls to zero.
        var collapsed = healthy.Append((5, new RobustCheck(0.70, 0.62, 0.02))).ToList();
        StringAssert.Contains(CollapseDetector.Check(collapsed), "catastrophic overfitting at epoch 5");
        // A fall of PGD accuracy alone, without an FGSM gap, is named too.
        var fallen = healthy.Append((5, new RobustCheck(0.60, 0.25, 0.15))).ToList();
        StringAssert.Contains(CollapseDetector.Check(fallen), "fell to");
        // The paper's FGSM-trained ResNet: 26% under FGSM, 0% under PGD.
        Assert.IsNotNull(CollapseDetector.Check([(1, new RobustCheck(0.89, 0.26, 0.0))]));
    }

    [TestMethod]
    public void ResumedAdversarialRunEqualsUninterruptedRunAndKeepsTheBestRobustEpoch()
    {
        var data = TestData.Train.Sample(640, 0);
        var options = Tiny with
        {
            Epochs = 3, HeldOut = 128, Keep = KeepWeights.BestRobust,
            Adversarial = new() { Kind = AdversaryKind.Pgd, Steps = 2 },
        };
        var straight = Train(options, data);

        var checkpoint = Path.Combine(TestPaths.NewTempDir(), "checkpoint");
        Assert.IsFalse(Train(options with { MaxSteps = 5 }, data, checkpoint).Completed);   // mid-epoch 1 (8 steps per epoch)
        Assert.IsFalse(Train(options with { MaxSteps = 7 }, data, checkpoint, resume: true).Completed); // into epoch 2, past a held-out check
        var resumed = Train(options, data, checkpoint, resume: true);
        Assert.IsTrue(resumed.Completed);

        Assert.AreEqual(straight.State.BestRobustEpoch, resumed.State.BestRobustEpoch);
        Assert.AreEqual(straight.KeptEpoch, resumed.KeptEpoch);
        CollectionAssert.AreEqual(straight.State.History.Select(h => h.HeldOut).ToList(), resumed.State.History.Select(h => h.HeldOut).ToList());
        foreach (var (name, tensor) in straight.Model.state_dict())
        {
            var diff = (tensor.to(ScalarType.Float64) - resumed.Model.state_dict()[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.IsLessThanOrEqualTo(1e-4, diff, $"{name} differs by {diff}");
        }
        // best-robust: the kept weights are those of the last epoch within one standard error of the best PGD-10 accuracy so far.
        double bestSoFar = -1;
        int expected = 0;
        foreach (var h in straight.State.History)
        {
            double b = Math.Max(0, bestSoFar);
            if (h.HeldOut!.Pgd10 >= bestSoFar - Math.Sqrt(b * (1 - b) / 128)) { expected = h.Epoch; bestSoFar = Math.Max(bestSoFar, h.HeldOut.Pgd10); }
        }
        Assert.AreEqual(expected, straight.KeptEpoch);
    }

    static (Tensor Images, Tensor Labels) Batch(int n)
    {
        using var images = new DeviceImages(TestData.Test, CPU);
        return images.Range(0, n);
    }
}
