// An application built on the Pdnn NuGet packages, as a .NET developer would write it after
//   dotnet add package Pdnn.MLNet / Pdnn.MLNet.Training / Pdnn.Evaluation / Pdnn.Models (+ ONNX Runtime and a libtorch).
// It checks what it does and exits with 1 when a check fails, so that CI (scripts/check-packages.sh) catches a broken
// package. Run: bash scripts/check-packages.sh   (or, after dotnet pack: dotnet run -c Release --project samples/UsePackages)
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Pdnn.Evaluation;
using Pdnn.Evaluation.MLNet;
using Pdnn.MLNet;
using Pdnn.MLNet.Training;

var failures = new List<string>();
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (!ok) failures.Add(what);
}

// 1. The shipped models come from the Pdnn.Models package, copied beside the application.
var models = ShippedModels.Folder();
Check(models.StartsWith(AppContext.BaseDirectory), $"shipped models found in the application's folder: {models}");

// Real images: the repository's bundled CIFAR-10 sample (q75 JPEG copy), 10 test images per class, 400 training images.
var sample = args.Length > 0 ? args[0] : FindSample();
string[] Files(string split, int every) => Directory.GetFiles(Path.Combine(sample, split), "*.jpg", SearchOption.AllDirectories)
    .Order(StringComparer.Ordinal).Where((_, i) => i % every == 0).ToArray();
var ml = new MLContext(seed: 0);
IDataView Rows(IEnumerable<string> files) =>
    ml.Data.LoadFromEnumerable(files.Select(f => new ImageFile { Path = f, Label = Path.GetFileName(Path.GetDirectoryName(f))! }));
var test = Rows(Files("test", 5));
var train = Rows(Files("train", 5));
var pixels = ml.Transforms.LoadImages("Bitmap", "", "Path")
    .Append(ml.Transforms.ResizeImages("Bitmap", 32, 32, "Bitmap"))
    .Append(ml.Transforms.ExtractPixels("Image", "Bitmap", ImagePixelExtractingEstimator.ColorBits.Rgb,
            ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255f));

// 2. Deploy: NSR over the shipped models as one ML.NET chain (ONNX Runtime).
var nsr = pixels.Append(ShippedModels.Chain(ml, "nsr", seed: 1)).Fit(test);
double nsrAccuracy = Accuracy(nsr.Transform(test));
Check(nsrAccuracy > 0.5, $"shipped NSR chain: clean accuracy {nsrAccuracy:P0} on 100 test images (81.6% on the 500 of models/robustness)");

// 3. Train: a chain ending in the ML.NET trainer learns on NSR recreations (TorchSharp, CPU libtorch), then saves and reloads.
var log = new List<string>();
ml.Log += (_, e) => { if (e.Source.StartsWith(nameof(PdnnImageClassifierTrainer))) log.Add(e.RawMessage); };
var trained = pixels
    .Append(ml.Transforms.NoisyCorrupt("Image", ShippedModels.NsrNoise, seed: 1))
    .Append(ml.Transforms.SuperResolve("Image", Path.Combine(models, "sr-lite-cifar10", "sr-generator.onnx")))
    .Append(ml.MulticlassClassification.Trainers.PdnnImageClassifier(new PdnnImageClassifierOptions
    {
        Architecture = "tiny", Epochs = 2, BatchSize = 32, LearningRate = 0.05, Device = "cpu",
    }))
    .Fit(train);
Console.WriteLine("     " + string.Join("\n     ", log.Where(l => l.StartsWith("epoch") || l.StartsWith("PdnnImageClassifier"))));
Check(log.Count(l => l.StartsWith("epoch")) == 2, "the trainer reported both epochs through MLContext.Log");
var path = Path.Combine(Path.GetTempPath(), $"pdnn-use-packages-{Environment.ProcessId}.zip");
var first = Predicted(trained.Transform(test));                          // the chain's call 2 (Fit read the training data: call 1)
ml.Model.SavePdnn(trained, test.Schema, path);
var reloaded = ml.Model.LoadPdnn(path, out _);
Predicted(reloaded.Transform(ml.Data.TakeRows(test, 1)));                // call 1
Check(first.SequenceEqual(Predicted(reloaded.Transform(test))), $"SavePdnn → LoadPdnn: the reloaded chain repeats the original's predictions ({new FileInfo(path).Length / 1024} KiB)");
File.Delete(path);

// 4. Attack: FGSM through the white-box twin of the deployed NSR chain (Pdnn.Evaluation's AttackEvaluator, Pdnn.Attacks' FGSM).
var images = pixels.Fit(test).Transform(test);
using var evaluator = ml.Transforms.EvaluateRobustness(ShippedModels.Chain(ml, "nsr", seed: 1).Fit(images), new AttackEvaluatorOptions
{
    Attacks = ["fgsm"], Settings = new AttackSettings { Epsilon = 8.0 / 255 }, SampleSize = 20, Device = "cpu",
});
evaluator.Transform(images);
var report = evaluator.LastReport!;
Check(report.Count == 20 && report.Attacks[0].Accuracy <= report.Clean.Accuracy,
      $"FGSM ε=8/255 on 20 images through the twin: clean {report.Clean.Accuracy:P0}, under attack {report.Attacks[0].Accuracy:P0}");

Console.WriteLine(failures.Count == 0 ? "UsePackages: every check passed." : $"UsePackages: {failures.Count} check(s) failed.");
return failures.Count == 0 ? 0 : 1;

static double Accuracy(IDataView scored)
{
    VBuffer<ReadOnlyMemory<char>> names = default;
    scored.Schema["PredictedLabel"].GetKeyValues(ref names);
    var classes = names.DenseValues().Select(n => n.ToString()).ToArray();
    var truth = scored.GetColumn<string>("Label").ToArray();
    return Predicted(scored).Zip(truth).Count(p => classes[p.First - 1] == p.Second) / (double)truth.Length;
}

static uint[] Predicted(IDataView scored) => scored.GetColumn<uint>("PredictedLabel").ToArray();

static string FindSample()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        if (Directory.Exists(Path.Combine(dir.FullName, "samples", "data", "cifar10-sample")))
            return Path.Combine(dir.FullName, "samples", "data", "cifar10-sample");
    throw new DirectoryNotFoundException("samples/data/cifar10-sample not found above the working folder; pass the sample's folder as the first argument.");
}

sealed class ImageFile
{
    public string Path { get; set; } = "";
    public string Label { get; set; } = "";
}
