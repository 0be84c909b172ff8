// The robustness evaluator as an ML.NET component: fit a φDNN chain (FIR over the shipped ONNX models), then hand the
// fitted chain and an IDataView of images and labels to EvaluateRobustness. White-box attacks differentiate the chain's
// TorchSharp twin (built from the same ONNX files); query-only attacks query the chain itself.
// Run from the repository root: dotnet run -c Release --project samples/EvaluateRobustness
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.Evaluation;
using Pdnn.Evaluation.MLNet;
using Pdnn.MLNet;

var models = ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("run from the repository (models/ not found)");
var ml = new MLContext(seed: 0);
var test = DatasetLoader.Load(Path.Combine(models, "..", "samples", "data", "cifar10-sample"), Split.Test);
IDataView data = ml.Data.LoadFromImageDataset(test);                       // columns: Image (3x32x32 in [0,1]), Label (class name)

// A φDNN is an ordinary estimator chain: MaskedInpaintAggregate (FIR, g = 4) → RobustClassify.
ITransformer fir = ShippedModels.Chain(ml, models, "fir", grid: 4).Fit(data);

using var evaluator = ml.Transforms.EvaluateRobustness(fir, new AttackEvaluatorOptions
{
    Attacks = ["1px", "fgsm", "pgd", "apgd-ce"],
    Settings = new AttackSettings { Epsilon = 8.0 / 255, Steps = 10, PixelPopulation = 40, PixelGenerations = 5, Seed = 0 },
    SampleSize = 40,                                                        // 40 uniformly random test images, seed 0
    Device = "auto",
});
Console.WriteLine($"twin: {evaluator.Twin.Description}");

IDataView outcomes = evaluator.Transform(data);                            // one row per image, one vector slot per attack
var report = evaluator.LastReport!;
Console.WriteLine($"clean accuracy {report.Clean.Accuracy:P1} [{report.Clean.Low:P1}, {report.Clean.High:P1}] on {report.Count} images");
foreach (var a in report.Attacks) Console.WriteLine($"  {a.Attack,-20} {a.Accuracy,7:P1} [{a.Low:P1}, {a.High:P1}]");
Console.WriteLine($"  {"worst case",-20} {report.WorstCase.Accuracy,7:P1}");
foreach (var flag in report.Flags) Console.WriteLine($"flag: {flag}");

// Per-image outcomes are ordinary ML.NET columns.
var labels = outcomes.GetColumn<string>("Label").ToArray();
var correct = outcomes.GetColumn<bool[]>("Correct").ToArray();
var queries = outcomes.GetColumn<long[]>("Queries").ToArray();
for (int i = 0; i < 5; i++)
    Console.WriteLine($"image {i} ({labels[i]}): correct under [{string.Join(", ", correct[i])}], DE queries {queries[i][0]}");
