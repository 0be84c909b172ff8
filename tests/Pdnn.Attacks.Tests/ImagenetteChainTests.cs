using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Attacks.Twins;
using Pdnn.Data;
using Pdnn.Data.Readers;
using Pdnn.MLNet;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

/// <summary>
/// The Imagenette chain from image files (real Imagenette validation JPEGs, ../shared/data): photographs of any size and
/// greyscale ones go through ML.NET's LoadImages → ResizeImages (centre crop) → ExtractPixels into the classifier, and
/// the twin gives the chain's answer on the same pixels; a corrupt or non-image file is refused by name.
/// </summary>
[TestClass]
public sealed class ImagenetteChainTests
{
    const int Side = ImagenetteModels.ImageSize;
    static readonly Lazy<string> models = new(TrainTinyClassifier);

    static string Val => TestPaths.RequireShared("imagenette2-160/val");

    /// <summary>A models folder holding a tiny ResNet trained for one epoch on 1,000 Imagenette images (64x64 centre crops), as the shipped classifier.</summary>
    static string TrainTinyClassifier()
    {
        var train = DatasetLoader.Load(TestPaths.RequireShared("imagenette2-160"), Split.Train,
            new() { Size = (Side, Side), Resize = ResizeMode.CenterCrop }).Sample(1000, 0);
        var options = new TrainOptions { Architecture = "tiny", Epochs = 1, BatchSize = 50, LearningRate = 0.05, Seed = 0 };
        var model = new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(train, null, null, false).Model;
        var dir = Path.Combine(TestPaths.NewTempDir(), "models");
        var folder = Directory.CreateDirectory(Path.Combine(dir, ImagenetteModels.ClassifierFolder)).FullName;
        ClassifierOnnx.Export(model, new ModelCard
        {
            Architecture = "tiny", ClassNames = [.. train.ClassNames], InputShape = [3, Side, Side],
            TrainData = train.Source, WeightsFile = "", WeightsSha256 = "",
        }, Path.Combine(folder, "classifier.onnx"));
        return dir;
    }

    /// <summary>Two real validation JPEGs per class, in class order.</summary>
    static List<string> RealFiles() => Directory.GetDirectories(Val).Order(StringComparer.Ordinal)
        .SelectMany(d => Directory.GetFiles(d).Order(StringComparer.Ordinal).Take(2)).ToList();

