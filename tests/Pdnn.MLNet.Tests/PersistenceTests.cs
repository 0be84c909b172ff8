using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Pdnn.MLNet.Transforms;
using Pdnn.Onnx;
using Pdnn.Tests;
using Pdnn.Torch.Models.Recreation;
using static TorchSharp.torch;

namespace Pdnn.MLNet.Tests;

[TestClass]
public sealed class PersistenceTests
{
    static string ExportLiteSr()
    {
        manual_seed(21);
        var g = new SrGenerator(SrGeneratorSpec.Lite);
        var path = Path.Combine(TestPaths.NewTempDir(), "sr.onnx");
        OnnxExporter.Save(OnnxExporter.Export(g, [3, 32, 32]), path);
        return path;
    }

    static string ExportLiteInpainter()
    {
        manual_seed(22);
        var f = new Inpainter(InpainterSpec.Lite);
        var path = Path.Combine(TestPaths.NewTempDir(), "inpainter.onnx");
        OnnxExporter.Save(OnnxExporter.Export(f, [4, 32, 32]), path);
        return path;
    }

    /// <summary>From image files to robust predictions: ImageAnalytics, then Pdnn stages.</summary>
    static IEstimator<ITransformer> Load(MLContext ml) =>
        ml.Transforms.LoadImages("Bitmap", "", "Path")
            .Append(ml.Transforms.ResizeImages("Bitmap", 32, 32, "Bitmap"))
            .Append(ml.Transforms.ExtractPixels("Image", "Bitmap", ImagePixelExtractingEstimator.ColorBits.Rgb,
                    ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255f));

    static IDataView Files(MLContext ml) =>
        ml.Data.LoadFromEnumerable(RealImages.Files.Select(f => new ImageRow { Path = f, Label = Path.GetFileName(Path.GetDirectoryName(f))! }));

    /// <summary>Labels and scores read in one pass (a second pass would be a new call, with new noise).</summary>
    internal static (uint[] Labels, float[] Scores) Predict(ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        var labels = new List<uint>();
        var scores = new List<float>();
        using var cursor = scored.GetRowCursor([scored.Schema["PredictedLabel"], scored.Schema["Score"]]);
        var label = cursor.GetGetter<uint>(scored.Schema["PredictedLabel"]);
        var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        uint l = 0;
        VBuffer<float> s = default;
        while (cursor.MoveNext())
        {
            label(ref l); score(ref s);
            labels.Add(l); scores.AddRange(s.DenseValues());
        }
        return ([.. labels], [.. scores]);
    }

    [TestMethod]
    public void NsrAndFirChainsRoundTripWithEqualPredictions()
    {
        var ml = new MLContext(seed: 0);
        var data = Files(ml);
        var classifier = RealImages.Classifier.Onnx;
        var noise = new NoiseOptions { GaussianVariance = 0.01, SaltProbability = 0.01, PepperProbability = 0.01 };
        var chains = new[]
        {
            Load(ml).Append(ml.Transforms.NoisyCorrupt("Image", noise, seed: 4)).Append(ml.Transforms.SuperResolve("Image", ExportLiteSr()))
                    .Append(ml.Transforms.RobustClassify(classifier)),
            Load(ml).Append(ml.Transforms.MaskedInpaintAggregate("Image", ExportLiteInpainter(), gridCell: 4, seed: 5, redrawPerImage: true))
                    .Append(ml.Transforms.JpegCompression("Image", 90)).Append(ml.Transforms.RobustClassify(classifier)),
        };
        foreach (var chain in chains)
        {
            var model = chain.Fit(data);
            var before = Predict(model, data);
            var path = Path.Combine(TestPaths.NewTempDir(), "phi-dnn.zip");

            ml.Model.SavePdnn(model, data.Schema, path);
            var loaded = ml.Model.LoadPdnn(path, out var schema);
            var after = Predict(loaded, data);

            Assert.AreEqual(data.Schema["Path"].Type, schema["Path"].Type);
            CollectionAssert.AreEqual(before.Labels, after.Labels);
            for (int i = 0; i < before.Scores.Length; i++) Assert.AreEqual(before.Scores[i], after.Scores[i], 1e-6);
            CollectionAssert.AreNotEqual(before.Scores, Predict(loaded, data).Scores, "a second call draws fresh randomness");
        }
    }

    [TestMethod]
    public void AlteredOnnxModelInsideTheFileIsRefused()
    {
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var model = ml.Transforms.RobustClassify(RealImages.Classifier.Onnx).Fit(data);
        var path = Path.Combine(TestPaths.NewTempDir(), "model.zip");
        ml.Model.SavePdnn(model, data.Schema, path);

        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Single(e => e.Name.EndsWith(".onnx"));
            using var s = entry.Open();
            s.Position = 5000;
            s.WriteByte(0x5A);
        }

        var e = Assert.ThrowsExactly<Persistence.PdnnModelFileException>(() => ml.Model.LoadPdnn(path, out _));
        Assert.AreEqual(Persistence.ModelFileCheck.ModelAltered, e.Check);
        StringAssert.Contains(e.Message, "altered");
        StringAssert.Contains(e.Message, "RobustClassify");
    }

    [TestMethod]
    public void MissingOrForeignFileIsNamed()
    {
        var ml = new MLContext(seed: 0);
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => ml.Model.LoadPdnn("/no/model.zip", out _));
        StringAssert.Contains(missing.Message, "/no/model.zip");

        var foreign = Path.Combine(TestPaths.NewTempDir(), "foreign.zip");
        File.WriteAllText(foreign, "not a zip");
        var e = Assert.ThrowsExactly<Persistence.PdnnModelFileException>(() => ml.Model.LoadPdnn(foreign, out _));
        StringAssert.Contains(e.Message, foreign);
    }
}
