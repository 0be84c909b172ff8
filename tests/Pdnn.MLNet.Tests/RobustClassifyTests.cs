using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;
using static TorchSharp.torch;

namespace Pdnn.MLNet.Tests;

[TestClass]
public sealed class RobustClassifyTests
{
    [TestMethod]
    public void ScoresAreProbabilitiesAndLabelsMatchTheTorchSharpModel()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var (onnx, model) = RealImages.Classifier;

        var scored = ml.Transforms.RobustClassify(onnx, batchSize: 8).Fit(data).Transform(data);
        var scores = RealImages.Images(scored, "Score");
        var labels = scored.GetColumn<uint>("PredictedLabel").ToArray();

        // The same images through TorchSharp directly.
        var images = RealImages.Images(data);
        using var x = tensor(images.SelectMany(v => v).ToArray(), [images.Length, 3, 32, 32]);
        model.eval();
        using var noGrad = no_grad();
        var probabilities = nn.functional.softmax(model.forward(x), 1).data<float>().ToArray();

        Assert.HasCount(20, labels);
        for (int i = 0; i < images.Length; i++)
        {
            Assert.AreEqual(1.0, scores[i].Sum(), 1e-5, $"row {i}: scores must sum to 1");
            for (int k = 0; k < 10; k++) Assert.AreEqual(probabilities[i * 10 + k], scores[i][k], 1e-4, $"row {i} class {k}");
            Assert.AreEqual((uint)(Array.IndexOf(scores[i], scores[i].Max()) + 1), labels[i], $"row {i}: PredictedLabel is the arg-max key");
        }
        VBuffer<ReadOnlyMemory<char>> names = default;
        scored.Schema["PredictedLabel"].GetKeyValues(ref names);
        CollectionAssert.AreEqual(Pdnn.Data.Cifar10.ClassNames.ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray());
    }

    [TestMethod]
    public void BatchSizeDoesNotChangeTheResultAndOtherColumnsPassThrough()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var onnx = RealImages.Classifier.Onnx;

        var one = ml.Transforms.RobustClassify(onnx, batchSize: 1).Fit(data).Transform(data);
        var seven = ml.Transforms.RobustClassify(onnx, batchSize: 7).Fit(data).Transform(data); // 20 = 7 + 7 + 6

        CollectionAssert.AreEqual(one.GetColumn<uint>("PredictedLabel").ToArray(), seven.GetColumn<uint>("PredictedLabel").ToArray());
        var a = RealImages.Images(one, "Score").SelectMany(v => v).ToArray();
        var b = RealImages.Images(seven, "Score").SelectMany(v => v).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-5);
        CollectionAssert.AreEqual(data.GetColumn<string>("Path").ToArray(), seven.GetColumn<string>("Path").ToArray());
    }

    [TestMethod]
    public void PredictionEngineGivesTheSameLabelsAsTheBatchedView()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var transformer = ml.Transforms.RobustClassify(RealImages.Classifier.Onnx).Fit(data);
        var batched = transformer.Transform(data).GetColumn<uint>("PredictedLabel").ToArray();

        var engine = ml.Model.CreatePredictionEngine<ImageInput, Prediction>(transformer);
        var images = RealImages.Images(data);
        var single = images.Select(img => engine.Predict(new ImageInput { Image = img }).PredictedLabel).ToArray();

        CollectionAssert.AreEqual(batched, single);
    }

    [TestMethod]
    public void AClassifierForAnotherImageSizeIsRefusedNamingTheFile()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new BigImage() });
        var onnx = RealImages.Classifier.Onnx;

        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.RobustClassify(onnx, "Image", 64, 64).Fit(data));
        StringAssert.Contains(e.Message, onnx);
        StringAssert.Contains(e.Message, "3x64x64");
    }

    [TestMethod]
    public void MissingOrCorruptOnnxFileIsNamed()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => ml.Transforms.RobustClassify("/no/model.onnx").Fit(data));
        StringAssert.Contains(missing.Message, "/no/model.onnx");

        var corrupt = Path.Combine(Pdnn.Tests.TestPaths.NewTempDir(), "corrupt.onnx");
        File.WriteAllBytes(corrupt, File.ReadAllBytes(RealImages.Classifier.Onnx)[..2000]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.RobustClassify(corrupt).Fit(data));
        StringAssert.Contains(e.Message, corrupt);
    }

    public sealed class ImageInput
    {
        [VectorType(3072)] public float[] Image { get; set; } = [];
    }

    public sealed class Prediction
    {
        public uint PredictedLabel { get; set; }
        public float[] Score { get; set; } = [];
    }

    sealed class BigImage
    {
        [VectorType(3 * 64 * 64)] public float[] Image { get; set; } = new float[3 * 64 * 64];
    }
}
