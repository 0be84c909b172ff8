using Pdnn.Attacks.Attacks;
using Pdnn.Data;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

[TestClass]
public sealed class StrongerAttackTests
{
    /// <summary>The shipped ResNet-20 (87.91% on CIFAR-10) and 100 bundled test images.</summary>
    static readonly Lazy<(Func<Tensor, Tensor> Model, Tensor X, Tensor Y)> shipped = new(() =>
    {
        var (model, _) = ClassifierFile.Load(Path.Combine(TestPaths.RepoRoot, "models", "resnet20-cifar10"), CPU);
        var test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(100, 1);
        using var images = new DeviceImages(test, CPU);
        var (x, y) = images.Range(0, test.Count);
        return (model.forward, x.detach(), y.detach());
    });

    static double Accuracy(Func<Tensor, Tensor> model, Tensor x, Tensor y)
    {
        using var noGrad = no_grad();
        return model(x).argmax(1).eq(y).to(ScalarType.Float32).mean().item<float>();
    }

    [TestMethod]
    public void CheckpointsFollowThePaper()
    {
        CollectionAssert.AreEqual(new[] { 22, 41, 57, 70, 80, 87, 93, 99 }, Apgd.Checkpoints(100).ToArray());
    }

    [TestMethod]
    public void ApgdIsAtLeastAsStrongAsPgdWithTheSameBudgetOnARealModel()
    {
        var (model, x, y) = shipped.Value;
        const double eps = 1.0 / 255;
        double clean = Accuracy(model, x, y);
        double pgd = Accuracy(model, new Pgd(model, eps, eps / 4, 10).Perturb(x, y), y);
        double apgd = Accuracy(model, new Apgd(model, eps, 10).Perturb(x, y), y);
        double dlr = Accuracy(model, new Apgd(model, eps, 10, ApgdLoss.Dlr).Perturb(x, y), y);
        Assert.IsLessThan(clean, pgd, $"PGD {pgd:P0} vs clean {clean:P0}");
        Assert.IsLessThanOrEqualTo(pgd + 0.02, apgd, $"APGD-CE {apgd:P0} vs PGD {pgd:P0} at ε = 1/255, 10 steps");
        Assert.IsLessThan(clean, dlr, $"APGD-DLR {dlr:P0} vs clean {clean:P0}");
        var adversarial = new Apgd(model, eps, 10).Perturb(x, y);
        Assert.IsLessThanOrEqualTo(eps + 1e-6, (adversarial - x).abs().max().item<float>());
    }

    [TestMethod]
    public void IterativeAttacksHoldTheSameNumberOfTensorsWhateverTheirStepCount()
    {
        // Live tensors (after a garbage collection) at each model call: an attack that keeps every step's intermediates
        // (as PGD, APGD and Square once did, until Square-1000 on 100 Imagenette images took 21 GB) has more late than early.
        var (model, x, y) = shipped.Value;
        var live = new List<long>();
        Func<Tensor, Tensor> counted = input => { GC.Collect(); GC.WaitForPendingFinalizers(); live.Add(Tensor.TotalCount); return model(input); };
        const double eps = 2.0 / 255; // small enough that Square still has images left to attack after 25 queries
        var attacks = new (string Name, Attack Attack)[]
        {
            ("PGD-30", new Pgd(counted, eps, eps / 4, 30)),
            ("APGD-CE-30", new Apgd(counted, eps, 30)),
            ("Square-200", new Square(counted, eps, 200)),
        };
        foreach (var (name, attack) in attacks)
        {
            live.Clear();
            using var adversarial = attack.Perturb(x.narrow(0, 0, 20), y.narrow(0, 0, 20));
            Assert.IsGreaterThan(25, live.Count, $"{name}: the model was called {live.Count} times");
            // The most at once in the first third of the calls and in the last (APGD holds more at its checkpoints).
            int third = live.Count / 3;
            long early = live.Take(third).Max(), late = live.Skip(2 * third).Max();
            Assert.IsLessThanOrEqualTo(early + 2, late, $"{name}: at most {early} live tensors in its first {third} model calls, {late} in its last ({live.Count} calls)");
        }
    }

