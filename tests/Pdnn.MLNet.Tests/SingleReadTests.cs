using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;
using Pdnn.Tests;

namespace Pdnn.MLNet.Tests;

/// <summary>
/// Reading a stage's input image beside its outputs (a recreation with the scores) computes every stage once, and a chain
/// that starts from in-memory MLImage pictures (as a service gets them) runs, saves and reloads.
/// </summary>
[TestClass]
public sealed class SingleReadTests
{
    /// <summary>An image-to-image stage that counts the images it computes.</summary>
    sealed class CountingStage(string input, string output) : ImageToImageTransformer(input, output, ImageShape.Rgb(32, 32), 8)
    {
        public int Computed;
        public override Persistence.StageDescription Describe() => throw new NotSupportedException();
        protected override void Apply(ReadOnlySpan<float> image, Span<float> result, RowKey row)
        {
            Interlocked.Increment(ref Computed);
            image.CopyTo(result);
        }
    }

    [TestMethod]
    public void AStageUpstreamRunsOnceWhenItsOutputIsReadBesideTheNextStagesOutput()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var counting = new CountingStage("Image", "Mid");
        var squeeze = ml.Transforms.FeatureSqueeze("Out", bits: 4, inputColumnName: "Mid").Fit(counting.Transform(data));
        var output = squeeze.Transform(counting.Transform(data));

        var rows = ml.Data.CreateEnumerable<MidAndOut>(output, reuseRowObject: false).ToList();
        Assert.HasCount(RealImages.Files.Length, rows);
        Assert.AreEqual(RealImages.Files.Length, counting.Computed, "each image went through the counting stage once");
        for (int i = 0; i < rows.Count; i++)
            CollectionAssert.AreEqual(rows[i].Mid.Select(v => MathF.Round(v * 15) / 15).ToArray(), rows[i].Out, $"row {i}: Out is Mid squeezed, row for row");
    }

    sealed class MidAndOut
    {
        [VectorType(3072)] public float[] Mid { get; set; } = [];
        [VectorType(3072)] public float[] Out { get; set; } = [];
    }

    sealed class Picture
    {
        [ImageType(32, 32)] public MLImage Image { get; set; } = null!;
    }

    sealed class Recreated
    {
        [VectorType(3072)] public float[] Pixels { get; set; } = [];
        [VectorType(3072)] public float[] Noisy { get; set; } = [];
    }

    [TestMethod]
    public void AChainFromInMemoryPicturesRunsSavesAndReloads()
    {
        var ml = new MLContext(seed: 0);
        Picture[] Pictures() => RealImages.Files.Select(f => new Picture { Image = MLImage.CreateFromFile(f) }).ToArray();
        var chain = ml.Transforms.ResizeImages("Image", 32, 32, "Image")
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image", ImagePixelExtractingEstimator.ColorBits.Rgb, ImagePixelExtractingEstimator.ColorsOrder.ARGB,
                    interleavePixelColors: false, scaleImage: 1f / 255f))
            .Append(ml.Transforms.NoisyCorrupt("Noisy", new NoiseOptions { GaussianVariance = 0.01 }, "Pixels", randomness: RandomnessKey.PerImage));
        var data = ml.Data.LoadFromEnumerable(Pictures());
        var model = chain.Fit(data);
        var first = ml.Data.CreateEnumerable<Recreated>(model.Transform(data), reuseRowObject: false).ToList();

        // ML.NET cannot write an image column into a saved input schema; SavePdnn saves without it instead of failing.
        var path = Path.Combine(TestPaths.NewTempDir(), "pictures.zip");
        ml.Model.SavePdnn(model, data.Schema, path);
        Assert.IsFalse(Directory.GetFiles(Path.GetDirectoryName(path)!).Any(f => f.EndsWith(".tmp")), "no temporary file left");
        var reloaded = ml.Model.LoadPdnn(path, out var schema);
        Assert.IsNull(schema, "the input schema had only an image column, which ML.NET leaves out");
        var again = ml.Data.CreateEnumerable<Recreated>(reloaded.Transform(ml.Data.LoadFromEnumerable(Pictures())), reuseRowObject: false).ToList();

        var expected = RealImages.Images(RealImages.Load(ml));
        for (int i = 0; i < first.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], first[i].Pixels, $"picture {i}: the pixels ImageAnalytics extracts from the file");
            CollectionAssert.AreEqual(first[i].Noisy, again[i].Noisy, $"picture {i}: the reloaded chain gives the same noisy image");
        }
    }
}
