// φDNN chains in ML.NET: images on disk → ImageAnalytics → recreation → RobustClassify, next to the plain classifier and
// the pre-processing baselines. Run from the repository root: dotnet run -c Release --project samples/RobustPipeline
//
// STAND-IN MODELS: the trained recreation models are not in models/ yet (issue 4). This sample trains small stand-ins for a
// few minutes on the bundled 2,000-image sample: a ResNet-8 classifier on clean images, a lite SR generator and a lite
// inpainter with pixel losses only. Their accuracies say that the chains work, not how robust a φDNN is.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.MLNet.Transforms;
using Pdnn.Onnx;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Recreation;

var sample = args.Length > 0 ? args[0] : "samples/data/cifar10-sample";
var outDir = Path.Combine("out", "robust-pipeline");
Directory.CreateDirectory(outDir);
var device = TorchDevice.Resolve("auto");
var log = new TextTrainingObserver(Console.Out, stepsBetweenLines: 1000);
Console.WriteLine($"TorchSharp device: {device.Description}");

// 1. Stand-in models, trained here and exported to ONNX.
var train = DatasetLoader.Load(sample, Split.Train);
var classifier = new ClassifierTrainer(new TrainOptions { Architecture = "resnet8", Epochs = 15, BatchSize = 64, LearningRate = 0.05 }, device.Device, log)
    .Run(train, null, null, false).Model;
var classifierOnnx = Path.Combine(outDir, "classifier.onnx");
ClassifierOnnx.Export(classifier, new ModelCard
{
    Architecture = "resnet8", ClassNames = [.. train.ClassNames], InputShape = [3, 32, 32],
    TrainData = train.Source, WeightsFile = "", WeightsSha256 = "",
}, classifierOnnx);
var recreationOptions = new RecreationTrainOptions { Epochs = 3, BatchSize = 32, LearningRate = 2e-3, MaxMinutes = 1.5 };
var srOnnx = Path.Combine(outDir, "sr-lite.onnx");
OnnxExporter.Save(OnnxExporter.Export(RecreationTraining.TrainSrGenerator(SrGeneratorSpec.Lite, train, recreationOptions, device.Device, log).Model, [3, 32, 32]), srOnnx);
var inpainterOnnx = Path.Combine(outDir, "inpainter-lite-g4.onnx");
OnnxExporter.Save(OnnxExporter.Export(RecreationTraining.TrainInpainter(InpainterSpec.Lite, train, 4, recreationOptions, device.Device, log).Model, [4, 32, 32]), inpainterOnnx);

// 2. The test images as ML.NET sees them: file paths → 3x32x32 floats in [0,1], channel-major RGB.
var ml = new MLContext(seed: 0);
var files = Directory.GetFiles(Path.Combine(sample, "test"), "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
var data = ml.Data.LoadFromEnumerable(files.Select(f => new ImageFile { Path = f, Label = Path.GetFileName(Path.GetDirectoryName(f))! }));
var load = ml.Transforms.LoadImages("Bitmap", "", "Path")
    .Append(ml.Transforms.ResizeImages("Bitmap", 32, 32, "Bitmap"))
    .Append(ml.Transforms.ExtractPixels("Image", "Bitmap", ImagePixelExtractingEstimator.ColorBits.Rgb,
            ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255f));

// 3. Each defence is an estimator chain ending in the same classifier.
var noise = new NoiseOptions { GaussianVariance = 0.01, SaltProbability = 0.005, PepperProbability = 0.005 };
var chains = new (string Name, IEstimator<ITransformer> Chain)[]
{
    ("ResNet-8 (no defence)", load.Append(ml.Transforms.RobustClassify(classifierOnnx))),
    ("NSR: noise → SR → resize", load.Append(ml.Transforms.NoisyCorrupt("Image", noise, seed: 1))
                                      .Append(ml.Transforms.SuperResolve("Image", srOnnx))
                                      .Append(ml.Transforms.RobustClassify(classifierOnnx))),
    ("FIR: 10 masks, g=4", load.Append(ml.Transforms.MaskedInpaintAggregate("Image", inpainterOnnx, gridCell: 4))
                               .Append(ml.Transforms.RobustClassify(classifierOnnx))),
    ("FS: 4 bits", load.Append(ml.Transforms.FeatureSqueeze("Image", bits: 4)).Append(ml.Transforms.RobustClassify(classifierOnnx))),
    ("SS: 2x2 median", load.Append(ml.Transforms.SpatialSmoothing("Image", window: 2)).Append(ml.Transforms.RobustClassify(classifierOnnx))),
    ("JPEG q75", load.Append(ml.Transforms.JpegCompression("Image", quality: 75)).Append(ml.Transforms.RobustClassify(classifierOnnx))),
};

var saved = new List<(string Name, ITransformer Model, uint[] Labels)>();
Console.WriteLine($"\nclean accuracy on {files.Count()} sample test images (stand-in models, CIFAR-10 q75 JPEG copy):");
foreach (var (name, chain) in chains)
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var model = chain.Fit(data);
    var scored = model.Transform(data);
    VBuffer<ReadOnlyMemory<char>> classNames = default;
    scored.Schema["PredictedLabel"].GetKeyValues(ref classNames);
    var names = classNames.DenseValues().Select(n => n.ToString()).ToArray();
    var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
    var predicted = keys.Select(k => names[k - 1]).ToArray();
    var truth = scored.GetColumn<string>("Label").ToArray();
    double accuracy = predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;
    Console.WriteLine($"  {name,-26} {accuracy,7:P1}   ({clock.Elapsed.TotalSeconds:F1} s)");
    saved.Add((name, model, keys));
}

// 4. Save a fitted chain (ML.NET's stages and ours, ONNX models inside), load it back, and check the predictions agree.
var (savedName, fitted, labelsBefore) = saved[1];                                    // NSR, with its first call's labels
var path = Path.Combine(outDir, "nsr-chain.zip");
ml.Model.SavePdnn(fitted, data.Schema, path);
var reloaded = ml.Model.LoadPdnn(path, out _);
var labelsAfter = reloaded.Transform(data).GetColumn<uint>("PredictedLabel").ToArray();  // first call after Load
Console.WriteLine($"\nsaved '{savedName}' to {path} ({new FileInfo(path).Length / 1024} KiB) and reloaded it: " +
                  $"{labelsBefore.Zip(labelsAfter).Count(p => p.First == p.Second)}/{labelsBefore.Length} predictions agree (same seed, same call).");

sealed class ImageFile
{
    public string Path { get; set; } = "";
    public string Label { get; set; } = "";
}
