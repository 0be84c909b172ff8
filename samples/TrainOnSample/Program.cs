// Train a small ResNet on the bundled CIFAR-10 sample with the Pdnn.Torch API, then save, reload and evaluate it.
// Run from the repository root: dotnet run --project samples/TrainOnSample -c Release
using Pdnn.Data;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;

var sample = args.Length > 0 ? args[0] : "samples/data/cifar10-sample";
var device = TorchDevice.Resolve("auto");
Console.WriteLine($"device: {device.Description}");

// Any supported layout works here: ImageFolder, CIFAR-10 binary, SVHN .mat, IDX. Decoded once, then cached.
var train = DatasetLoader.Load(sample, Split.Train);
var test = DatasetLoader.Load(sample, Split.Test);

var options = new TrainOptions { Architecture = "resnet8", Epochs = 10, BatchSize = 64, LearningRate = 0.05, Seed = 0 };
var result = new ClassifierTrainer(options, device.Device, new TextTrainingObserver(Console.Out))
    .Run(train, test, checkpointDir: null, resume: false);

var outDir = Path.Combine("out", "sample-classifier");
ClassifierFile.Save(outDir, "classifier", result.Model, new ModelCard
{
    Architecture = options.Architecture, ClassNames = [.. train.ClassNames], InputShape = [3, train.Height, train.Width],
    TrainData = train.Source, TrainCount = train.Count, Epochs = options.Epochs,
    Seed = options.Seed, Hardware = Hardware.Describe(device), WeightsFile = "", WeightsSha256 = "",
});

// Loading checks the weights' SHA-256 against the card.
var (model, card) = ClassifierFile.Load(outDir, device.Device);
using var testImages = new DeviceImages(test, device.Device);
var eval = ClassifierEvaluator.Evaluate(model, testImages);
Console.WriteLine($"reloaded {card.Architecture}: test accuracy {eval.Accuracy:P1} ({eval.Correct}/{eval.Count}); saved in {outDir}");
