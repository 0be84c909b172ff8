using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Attacks.Twins;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.MLNet.Execution;
using Pdnn.Onnx;
using Pdnn.Onnx.Import;
using Pdnn.Tests;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

/// <summary>
/// The white-box twin and the deployed ML.NET chain are one model: on real images, with the randomness fixed, the twin's
/// probabilities equal the chain's Score for every shipped defence.
/// </summary>
[TestClass]
public sealed class TwinTests
{
    static readonly string Models = Path.Combine(TestPaths.RepoRoot, "models");
    static readonly ImageDataset Test = DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(48, 3);

    static float[] Pixels(ImageDataset images) =>
        Enumerable.Range(0, images.Count).SelectMany(i => images.Image(i).ToArray()).Select(b => b / 255f).ToArray();

    static Tensor Batch(float[] pixels, int n) => tensor(pixels, [n, 3, 32, 32]);

    /// <summary>The chain's Score for images already in memory.</summary>
    static float[] Scores(MLContext ml, ITransformer model, IDataView data) =>
        model.Transform(data).GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues()).ToArray();

    static float MaxDifference(float[] a, Tensor b) => a.Zip(b.cpu().data<float>().ToArray()).Max(p => Math.Abs(p.First - p.Second));

    [TestMethod]
    [DataRow("none", 1)]
    [DataRow("fir", 1)]
    [DataRow("fir", 8)]
    [DataRow("fs", 1)]
    [DataRow("ss", 1)]
    [DataRow("jpeg", 1)]
    [DataRow("sr", 1)]
    [DataRow("sr-plain", 1)]
    [DataRow("pruned", 1)]
    [DataRow("resnet-adv", 1)]
    [DataRow("resnet-adv-rs", 1)]
    [DataRow("resnet-adv-rs-cpu45", 1)]
    [DataRow("resnet-adv-n-fgsm", 1)]
    [DataRow("resnet-adv-n-fgsm-cpu45", 1)]
    [DataRow("fir-adv", 1)]
    [DataRow("resnet-adv-fgsm-pure", 1)]
    public void DeterministicDefencesTwinEqualsTheChain(string defence, int grid)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, defence, grid).Fit(data);
        using var twin = ChainTwin.FromChain(model, CPU);
        Assert.IsFalse(twin.Randomised, twin.Description);
        using var noGrad = no_grad();
        var probabilities = nn.functional.softmax(twin.Logits(Batch(Pixels(Test), Test.Count)), 1);
        Assert.IsLessThan(1e-4f, MaxDifference(Scores(ml, model, data), probabilities), twin.Description);
    }

    /// <summary>Table 3's chains: each NSR variant has its own δ (none for SR) before the one SR generator, and the T or the plain classifier; NSRadv keeps the generator it was trained with; nsr-srgan pairs the SRGAN-refined generator with its own T classifier.</summary>
    [TestMethod]
    [DataRow("nsr", 0.01, 0.01, "sr-lite-cifar10", "resnet20-cifar10-on-sr-lite")]
    [DataRow("nsr-plain", 0.01, 0.01, "sr-lite-cifar10", "resnet20-cifar10")]
    [DataRow("nsr-gaussian", 0.01, 0.0, "sr-lite-cifar10", "resnet20-cifar10-on-sr-lite")]
    [DataRow("nsr-gaussian-plain", 0.01, 0.0, "sr-lite-cifar10", "resnet20-cifar10")]
    [DataRow("nsr-sp", 0.0, 0.01, "sr-lite-cifar10", "resnet20-cifar10-on-sr-lite")]
    [DataRow("nsr-sp-plain", 0.0, 0.01, "sr-lite-cifar10", "resnet20-cifar10")]
    [DataRow("sr", null, null, "sr-lite-cifar10", "resnet20-cifar10-on-sr-lite")]
    [DataRow("sr-plain", null, null, "sr-lite-cifar10", "resnet20-cifar10")]
    [DataRow("nsr-adv", 0.01, 0.01, "sr-lite-cifar10-5k", "resnet20-cifar10-on-sr-lite-adv")]
    [DataRow("nsr-srgan", 0.01, 0.01, "srgan-lite-cifar10", "resnet20-cifar10-on-srgan-lite")]
    public void NsrVariantsHaveTheirNoiseGeneratorAndClassifier(string defence, double? variance, double? saltAndPepper, string generator, string classifier)
    {
        var ml = new MLContext(seed: 0);
        var model = (IEnumerable<ITransformer>)ShippedModels.Chain(ml, Models, defence).Fit(ml.Data.LoadFromImageDataset(Test));
        var stages = model.Cast<BatchedImageTransformer>().Select(t => t.Describe()).ToList();

        Assert.AreEqual(variance is null ? "SuperResolve,RobustClassify" : "NoisyCorrupt,SuperResolve,RobustClassify", string.Join(',', stages.Select(s => s.Kind)));
        if (variance is { } v)
        {
            var noise = stages[0].Parameters;
            Assert.AreEqual((v, saltAndPepper!.Value, saltAndPepper.Value), (noise["gaussianVariance"], noise["salt"], noise["pepper"]));
        }
        Assert.AreEqual(Path.Combine(Models, generator, "sr-generator.onnx"), stages[^2].Model);
        Assert.AreEqual(Path.Combine(Models, classifier, "classifier.onnx"), stages[^1].Model);
        using var twin = ChainTwin.FromChain((ITransformer)model, CPU);
        Assert.AreEqual(variance is not null, twin.Randomised, twin.Description);
    }

    [TestMethod]
    public void NsrTwinEqualsTheChainGivenTheSameNoise()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = (IEnumerable<ITransformer>)ShippedModels.Chain(ml, Models, "nsr").Fit(data);
        using var twin = ChainTwin.FromChain((ITransformer)model, CPU);
        Assert.IsTrue(twin.Randomised);
        Assert.HasCount(3, twin.Stages, twin.Description);

        // Fix δ(x): the deployed noise stage's own draw, fed to the rest of the chain and to the rest of the twin.
        var noise = (ImageToImageTransformer)model.First();
        var noisy = (float[])noise.ComputeImages(Pixels(Test), Test.Count)[0];
        var noisyData = ml.Data.LoadFromEnumerable(Enumerable.Range(0, Test.Count).Select(i => new ImageOnly { Image = noisy[(i * 3072)..((i + 1) * 3072)] }));
        var rest = new TransformerChain<ITransformer>(model.Skip(1).ToArray());
        using var noGrad = no_grad();
        var logits = twin.Stages.Skip(1).Aggregate(Batch(noisy, Test.Count), (v, s) => s.Forward(v));
        Assert.IsLessThan(1e-4f, MaxDifference(Scores(ml, rest, noisyData), nn.functional.softmax(logits, 1)));
    }

    [TestMethod]
    public void NsrTwinNoiseHasTheDeployedDistribution()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = (IEnumerable<ITransformer>)ShippedModels.Chain(ml, Models, "nsr").Fit(data);
        using var twin = ChainTwin.FromChain((ITransformer)model, CPU);
        var clean = Pixels(Test);
        var deployed = Batch((float[])((ImageToImageTransformer)model.First()).ComputeImages(clean, Test.Count)[0], Test.Count);
        manual_seed(5);
        var ours = twin.Stages[0].Forward(Batch(clean, Test.Count));
        // Whole pixels set white or black (salt 1% + pepper 1%), and the spread of the remaining noise (σ = 0.1, clamped).
        double Extreme(Tensor t, float v) => t.eq(v).all(1).to(ScalarType.Float32).mean().item<float>();
        var x = Batch(clean, Test.Count);
        Assert.AreEqual(Extreme(deployed, 1) + Extreme(deployed, 0), Extreme(ours, 1) + Extreme(ours, 0), 0.004);
        double Spread(Tensor t) => (t - x).abs().mean().item<float>();
        Assert.AreEqual(Spread(deployed), Spread(ours), 0.003);
        Assert.IsGreaterThan(0.05, Spread(ours));
    }

    [TestMethod]
    public void BpdaStagesPassGradientsAndModelStagesAreDifferentiable()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        foreach (var defence in new[] { "jpeg", "fir" })
        {
            using var twin = ChainTwin.FromChain(ShippedModels.Chain(ml, Models, defence).Fit(data), CPU);
            var x = Batch(Pixels(Test), Test.Count).requires_grad_(true);
            var loss = twin.Logits(x).max(1).values.sum();
            var grad = autograd.grad([loss], [x])[0];
            Assert.IsGreaterThan(0.9, grad.ne(0).to(ScalarType.Float32).mean().item<float>(), $"{defence}: {twin.Description}");
        }
    }

    [TestMethod]
    public void DeployedScorerGivesTheChainsProbabilities()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, "fir", 4).Fit(data);
        using var twin = ChainTwin.FromChain(model, CPU);
        var scorer = new DeployedScorer(model, "Image", ImageShape.Rgb(32, 32));
        using var noGrad = no_grad();
        var x = Batch(Pixels(Test), Test.Count);
        var difference = (nn.functional.softmax(scorer.LogProbabilities(x), 1) - nn.functional.softmax(twin.Logits(x), 1)).abs().max().item<float>();
        Assert.IsLessThan(1e-4f, difference);
        Assert.AreEqual(Test.Count, scorer.Queries);
    }

    [TestMethod]
    public void AnOperatorWithoutATwinIsRefusedByName()
    {
        var builder = new OnnxGraphBuilder();
        var x = builder.Input("input", 10);
        builder.Output(builder.Node("Softmax", [x]), "output", 10);
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(builder.Build("test"));
        var error = Assert.ThrowsExactly<NotSupportedException>(() => new OnnxTorchGraph(bytes, CPU, "softmax.onnx"));
        StringAssert.Contains(error.Message, "Softmax");
        StringAssert.Contains(error.Message, "softmax.onnx");
    }

    [TestMethod]
    public void AStageAfterTheClassifierIsRefused()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageDataset(Test);
        var model = ShippedModels.Chain(ml, Models, "none").Append(ml.Transforms.FeatureSqueeze("Image")).Fit(data);
        var error = Assert.ThrowsExactly<NotSupportedException>(() => ChainTwin.FromChain(model, CPU));
        StringAssert.Contains(error.Message, "RobustClassify");
    }

    sealed class ImageOnly
    {
        [VectorType(3072)] public float[] Image { get; set; } = [];
    }
}
