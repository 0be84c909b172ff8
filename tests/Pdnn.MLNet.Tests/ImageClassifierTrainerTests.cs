using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Pdnn.MLNet.Training;
using Pdnn.MLNet.Transforms;
using Pdnn.Tests;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;

namespace Pdnn.MLNet.Tests;

/// <summary>
/// mlContext.MulticlassClassification.Trainers.PdnnImageClassifier: a chain ending in it trains a real classifier in Fit,
/// on the images the chain in front of it produces, and the fitted chain predicts, evaluates, saves and reloads as any other.
/// </summary>
[TestClass]
public sealed class ImageClassifierTrainerTests
{
    static readonly string[] TrainFiles = SampleFiles("train");
    static readonly string[] TestFiles = SampleFiles("test");

    static string[] SampleFiles(string split) =>
        Directory.GetFiles(Path.Combine(TestPaths.Sample, split), "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    static IDataView Rows(MLContext ml, IEnumerable<string> files) =>
        ml.Data.LoadFromEnumerable(files.Select(f => new ImageRow { Path = f, Label = Path.GetFileName(Path.GetDirectoryName(f))! }));

    /// <summary>Image files to Image: 3x32x32 in [0,1], channel-major RGB, as the README's chains begin.</summary>
    static IEstimator<ITransformer> LoadPixels(MLContext ml) =>
        ml.Transforms.LoadImages("Bitmap", "", "Path")
            .Append(ml.Transforms.ResizeImages("Bitmap", 32, 32, "Bitmap"))
            .Append(ml.Transforms.ExtractPixels("Image", "Bitmap", ImagePixelExtractingEstimator.ColorBits.Rgb,
                    ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255f));

    static PdnnImageClassifierOptions Tiny(int epochs) => new()
    {
        Architecture = "tiny", Epochs = epochs, BatchSize = 64, LearningRate = 0.05, Seed = 3, Device = "cpu",
        InferenceDevice = Execution.ExecutionDevice.Cpu,
    };

    static (uint[] Labels, float[] Scores) Predict(ITransformer model, IDataView data) => PersistenceTests.Predict(model, data);

    static double Accuracy(uint[] predicted, IDataView scored)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        scored.Schema["PredictedLabel"].GetKeyValues(ref names);
        var classNames = names.DenseValues().Select(n => n.ToString()).ToArray();
        var truth = scored.GetColumn<string>("Label").ToArray();
        return predicted.Zip(truth).Count(p => classNames[p.First - 1] == p.Second) / (double)truth.Length;
    }

