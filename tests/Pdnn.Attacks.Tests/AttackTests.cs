using Pdnn.Attacks.Attacks;
using Pdnn.Data;
using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

[TestClass]
public sealed class AttackTests
{
    const double Eps = 8.0 / 255;

    static readonly Lazy<(CifarResNet Model, Tensor X, Tensor Y)> trained = new(() =>
    {
        var train = DatasetLoader.Load(TestPaths.Sample, Split.Train, new() { UseCache = false });
        var test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(100, 0);
        var options = new TrainOptions { Architecture = "resnet8", Epochs = 4, BatchSize = 64, LearningRate = 0.05, Seed = 0 };
        var model = new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(train, null, null, false).Model;
        model.eval();
        using var images = new DeviceImages(test, CPU);
        var (x, y) = images.Range(0, test.Count);
        return (model, x.detach(), y.detach());
    });

    static double Accuracy(Func<Tensor, Tensor> model, Tensor x, Tensor y)
    {
        using var noGrad = no_grad();
        return model(x).argmax(1).eq(y).to(ScalarType.Float32).mean().item<float>();
    }

    /// <summary>Two-class linear model on 3x4x4 images: the L∞ worst case is x + ε·sign(w_other − w_true), analytically.</summary>
    static (Func<Tensor, Tensor> Model, Tensor W, Tensor X, Tensor Y) Linear()
    {
        manual_seed(1);
        var w = randn(2, 48);
        var x = rand(6, 3, 4, 4) * (1 - 2 * Eps) + Eps; // away from 0 and 1, so clamping to [0,1] does not bind
        var y = tensor(new long[] { 0, 1, 0, 1, 1, 0 });
        return (input => input.flatten(1).matmul(w.t()), w, x, y);
    }

    static Tensor AnalyticWorstCase(Tensor w, Tensor x, Tensor y)
    {
        var direction = (w[1] - w[0]).reshape(1, 3, 4, 4);                      // increases logit 1 − logit 0
        var sign = (1 - 2 * y.to(ScalarType.Float32)).reshape(-1, 1, 1, 1);    // +1 when the true class is 0
        return x + Eps * (direction * sign).sign();
    }

    [TestMethod]
    public void FgsmFindsTheAnalyticWorstCaseOfALinearModel()
    {
        var (model, w, x, y) = Linear();
        var adversarial = new Fgsm(model, Eps).Perturb(x, y);
        Assert.IsTrue(adversarial.allclose(AnalyticWorstCase(w, x, y), atol: 1e-6));
    }

    [TestMethod]
    public void PgdConvergesToTheAnalyticWorstCaseOfALinearModel()
    {
        var (model, w, x, y) = Linear();
        var adversarial = new Pgd(model, Eps, stepSize: Eps / 4, steps: 10, randomStart: true, seed: 3).Perturb(x, y);
        Assert.IsTrue(adversarial.allclose(AnalyticWorstCase(w, x, y), atol: 1e-6));
    }

    [TestMethod]
    public void AdversarialImagesStayInTheEpsilonBallAndInZeroOne()
    {
        var (model, x, y) = trained.Value;
        foreach (var attack in new Attack[] { new Fgsm(model.forward, Eps), new Pgd(model.forward, Eps, Eps / 4, 10, restarts: 2) })
        {
            var adversarial = attack.Perturb(x, y);
            Assert.IsLessThanOrEqualTo(Eps + 1e-6, (adversarial - x).abs().max().item<float>(), $"{attack.GetType().Name} left the ε-ball");
            Assert.IsTrue(adversarial.min().item<float>() >= 0 && adversarial.max().item<float>() <= 1, $"{attack.GetType().Name} left [0,1]");
        }
    }

    [TestMethod]
    public void ZeroEpsilonLeavesImagesAndAccuracyUnchanged()
    {
        var (model, x, y) = trained.Value;
        var adversarial = new Pgd(model.forward, 0, 0.01, 5).Perturb(x, y);
        Assert.IsTrue(adversarial.equal(x).all().item<bool>());
    }

    [TestMethod]
    public void PgdIsAtLeastAsStrongAsFgsmAndBreaksAnUndefendedModel()
    {
        var (model, x, y) = trained.Value;
        double clean = Accuracy(model.forward, x, y);
        double fgsm = Accuracy(model.forward, new Fgsm(model.forward, Eps).Perturb(x, y), y);
        double pgd = Accuracy(model.forward, new Pgd(model.forward, Eps, Eps / 4, 10).Perturb(x, y), y);
        Assert.IsGreaterThan(0.3, clean, $"the model learnt something: {clean:P0}");
        Assert.IsLessThan(clean, fgsm, $"FGSM {fgsm:P0} vs clean {clean:P0}");
        Assert.IsLessThanOrEqualTo(fgsm, pgd, $"PGD {pgd:P0} vs FGSM {fgsm:P0}");
        Assert.IsLessThan(0.1, pgd, $"PGD-10 at 8/255 leaves {pgd:P0} of an undefended model");
    }

    [TestMethod]
    public void EotGradientVarianceFallsWithTheNumberOfSamples()
    {
        // A randomised model: Gaussian noise (σ = 0.3) added inside the forward pass, then a fixed random linear map.
        manual_seed(5);
        var w = randn(10, 48);
        Func<Tensor, Tensor> noisy = input =>
            cat([(input + randn_like(input) * 0.3).flatten(1).matmul(w.t()).relu().pow(2).sum(1, keepdim: true), zeros(input.shape[0], 1)], 1);
        var x = rand(1, 3, 4, 4);
        var y = tensor(new long[] { 1 });

        double Variance(int samples)
        {
            var attack = new EotPgd(noisy, Eps, Eps / 4, 1, samples);
            var grads = stack(Enumerable.Range(0, 40).Select(_ => attack.ExpectedGradient(x, y).flatten()).ToArray());
            return grads.var(0).mean().item<float>();
        }

        double one = Variance(1), sixteen = Variance(16);
        // Averaging n independent draws divides the variance by n; allow a wide margin for the 40-draw estimates.
        Assert.IsLessThan(one / 6, sixteen, $"variance with 1 sample {one:E2}, with 16 samples {sixteen:E2}");
    }
}
