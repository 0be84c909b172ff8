using System.CommandLine;
using Pdnn.Data;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;

namespace Pdnn.Cli.Commands;

static class TrainClassifierCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data("Training data: a CIFAR-10 binary folder, an ImageFolder root (with train/ and test/ or val/), an SVHN folder or .mat, or an MNIST-style IDX folder.");
        var testData = new Option<string?>("--test-data") { Description = "Test data, if not the test split of --data. 'none' skips evaluation." };
        var arch = new Option<string>("--arch") { Description = $"Architecture: {string.Join(", ", ResNetSpec.Names)}.", DefaultValueFactory = _ => "resnet20" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => 30 };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "Initial learning rate (SGD).", DefaultValueFactory = _ => 0.1 };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay.", DefaultValueFactory = _ => 5e-4 };
        var schedule = new Option<ScheduleKind>("--schedule") { Description = "Learning-rate schedule: Cosine, or Step (x0.1 at 50% and 75%).", DefaultValueFactory = _ => ScheduleKind.Cosine };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing (0 = off; 0.1 for the paper's LS baseline).", DefaultValueFactory = _ => 0.0 };
        var noAugment = new Option<bool>("--no-augment") { Description = "Turn off random crop (padding 4) and horizontal flip." };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var output = new Option<string>("--out") { Description = "Output folder: classifier.weights.bin, classifier.card.json, history.csv, checkpoint/.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run whose checkpoint is in --out (same options)." };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = $"Stop cleanly after this much time, with a checkpoint; exit code {ClassifierTraining.ExitStoppedEarly}, continue with --resume." };
        var trainLimit = new Option<int?>("--train-limit") { Description = "Use only a uniform random subset of this many training images (seeded)." };
        var imageSize = CommonOptions.ImageSize();
        var noCache = CommonOptions.NoCache();
        var recreationOption = new Option<string?>("--recreation") { Description = "Train (and test) on recreations by this model folder (pdnn train-sr / train-inpainter output): the paper's classifiers with subscript T." };
        var init = new Option<string?>("--init") { Description = "Start from this classifier's weights (a classifier folder) instead of the seeded initialisation: fine-tuning." };

        var command = new Command("train-classifier", "Train a CIFAR-style ResNet classifier with TorchSharp; checkpoints, resumes, stops at a time budget.")
        {
            data, testData, arch, epochs, batch, lr, momentum, weightDecay, schedule, labelSmoothing, noAugment, seed,
            device, output, resume, maxMinutes, trainLimit, imageSize, noCache, recreationOption, init,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var options = new TrainOptions
            {
                Architecture = ResNetSpec.FromName(r.GetValue(arch)!).Name,
                Epochs = Positive(r.GetValue(epochs), "--epochs"),
                BatchSize = Positive(r.GetValue(batch), "--batch-size"),
                LearningRate = r.GetValue(lr),
                Momentum = r.GetValue(momentum),
                WeightDecay = r.GetValue(weightDecay),
                Schedule = r.GetValue(schedule),
                LabelSmoothing = r.GetValue(labelSmoothing) is var ls and >= 0 and < 1 ? ls : throw new ArgumentException("--label-smoothing must be in [0, 1)."),
                Augment = !r.GetValue(noAugment),
                Seed = r.GetValue(seed),
                MaxMinutes = r.GetValue(maxMinutes),
            };
            var deviceChoice = TorchDevice.Resolve(r.GetValue(device)!);
            var recreation = r.GetValue(recreationOption) is { } recDir ? RecreationModel.Load(recDir, deviceChoice.Device, options.Seed) : null;
            var initial = r.GetValue(init) is { } initDir ? ClassifierFile.Load(initDir, deviceChoice.Device) : ((CifarResNet, ModelCard)?)null;
            if (initial is { } i && i.Item2.Architecture != options.Architecture)
                throw new ArgumentException($"--init {r.GetValue(init)} holds a {i.Item2.Architecture}, not the --arch {options.Architecture} to train.");
            options = options with { Recreation = recreation?.Description, InitialWeights = r.GetValue(init) };
            var size = CommonOptions.ParseSize(r.GetValue(imageSize));
            var train = CommonOptions.LoadData(r.GetValue(data)!, Split.Train, size, r.GetValue(noCache));
            if (r.GetValue(trainLimit) is { } limit) train = train.Sample(Positive(limit, "--train-limit"), options.Seed);
            var testPath = r.GetValue(testData) ?? r.GetValue(data)!;
            var test = testPath == "none" ? null : CommonOptions.LoadData(testPath, Split.Test, size, r.GetValue(noCache));
            if (test != null && (test.Height, test.Width) != (train.Height, train.Width))
                throw new ArgumentException($"test images are {test.Height}x{test.Width}, training images {train.Height}x{train.Width}; pass --image-size to resize both.");
            if (test != null && !test.ClassNames.SequenceEqual(train.ClassNames))
                throw new ArgumentException($"test classes ({string.Join(", ", test.ClassNames)}) differ from training classes ({string.Join(", ", train.ClassNames)}).");
            return ClassifierTraining.Run(options, train, test, deviceChoice, r.GetValue(output)!, r.GetValue(resume),
                "pdnn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), recreation, initial?.Item1);
        }));
        return command;
    }

    static int Positive(int value, string name) => value > 0 ? value : throw new ArgumentException($"{name} must be positive, got {value}.");
}