    static void Write(SKBitmap bitmap, string path)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>A folder root/&lt;wnid&gt;/ of real JPEGs, plus a copy of one resized to 300x120, one to 48x90, and a greyscale one.</summary>
    static (string Root, string Grey) MixedFolder()
    {
        var root = TestPaths.NewTempDir();
        var files = RealFiles();
        foreach (var f in files)
        {
            var dir = Directory.CreateDirectory(Path.Combine(root, Path.GetFileName(Path.GetDirectoryName(f))!)).FullName;
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        using var original = SKBitmap.Decode(files[0]);
        var tenchDir = Path.Combine(root, ImagenetteModels.WordNetIds[0]);
        foreach (var (w, h) in new[] { (300, 120), (48, 90) })
        {
            using var resized = original.Resize(new SKImageInfo(w, h), SKFilterQuality.Medium);
            Write(resized, Path.Combine(tenchDir, $"resized-{w}x{h}.jpg"));
        }
        using var grey = new SKBitmap(new SKImageInfo(original.Width, original.Height, SKColorType.Gray8));
        using (var canvas = new SKCanvas(grey)) canvas.DrawBitmap(original, 0, 0);
        var greyPath = Path.Combine(tenchDir, "grey.jpg");
        Write(grey, greyPath);
        return (root, greyPath);
    }

    [TestMethod]
    public void PhotographsOfAnySizeAndGreyscaleGiveTheTwinsPredictionOnTheSamePixels()
    {
        var (root, greyPath) = MixedFolder();
        using (var codec = SKCodec.Create(greyPath)) Assert.AreEqual(SKColorType.Gray8, codec.Info.ColorType, "the greyscale test file must be a one-channel JPEG");
        var ml = new MLContext(seed: 0);
        var data = ImagenetteModels.LoadFolder(ml, root);
        var paths = data.GetColumn<string>("Path").ToArray();
        Assert.HasCount(23, paths);
        CollectionAssert.IsSubsetOf(new[] { "tench", "parachute" }, data.GetColumn<string>("Label").Distinct().ToArray());

        var model = ImagenetteModels.Chain(ml, models.Value, "none").Fit(data);
        var output = model.Transform(data);
        var images = output.GetColumn<VBuffer<float>>("Image").Select(v => v.DenseValues().ToArray()).ToArray();
        Assert.IsTrue(images.All(i => i.Length == 3 * Side * Side), "every image, whatever its size, reaches the classifier as 3x64x64");

        int plane = Side * Side, g = Array.IndexOf(paths, Path.GetFullPath(greyPath));
        for (int p = 0; p < plane; p++)
            Assert.IsTrue(images[g][p] == images[g][plane + p] && images[g][p] == images[g][2 * plane + p], $"greyscale pixel {p}: the three channels differ");

        AssertTwinAgrees(ml, data, model);
    }

    [TestMethod]
    [DataRow("fir")]
    [DataRow("fir-adv")]
    [DataRow("resnet-adv-n-fgsm")]
    public void TheShippedDeterministicChainsFromFilesGiveTheTwinsPredictionOnTheSamePixels(string defence)
    {
        // The shipped φDNNs (10 masks on 64x64 crops, the inpainter, the T classifier; FIRadv with its adversarially
        // trained classifier) and the adversarially trained classifier alone, run by ONNX Runtime from JPEG files, and
        // their TorchSharp twins (what the attacks differentiate) on the pixels the chain extracted.
        var models = Path.Combine(TestPaths.RepoRoot, "models");
        Assert.IsTrue(ImagenetteModels.IsShipped(models, defence), $"the Imagenette models of '{defence}' are not all in {models}");
        var (root, _) = MixedFolder();
        var ml = new MLContext(seed: 0);
        var data = ImagenetteModels.LoadFolder(ml, root);
        var model = ImagenetteModels.Chain(ml, models, defence).Fit(data);
        AssertMostlyRight(data, AssertTwinAgrees(ml, data, model), defence);
    }

    [TestMethod]
    [DataRow("nsr")]
    [DataRow("nsr-adv")]
    public void TheShippedNsrChainsGiveTheTwinsPredictionGivenTheSameNoise(string defence)
    {
        // The shipped NSR (δ on 64x64 crops, the x4 SR generator, resize back, the T classifier; NSRadv with its
        // adversarially trained classifier) run by ONNX Runtime, and its twin, with δ(x) fixed to the deployed noise stage's own draw: the rest of the chain and the rest of the twin
        // then see the same pixels and must give the same scores.
        var models = Path.Combine(TestPaths.RepoRoot, "models");
        Assert.IsTrue(ImagenetteModels.IsShipped(models, defence), $"the Imagenette models of '{defence}' are not all in {models}");
        var (root, _) = MixedFolder();
        var ml = new MLContext(seed: 0);
        var files = ImagenetteModels.LoadFolder(ml, root);
        var pixels = ml.Data.Cache(ImagenetteModels.LoadImages(ml).Fit(files).Transform(files)); // decoded once, read three times
        var stages = (IEnumerable<ITransformer>)ImagenetteModels.Defence(ml, models, defence).Fit(pixels);
        using var twin = ChainTwin.FromChain((ITransformer)stages, CPU);
        Assert.IsTrue(twin.Randomised, twin.Description);
        Assert.HasCount(3, twin.Stages, twin.Description);

        var noisy = stages.First().Transform(pixels).GetColumn<VBuffer<float>>("Image").Select(v => v.DenseValues().ToArray()).ToArray();
        var clean = pixels.GetColumn<VBuffer<float>>("Image").Select(v => v.DenseValues().ToArray()).ToArray();
        double changed = noisy.Zip(clean).Average(p => p.First.Zip(p.Second).Average(q => Math.Abs(q.First - q.Second)));
        Assert.IsGreaterThan(0.05, changed, "the noise stage left the pixels (almost) as they were");
        var noisyView = ml.Data.LoadFromEnumerable(noisy.Select(v => new Crop { Image = v }));
        var rest = new TransformerChain<ITransformer>(stages.Skip(1).ToArray()).Transform(noisyView);
        var scores = rest.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
        using var noGrad = no_grad();
        using var x = tensor(noisy.SelectMany(i => i).ToArray(), [noisy.Length, 3, Side, Side]);
        using var probabilities = nn.functional.softmax(twin.Stages.Skip(1).Aggregate(x, (v, stage) => stage.Forward(v)), 1);
        var twinScores = probabilities.data<float>().ToArray();
        for (int i = 0; i < noisy.Length; i++)
            for (int k = 0; k < 10; k++)
                Assert.AreEqual(twinScores[i * 10 + k], scores[i][k], 1e-4f, $"image {i}: score {k} of the chain and the twin differ");

        // From the files, noise drawn by the chain.
        AssertMostlyRight(files, ImagenetteModels.Chain(ml, models, defence).Fit(files).Transform(files).GetColumn<uint>("PredictedLabel").ToArray(), defence);
    }

    /// <summary>
    /// More than half of the photographs in <paramref name="files"/> (23 of ten classes: 20 validation JPEGs, 3 altered
    /// copies) get their label: a φDNN that recreates them into mush would not.
    /// </summary>
    static void AssertMostlyRight(IDataView files, uint[] labels, string defence)
    {
        var truth = files.GetColumn<string>("Label").ToArray();
        int correct = labels.Zip(truth).Count(p => ImagenetteModels.ClassNames[(int)p.First - 1] == p.Second);
        Assert.IsGreaterThan(labels.Length / 2, correct, $"the shipped {defence} chain classifies {correct} of {labels.Length} photographs correctly");
    }

    sealed class Crop
    {
        [VectorType(3 * Side * Side)] public float[] Image { get; set; } = [];
    }

    /// <summary>
    /// The twin of <paramref name="model"/> (a chain from files) on the pixels the chain extracts gives the chain's scores
    /// and labels. The pixels come from LoadImages alone: FIR's stage recreates the "Image" column in place, so the
    /// chain's own output holds the recreation, not its input. Returns the chain's predicted labels.
    /// </summary>
    static uint[] AssertTwinAgrees(MLContext ml, IDataView files, ITransformer model)
    {
        var paths = files.GetColumn<string>("Path").ToArray();
        var images = ImagenetteModels.LoadImages(ml).Fit(files).Transform(files).GetColumn<VBuffer<float>>("Image")
            .Select(v => v.DenseValues().ToArray()).ToArray();
        var output = model.Transform(files);
        var scores = output.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
        var labels = output.GetColumn<uint>("PredictedLabel").ToArray();
        using var twin = ChainTwin.FromChain(model, CPU);
        using var x = tensor(images.SelectMany(i => i).ToArray(), [images.Length, 3, Side, Side]);
        using var probabilities = nn.functional.softmax(twin.Logits(x), 1);
        var twinScores = probabilities.data<float>().ToArray();
        var twinLabels = probabilities.argmax(1).data<long>().ToArray();
        for (int i = 0; i < images.Length; i++)
        {
            for (int k = 0; k < 10; k++)
                Assert.AreEqual(twinScores[i * 10 + k], scores[i][k], 1e-4f, $"{Path.GetFileName(paths[i])}: score {k} of the chain and the twin differ");
            Assert.AreEqual(twinLabels[i] + 1, (long)labels[i], $"{Path.GetFileName(paths[i])}: the chain and the twin predict different classes");
        }
        Assert.IsGreaterThan(1, labels.Distinct().Count(), "a classifier that answers one class for everything tests nothing");
        return labels;
    }

    [TestMethod]
    public void TheChainsPixelsAreTheCentreCropsTheClassifierWasTrainedOn()
    {
        // Training reads 64x64 centre crops through Pdnn.Data (SkiaSharp); the chain through ML.NET's ImageAnalytics.
        var files = RealFiles();
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(files.Select(f => new ImagenetteModels.ImageFile { Path = f }));
        var chain = ImagenetteModels.LoadImages(ml).Fit(data).Transform(data).GetColumn<VBuffer<float>>("Image").Select(v => v.DenseValues().ToArray()).ToArray();
        double total = 0;
        for (int i = 0; i < files.Count; i++)
        {
            var ours = new byte[3 * Side * Side];
            ImageDecoder.DecodeRgb(files[i], ours, Side, Side, resize: true, ResizeMode.CenterCrop);
            double diff = ours.Select((b, j) => Math.Abs(b / 255.0 - chain[i][j])).Average();
            Assert.IsLessThan(0.002, diff, $"{Path.GetFileName(files[i])}: the chain's pixels are not the training crop (mean |difference| {diff:F4})");
            total += diff;
        }
        // Measured: 0.0003. Cropping the centre first and then resizing (0.016), a crop one pixel off (0.013) or plain
        // bilinear without mipmaps (0.026) all fail.
        Assert.IsLessThan(0.001, total / files.Count, $"mean |difference| {total / files.Count:F4} between the chain's and the training pipeline's pixels");
    }

    [TestMethod]
    public void TheBundledSampleIsThirteenLabelledPhotographsFourOfThemGrey()
    {
        // Needs no shared data: what samples/ClassifyPhotos classifies on a fresh clone.
        var folder = Path.Combine(TestPaths.RepoRoot, "samples", "data", "imagenette-sample");
        var data = ImagenetteModels.LoadFolder(new MLContext(seed: 0), folder);
        var paths = data.GetColumn<string>("Path").ToArray();
        Assert.HasCount(13, paths);
        CollectionAssert.AreEquivalent(ImagenetteModels.ClassNames.ToArray(), data.GetColumn<string>("Label").Distinct().ToArray());
        Assert.AreEqual(4, paths.Count(p => { using var codec = SKCodec.Create(p); return codec.Info.ColorType == SKColorType.Gray8; }));
        Assert.IsGreaterThan(1, paths.Select(p => { using var codec = SKCodec.Create(p); return (codec.Info.Width, codec.Info.Height); }).Distinct().Count());
    }

    [TestMethod]
    [DataRow("not-an-image.jpg", "text")]
    [DataRow("truncated.jpg", "truncated")]
    public void ACorruptOrNonImageFileInTheFolderIsRefusedByName(string name, string kind)
    {
        var root = TestPaths.NewTempDir();
        var files = RealFiles().Take(3).ToList();
        foreach (var f in files) File.Copy(f, Path.Combine(root, Path.GetFileName(f)));
        var bad = Path.Combine(root, name);
        if (kind == "text") File.WriteAllText(bad, "these are not the pixels you are looking for");
        else File.WriteAllBytes(bad, File.ReadAllBytes(files[0])[..2000]);

        var ml = new MLContext(seed: 0);
        var e = Assert.ThrowsExactly<DataFormatException>(() => ImagenetteModels.LoadFolder(ml, root));
        StringAssert.Contains(e.Message, name);
    }
}
