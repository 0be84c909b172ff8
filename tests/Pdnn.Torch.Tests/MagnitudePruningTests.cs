using Pdnn.Data;
using Pdnn.Torch.Models;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

/// <summary>The paper's ResNetpruned recipe: prune by magnitude, retrain with the pruned weights held at zero.</summary>
[TestClass]
public sealed class MagnitudePruningTests
{
    static readonly TrainOptions Tiny = new() { Architecture = "tiny", Epochs = 1, BatchSize = 64, LearningRate = 0.05, Seed = 3 };
    static ImageDataset Small => TestData.Train.Sample(512, seed: 0);

    static TrainResult Train(TrainOptions options, CifarResNet? initial = null) =>
        new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(Small, null, null, false, initial: initial);

    static Dictionary<string, Tensor> PrunableWeights(CifarResNet model) =>
        model.named_parameters().Where(p => p.name.EndsWith("weight") && p.parameter.dim() >= 2).ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [TestMethod]
    public void PrunesTheSmallestWeightsOfEveryLayer()
    {
        var model = Train(Tiny).Model;
        var before = PrunableWeights(model);
        using var pruning = MagnitudePruning.Prune(model, 0.5);

        foreach (var (name, after) in PrunableWeights(model))
        {
            var w = before[name];
            long k = (long)Math.Round(0.5 * w.numel());
            Assert.AreEqual(k, after.eq(0).sum().item<long>(), name);
            // Every kept weight is at least as large as every pruned one, and kept unchanged.
            var kept = after.ne(0);
            Assert.IsGreaterThanOrEqualTo(w.abs().masked_select(kept.logical_not()).max().item<float>(), w.abs().masked_select(kept).min().item<float>(), name);
            Assert.IsTrue(after.masked_select(kept).allclose(w.masked_select(kept), rtol: 0, atol: 0), name);
        }
        // Batch-norm parameters are not pruned.
        Assert.IsTrue(model.named_parameters().Where(p => p.parameter.dim() == 1).All(p => p.parameter.eq(0).sum().item<long>() == 0));
    }

    [TestMethod]
    public void SparsityHoldsAfterRetrainingAndTheSecondPruneKeepsTheFirstsZeros()
    {
        var trained = Train(Tiny).Model;
        var half = Train(Tiny with { Sparsity = 0.5 }, trained);
        var halfWeights = PrunableWeights(half.Model);
        Assert.AreEqual(0.5, MagnitudePruning.MeasuredSparsity(half.Model), 0.001);

        var eighty = Train(Tiny with { Sparsity = 0.8 }, half.Model);
        Assert.AreEqual(0.8, MagnitudePruning.MeasuredSparsity(eighty.Model), 0.001);
        foreach (var (name, w) in PrunableWeights(eighty.Model))
        {
            // Retraining moved the surviving weights (so weight decay and momentum were at work on them)...
            Assert.IsFalse(w.allclose(halfWeights[name]), $"{name} did not train");
            // ...and what was pruned at 50% is still zero at 80%.
            Assert.AreEqual(0, w.masked_select(halfWeights[name].eq(0)).abs().sum().item<float>(), name);
        }
    }

    [TestMethod]
    public void SparsityOutsideZeroToOneIsRefused()
    {
        var model = Train(Tiny with { MaxSteps = 1 }).Model;
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MagnitudePruning.Prune(model, 1.0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MagnitudePruning.Prune(model, 0.0));
    }
}