    /// <summary>
    /// The paper's classifier T the ML.NET way: images → NSR's noise and the shipped SR generator → the trainer. Fit trains
    /// on the recreated training images; the fitted chain beats chance on the held-out test images, saves with SavePdnn and
    /// reloads to the same predictions.
    /// </summary>
    [TestMethod]
    public void ChainEndingInTheTrainerLearnsOnRecreationsAndSavesLikeAnyChain()
    {
        var ml = new MLContext(seed: 0);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.Contains(nameof(PdnnImageClassifierTrainer))) lock (log) log.Add(e.RawMessage); };
        var epochs = new List<EpochSummary>();
        var options = Tiny(epochs: 4);
        options.BatchSize = 32;
        options.Observer = new Recorder(epochs);
        var chain = LoadPixels(ml)
            .Append(ml.Transforms.NoisyCorrupt("Image", ShippedModels.NsrNoise, seed: 1))
            .Append(ml.Transforms.SuperResolve("Image", Path.Combine(TestPaths.RepoRoot, "models", "sr-lite-cifar10", "sr-generator.onnx")))
            .Append(ml.MulticlassClassification.Trainers.PdnnImageClassifier(options));

        var model = chain.Fit(Rows(ml, TrainFiles.Where((_, i) => i % 2 == 0)));   // 1,000 of the sample's training images
        var test = Rows(ml, TestFiles);                                      // 500 held-out images, 50 per class
        var (labels, scores) = Predict(model, test);

        // Chance is 10%; a binomial at 10% exceeds 20% of 500 with probability < 1e-10.
        double accuracy = Accuracy(labels, model.Transform(test));
        Assert.IsGreaterThan(0.20, accuracy, $"held-out accuracy {accuracy:P1} on recreations");
        Assert.HasCount(4, epochs, "the observer saw every epoch");
        Assert.IsLessThan(epochs[0].TrainLoss, epochs[^1].TrainLoss, "training loss falls");
        Assert.AreEqual(4, log.Count(m => m.StartsWith("epoch ") && m.Contains("train loss")), "MLContext.Log got one line per epoch:\n" + string.Join("\n", log));
        Assert.IsTrue(log.Any(m => m.Contains("ONNX model")), "MLContext.Log names the exported model");
        Assert.HasCount(10, model.LastTransformer.ClassNames);

        var path = Path.Combine(TestPaths.NewTempDir(), "nsr-trained.zip");
        ml.Model.SavePdnn(model, test.Schema, path);
        var reloaded = ml.Model.LoadPdnn(path, out _);
        // The noise is a function of (seed, call, row): Fit read the training data through the chain (call 1), so the first
        // prediction above was the original's call 2. The reloaded chain repeats the calls: its call 2 must equal it exactly
        // (checked on the first 100 rows; reading one row makes call 1).
        var first = ml.Data.TakeRows(test, 100);
        Predict(reloaded, ml.Data.TakeRows(test, 1));
        var (labelsAgain, scoresAgain) = Predict(reloaded, first);
        CollectionAssert.AreEqual(labels[..100], labelsAgain);
        CollectionAssert.AreEqual(scores[..(100 * 10)], scoresAgain);
    }

    /// <summary>
    /// On clean images with a key label (MapValueToKey, the ML.NET convention): the output keys are the label's keys, so
    /// ML.NET's own multiclass evaluator reads the result, and the trained model folder is one pdnn can load.
    /// </summary>
    [TestMethod]
    public void KeyLabelsGiveMatchingKeysForTheMlNetEvaluatorAndAModelFolder()
    {
        var ml = new MLContext(seed: 0);
        var folder = TestPaths.NewTempDir();
        var options = Tiny(epochs: 2);
        options.LabelColumnName = "LabelKey";
        options.ModelFolder = folder;
        var chain = LoadPixels(ml)
            .Append(ml.Transforms.Conversion.MapValueToKey("LabelKey", "Label"))
            .Append(ml.MulticlassClassification.Trainers.PdnnImageClassifier(options));
        var train = Rows(ml, TrainFiles.Where((_, i) => i % 4 == 0));        // 500 images
        var model = chain.Fit(train);

        var scored = model.Transform(Rows(ml, TestFiles));
        var metrics = ml.MulticlassClassification.Evaluate(scored, labelColumnName: "LabelKey");
        Assert.IsGreaterThan(0.15, metrics.MacroAccuracy, "ML.NET's macro accuracy");
        VBuffer<ReadOnlyMemory<char>> labelKeys = default, predictedKeys = default;
        scored.Schema["LabelKey"].GetKeyValues(ref labelKeys);
        scored.Schema["PredictedLabel"].GetKeyValues(ref predictedKeys);
        CollectionAssert.AreEqual(labelKeys.DenseValues().Select(k => k.ToString()).ToArray(), predictedKeys.DenseValues().Select(k => k.ToString()).ToArray());

        var (_, card) = ClassifierFile.Load(folder);                         // weights checked against the card
        Assert.AreEqual("tiny", card.Architecture);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "classifier.onnx")));
    }

    [TestMethod]
    public void BadOptionsAndColumnsAreNamed()
    {
        var ml = new MLContext(seed: 0);
        var bad = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.PdnnImageClassifier(new PdnnImageClassifierOptions { Architecture = "vgg" }));
        StringAssert.Contains(bad.Message, "Architecture = vgg");
        bad = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.PdnnImageClassifier(new PdnnImageClassifierOptions { Device = "gpu" }));
        StringAssert.Contains(bad.Message, "Device = gpu");

        var rows = Rows(ml, TestFiles.Where((_, i) => i % 50 == 0));      // 10 images, one per class
        var data = LoadPixels(ml).Fit(rows).Transform(rows);
        var noLabel = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.PdnnImageClassifier("Class").Fit(data));
        StringAssert.Contains(noLabel.Message, "'Class'");
        var wrongImage = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.PdnnImageClassifier(new PdnnImageClassifierOptions { ImageHeight = 64, ImageWidth = 64 }).Fit(data));
        StringAssert.Contains(wrongImage.Message, "'Image'");
        var tooFew = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.PdnnImageClassifier(Tiny(1)).Fit(data));
        StringAssert.Contains(tooFew.Message, "BatchSize = 64");
        var airplanes = Rows(ml, TestFiles.Take(50));                    // the first class only
        var oneClass = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.PdnnImageClassifier(Tiny(1)).Fit(LoadPixels(ml).Fit(airplanes).Transform(airplanes)));
        StringAssert.Contains(oneClass.Message, "1 class");
    }

    /// <summary>
    /// Every knob of a training run (TrainOptions) is an option of the trainer or deliberately not one: a new TrainOptions
    /// property fails here until it gets its one property on PdnnImageClassifierOptions and its line in ToTrainOptions.
    /// </summary>
    [TestMethod]
    public void EveryTrainOptionReachesTheTrainer()
    {
        // Resuming, budgets and recreation-as-a-function (and recreating it once) belong to the CLI; in ML.NET the chain in
        // front does the recreating.
        string[] notOptions = ["Recreation", "RecreateOnce", "RecreatedCopies", "MaxMinutes", "MaxSteps", "FinishAtBudget", "CheckpointEverySteps", "Interrupt"];
        var options = new PdnnImageClassifierOptions();
        var run = typeof(TrainOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && !notOptions.Contains(p.Name)).ToArray();
        var missing = run.Where(p => typeof(PdnnImageClassifierOptions).GetProperty(p.Name)?.PropertyType != p.PropertyType).Select(p => p.Name).ToArray();
        Assert.IsEmpty(missing, $"TrainOptions properties without a PdnnImageClassifierOptions property: {string.Join(", ", missing)}");

        // Set every one to a value other than its default and check it arrives.
        var defaults = new TrainOptions();
        foreach (var p in run)
        {
            var target = typeof(PdnnImageClassifierOptions).GetProperty(p.Name)!;
            object value = Different(p.GetValue(defaults), p.PropertyType);
            target.SetValue(options, value);
        }
        var mapped = options.ToTrainOptions();
        foreach (var p in run)
        {
            object? given = typeof(PdnnImageClassifierOptions).GetProperty(p.Name)!.GetValue(options), arrived = p.GetValue(mapped);
            if (p.PropertyType.IsValueType || p.PropertyType == typeof(string)) Assert.AreEqual(given, arrived, $"TrainOptions.{p.Name}");
            else Assert.AreSame(given, arrived, $"TrainOptions.{p.Name}");   // an options object: the very instance given
        }
    }

    static object Different(object? value, Type type) => type switch
    {
        _ when type == typeof(string) => value + "-x",
        _ when type == typeof(int) => (int)value! + 7,
        _ when type == typeof(double) => (double)value! + 0.125,
        _ when type == typeof(double?) => ((double?)value ?? 1.0) + 0.125,
        _ when type == typeof(bool) => !(bool)value!,
        _ when type.IsEnum => Enum.GetValues(type).Cast<object>().First(v => !v.Equals(value)),
        _ when !type.IsValueType && type.GetConstructor(Type.EmptyTypes) != null => Activator.CreateInstance(type)!,
        _ => throw new AssertFailedException($"no test value for {type}: extend Different"),
    };

    sealed class Recorder(List<EpochSummary> epochs) : ITrainingObserver
    {
        public void Message(string text) { }
        public void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep) { }
        public void Step(StepProgress progress) { }
        public void EpochEnded(EpochSummary summary) => epochs.Add(summary);
    }
}
