using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Transforms;

namespace Pdnn.MLNet.Tests;

[TestClass]
public sealed class BadInputTests
{
    sealed class Grey
    {
        [VectorType(784)] public float[] Pixels { get; set; } = new float[784];
    }

    sealed class Row
    {
        [VectorType(3072)] public float[] Image { get; set; } = [];
    }

    static IDataView Rows(MLContext ml, params float[][] images) => ml.Data.LoadFromEnumerable(images.Select(i => new Row { Image = i }));

    [TestMethod]
    public void WrongVectorLengthNamesTheColumnAndBothShapes()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new Grey() });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.SpatialSmoothing("Out", 3, "Pixels").Fit(data));
        StringAssert.Contains(e.Message, "'Pixels'");
        StringAssert.Contains(e.Message, "Vector<Single, 3072>");
        StringAssert.Contains(e.Message, "784");
    }

    [TestMethod]
    public void MissingColumnIsNamed()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new Grey() });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.RobustClassify(RealImages.Classifier.Onnx, "Photo").Fit(data));
        StringAssert.Contains(e.Message, "'Photo' not found");
    }

    [TestMethod]
    [DataRow(float.NaN, "NaN")]
    [DataRow(float.PositiveInfinity, "Infinity")]
    [DataRow(2f, "outside [0,1]")]
    [DataRow(-0.5f, "outside [0,1]")]
    public void BadPixelValuesStopTheRunNamingColumnAndRow(float bad, string expected)
    {
        var ml = new MLContext(seed: 0);
        var good = Enumerable.Repeat(0.5f, 3072).ToArray();
        var broken = (float[])good.Clone();
        broken[100] = bad;
        var data = Rows(ml, good, good, broken, good);
        var scored = ml.Transforms.RobustClassify(RealImages.Classifier.Onnx, batchSize: 4).Fit(data).Transform(data);

        var e = Assert.ThrowsExactly<InvalidOperationException>(() => scored.GetColumn<uint>("PredictedLabel").ToArray());
        StringAssert.Contains(e.Message, "Column 'Image', row 2: pixel 100");
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void InvalidParametersAreRefusedWhenTheEstimatorIsMade()
    {
        var ml = new MLContext(seed: 0);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FeatureSqueeze("Out", bits: 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.JpegCompression("Out", quality: 101));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.SpatialSmoothing("Out", window: 40));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.NoisyCorrupt("Out", new NoiseOptions { SaltProbability = 0.7, PepperProbability = 0.5 }));
    }

    [TestMethod]
    public void ModelSaveExplainsAndPointsToSavePdnn()
    {
        var ml = new MLContext(seed: 0);
        var data = Rows(ml, Enumerable.Repeat(0.5f, 3072).ToArray());
        var model = ml.Transforms.FeatureSqueeze("Out", 3, inputColumnName: "Image").Fit(data);
        var path = Path.Combine(Pdnn.Tests.TestPaths.NewTempDir(), "model.zip");

        var e = Assert.Throws<Exception>(() => ml.Model.Save(model, data.Schema, path));
        StringAssert.Contains(e.ToString(), "FeatureSqueezeTransformer cannot be saved with mlContext.Model.Save");
        StringAssert.Contains(e.ToString(), "SavePdnn");
    }
}