    [TestMethod]
    public void DifferentialEvolutionFindsTheOneDecisivePixel()
    {
        // A constructed model: class 0 exactly when the red value of pixel (row 3, column 5) exceeds 0.5.
        Func<Tensor, Tensor> model = x =>
        {
            var s = x[.., 0, 3, 5];
            return stack([s - 0.5, 0.5 - s], 1) * 20;
        };
        var x = full([2, 3, 8, 8], 0.9f);
        var y = tensor(new long[] { 0, 0 });
        var attack = new PixelAttack(model, pixels: 1, population: 60, generations: 50, seed: 4);

        var adversarial = attack.Perturb(x, y);

        Assert.AreEqual(0.0, Accuracy(model, adversarial, y), "both images misclassified");
        var changed = (adversarial != x).any(1);
        Assert.AreEqual(2L, changed.sum().item<long>(), "one pixel changed per image");
        Assert.IsTrue(changed[.., 3, 5].all().item<bool>(), "the changed pixel is the decisive one");
        Assert.IsLessThanOrEqualTo(2L * 60 * 51, attack.Queries);
    }

    [TestMethod]
    public void BpdaPassesTheGradientThroughAsTheIdentity()
    {
        Func<Tensor, Tensor> quantise = x => (x * 3).round() / 3; // non-differentiable: zero gradient almost everywhere
        var x = rand(2, 3, 4, 4).requires_grad_(true);
        var through = Bpda.Identity(quantise)(x);
        Assert.IsTrue(through.allclose(quantise(x.detach()), atol: 1e-6), "the forward pass is the pre-processing itself");
        var gradient = autograd.grad([(through * through).sum()], [x])[0];
        Assert.IsTrue(gradient.allclose(2 * through.detach(), atol: 1e-6), "the backward pass treats it as the identity");
    }
}

[TestClass]
public sealed class SquareAttackTests
{
    /// <summary>The shipped ResNet-20 as a query-only function, and <paramref name="count"/> sample test images.</summary>
    static (Func<Tensor, Tensor> QueryOnly, Tensor X, Tensor Y) Setup(int count, int seed)
    {
        var (model, _) = ClassifierFile.Load(Path.Combine(TestPaths.RepoRoot, "models", "resnet20-cifar10"), CPU);
        var test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(count, seed);
        using var images = new DeviceImages(test, CPU);
        var (x, y) = images.Range(0, test.Count);
        return (input => { using var noGrad = no_grad(); return model.forward(input); }, x.clone(), y.clone());
    }

    [TestMethod]
    public void SquareAttackLowersAccuracyWithoutGradientsAndStaysInTheBall()
    {
        var (queryOnly, x, y) = Setup(50, 2);
        const double eps = 8.0 / 255;

        // 300 queries, the evaluation's Square-300: at 100 the 60-epoch ResNet-20 lost exactly 20 points (86 -> 66%),
        // too close to the bound for a test that must not depend on the model's luck.
        var adversarial = new Square(queryOnly, eps, queries: 300, seed: 1).Perturb(x, y);

        double clean = queryOnly(x).argmax(1).eq(y).to(ScalarType.Float32).mean().item<float>();
        double attacked = queryOnly(adversarial).argmax(1).eq(y).to(ScalarType.Float32).mean().item<float>();
        Assert.IsLessThan(clean - 0.2, attacked, $"Square (300 queries, 8/255): {attacked:P0} vs clean {clean:P0}");
        Assert.IsLessThanOrEqualTo(eps + 1e-6, (adversarial - x).abs().max().item<float>());
        Assert.IsTrue(adversarial.min().item<float>() >= 0 && adversarial.max().item<float>() <= 1);
    }

    /// <summary>Each image's squares come from its own seeded stream, so a batch attacks each image as if it were alone (what sharding and resuming rely on).</summary>
    [TestMethod]
    public void SquareAttacksEachImageOfABatchAsItWouldAlone()
    {
        var (queryOnly, x, y) = Setup(6, 4);
        long[] ids = [11, 12, 13, 14, 15, 16];
        var square = new Square(queryOnly, 8.0 / 255, queries: 60, seed: 3);

        var batch = square.Perturb(x, y, ids);
        var batchQueries = square.QueriesPerImage;
        Assert.IsGreaterThan(0f, (batch - x).abs().max().item<float>(), "the attack changed the images");
        for (int i = 0; i < ids.Length; i++)
        {
            var alone = square.Perturb(x[i..(i + 1)], y[i..(i + 1)], [ids[i]]);
            Assert.IsTrue(alone.eq(batch[i..(i + 1)]).all().item<bool>(), $"image {i}: alone and in the batch differ");
            Assert.AreEqual(batchQueries[i], square.QueriesPerImage[0], $"image {i}: queries");
        }
    }
}
