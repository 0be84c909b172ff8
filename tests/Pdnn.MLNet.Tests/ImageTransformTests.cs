using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;
using Pdnn.Tests;

namespace Pdnn.MLNet.Tests;

[TestClass]
public sealed class ImageTransformTests
{
    sealed class Row
    {
        [VectorType(3072)] public float[] Image { get; set; } = [];
    }

    static IDataView Constant(MLContext ml, float value, int rows) =>
        ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ => new Row { Image = Enumerable.Repeat(value, 3072).ToArray() }));

    static float[] Run(MLContext ml, IEstimator<ITransformer> estimator, IDataView data, string column = "Out") =>
        RealImages.Images(estimator.Fit(data).Transform(data), column).SelectMany(v => v).ToArray();

    [TestMethod]
    public void GaussianNoiseHasTheRequestedMeanAndVariance()
    {
        var ml = new MLContext(seed: 0);
        var values = Run(ml, ml.Transforms.NoisyCorrupt("Out", new NoiseOptions { GaussianVariance = 0.01 }, "Image", seed: 5), Constant(ml, 0.5f, 40));

        double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
        // 122,880 draws: the standard error of the mean is 0.0003, of the variance ~0.00004; clamping at 0.5 ± 5 sd is negligible.
        Assert.AreEqual(0.5, mean, 0.002);
        Assert.AreEqual(0.01, variance, 0.0004);
    }

    [TestMethod]
    public void SaltAndPepperTurnsWholePixelsWhiteOrBlackAtTheRequestedRates()
    {
        var ml = new MLContext(seed: 0);
        var noise = new NoiseOptions { SaltProbability = 0.05, PepperProbability = 0.10 };
        var values = Run(ml, ml.Transforms.NoisyCorrupt("Out", noise, "Image", seed: 1), Constant(ml, 0.5f, 50));

        int white = 0, black = 0, pixels = 0;
        for (int img = 0; img < 50; img++)
            for (int p = 0; p < 1024; p++, pixels++)
            {
                var rgb = Enumerable.Range(0, 3).Select(c => values[img * 3072 + c * 1024 + p]).ToArray();
                Assert.IsTrue(rgb.All(v => v == rgb[0]), "a salted or peppered pixel changes all three channels together");
                if (rgb[0] == 1f) white++;
                else if (rgb[0] == 0f) black++;
                else Assert.AreEqual(0.5f, rgb[0]);
            }
        Assert.AreEqual(0.05, (double)white / pixels, 0.004);
        Assert.AreEqual(0.10, (double)black / pixels, 0.005);
    }

    [TestMethod]
    public void NoiseIsSeededFreshAtEveryCallAndIndependentOfBatchSize()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var noise = new NoiseOptions { GaussianVariance = 0.01, SaltProbability = 0.01, PepperProbability = 0.01 };

        var a = ml.Transforms.NoisyCorrupt("Out", noise, "Image", seed: 3, batchSize: 1).Fit(data);
        var b = ml.Transforms.NoisyCorrupt("Out", noise, "Image", seed: 3, batchSize: 16).Fit(data);
        var first = RealImages.Images(a.Transform(data), "Out").SelectMany(v => v).ToArray();
        var second = RealImages.Images(a.Transform(data), "Out").SelectMany(v => v).ToArray();
        var batched = RealImages.Images(b.Transform(data), "Out").SelectMany(v => v).ToArray();

        CollectionAssert.AreEqual(first, batched, "same seed, same draws, whatever the batch size");
        CollectionAssert.AreNotEqual(first, second, "each call draws fresh noise");
        Assert.IsTrue(first.All(v => v is >= 0f and <= 1f), "noisy images are clamped to [0,1]");
    }

    sealed class OutRow
    {
        [VectorType(3072)] public float[] Out { get; set; } = [];
    }

    [TestMethod]
    public void PerImageNoiseIsAFunctionOfTheImageNotOfTheCallRowBatchOrReload()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var images = RealImages.Images(data);
        var noise = new NoiseOptions { GaussianVariance = 0.01, SaltProbability = 0.01, PepperProbability = 0.01 };
        var noisy = ml.Transforms.NoisyCorrupt("Out", noise, "Image", seed: 3, batchSize: 16, randomness: RandomnessKey.PerImage).Fit(data);
        var first = RealImages.Images(noisy.Transform(data), "Out");

        // Another call, the images in reverse order (other rows, other batches), one at a time through a PredictionEngine.
        var reversed = ml.Data.LoadFromEnumerable(images.Reverse().Select(i => new Row { Image = i }));
        var again = RealImages.Images(noisy.Transform(reversed), "Out").Reverse().ToArray();
        var engine = ml.Model.CreatePredictionEngine<Row, OutRow>(noisy);
        var single = images.Select(i => engine.Predict(new Row { Image = i }).Out).ToArray();
        var path = Path.Combine(TestPaths.NewTempDir(), "noisy.zip");
        ml.Model.SavePdnn(noisy, data.Schema, path);
        var reloaded = RealImages.Images(ml.Model.LoadPdnn(path, out _).Transform(data), "Out");
        for (int i = 0; i < images.Length; i++)
        {
            CollectionAssert.AreEqual(first[i], again[i], $"image {i}: the same noise at another call, row and batch");
            CollectionAssert.AreEqual(first[i], single[i], $"image {i}: the same noise one image at a time");
            CollectionAssert.AreEqual(first[i], reloaded[i], $"image {i}: the same noise after SavePdnn/LoadPdnn");
        }

        var otherSeed = RealImages.Images(ml.Transforms.NoisyCorrupt("Out", noise, "Image", seed: 4, randomness: RandomnessKey.PerImage).Fit(data).Transform(data), "Out");
        CollectionAssert.AreNotEqual(first[0], otherSeed[0], "the seed still matters");
        CollectionAssert.AreNotEqual(first[0], images[0], "noise is applied");
        double mean = first.Zip(images, (n, x) => n.Zip(x, (a, b) => a - b).Average()).Average();
        Assert.AreEqual(0, mean, 0.01, "the draws are still centred noise, not a fixed pattern per call");
    }

    [TestMethod]
    public void DownUpResizeNoiseBlursButKeepsTheShape()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var original = RealImages.Images(data).SelectMany(v => v).ToArray();
        var resized = Run(ml, ml.Transforms.NoisyCorrupt("Out", new NoiseOptions { ResizeFactor = 0.5 }, "Image"), data);
        double mse = original.Zip(resized, (x, y) => (x - y) * (x - y)).Average();
        Assert.IsTrue(mse is > 1e-4 and < 0.02, $"down-up resize MSE {mse}");
        Assert.AreEqual(original.Average(), resized.Average(), 0.01, "bilinear resizing keeps the mean brightness");
    }

    [TestMethod]
    public void FeatureSqueezingQuantisesToTheBitDepth()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var original = RealImages.Images(data).SelectMany(v => v).ToArray();
        var squeezed = Run(ml, ml.Transforms.FeatureSqueeze("Out", bits: 2, inputColumnName: "Image"), data);

        for (int i = 0; i < original.Length; i++) Assert.AreEqual(MathF.Round(original[i] * 3f) / 3f, squeezed[i], 1e-6f);
        CollectionAssert.IsSubsetOf(squeezed.Distinct().Order().ToArray(), new[] { 0f, 1f / 3f, 2f / 3f, 1f });
    }

    [TestMethod]
    public void MedianSmoothingRemovesAnIsolatedBrightPixelAndReflectsAtTheBorder()
    {
        var ml = new MLContext(seed: 0);
        var image = Enumerable.Repeat(0.2f, 3072).ToArray();
        image[5 * 32 + 7] = 1f;                 // an isolated bright pixel in the red plane
        image[1024 + 0] = 0.9f;                 // a corner pixel of the green plane, and its right neighbour
        image[1024 + 1] = 0.9f;
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Image = image } });

        var smoothed = Run(ml, ml.Transforms.SpatialSmoothing("Out", window: 3, inputColumnName: "Image"), data);

        Assert.AreEqual(0.2f, smoothed[5 * 32 + 7], "3x3 median removes an isolated outlier");
        // Reflect borders: at corner (0,0) the window takes rows {0,0,1} x columns {0,0,1}, so (0,0) counts four times and
        // (0,1) twice: six of nine values are 0.9 → median 0.9. At (0,1), columns {0,1,2}: four of nine → 0.2.
        Assert.AreEqual(0.9f, smoothed[1024]);
        Assert.AreEqual(0.2f, smoothed[1025]);
        // A 2x2 median (window offsets 0..1, upper median) at (0,0) sees 0.9, 0.9, 0.2, 0.2 → 0.9.
        var two = Run(ml, ml.Transforms.SpatialSmoothing("Out", window: 2, inputColumnName: "Image"), data);
        Assert.AreEqual(0.9f, two[1024]);
    }

    [TestMethod]
    public void JpegCompressionLosesMoreAtLowerQuality()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var original = RealImages.Images(data).SelectMany(v => v).ToArray();
        double Mse(int q) => Run(ml, ml.Transforms.JpegCompression("Out", q, "Image"), data).Zip(original, (a, b) => (a - b) * (a - b)).Average();

        double q90 = Mse(90), q10 = Mse(10);
        Assert.IsGreaterThan(0, q90, "JPEG is lossy");
        Assert.IsGreaterThan(30, 10 * Math.Log10(1 / q90), $"q90 PSNR {10 * Math.Log10(1 / q90):F1} dB");
        Assert.IsGreaterThan(3 * q90, q10, $"q10 MSE {q10} vs q90 {q90}");
    }
}
