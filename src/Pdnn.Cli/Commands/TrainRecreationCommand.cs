using System.CommandLine;
using System.Text.Json;
using Pdnn.Data;
using Pdnn.Figures;
using Pdnn.Onnx;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Recreation;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn train-sr` and `pdnn train-inpainter`: train a recreation model (checkpoint, resume, time budget), then write its
/// weights, ONNX export, model card with PSNR/SSIM on test images (and a classifier's accuracy on the recreations), and a
/// grid PNG of clean / corrupted / recreated images.
/// </summary>
static class TrainRecreationCommand
{
    sealed record Common(Option<string> Data, Option<string> Size, Option<int> Epochs, Option<int> Batch, Option<double> Lr, Option<int> Seed,
                         Option<string> Device, Option<string> Out, Option<bool> Resume, Option<double?> MaxMinutes, Option<int?> TrainLimit,
                         Option<int> TestCount, Option<string?> Classifier, Option<string?> ImageSize, Option<bool> CenterCrop,
                         Option<int> HeldOut, Option<int?> Patience, Option<int> LrDrops, Option<string?> Init);

    static Common Options() => new(
        CommonOptions.Data("Training data (the test split is used for PSNR/SSIM), any supported layout."),
        new Option<string>("--size") { Description = "lite (CPU deployment, tests) or paper (the paper's size).", DefaultValueFactory = _ => "lite" },
        new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => 5 },
        new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 32 },
        new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 },
        CommonOptions.Seed(),
        CommonOptions.Device(),
        new Option<string>("--out") { Description = "Output folder.", Required = true },
        new Option<bool>("--resume") { Description = "Continue the run whose checkpoint is in --out (same options)." },
        new Option<double?>("--max-minutes") { Description = $"Stop cleanly after this much time, with a checkpoint; exit code {ClassifierTraining.ExitStoppedEarly}, continue with --resume." },
        new Option<int?>("--train-limit") { Description = "Use only a uniform random subset of this many training images (seeded)." },
        new Option<int>("--test-count") { Description = "Test images for PSNR/SSIM (uniform sample, seeded; 0 = all).", DefaultValueFactory = _ => 0 },
        new Option<string?>("--classifier") { Description = "A classifier folder: also report its accuracy on clean and on recreated test images." },
        CommonOptions.ImageSize(),
        CommonOptions.CenterCrop(),
        new Option<int>("--held-out") { Description = "Training images held out (seeded): the loss on them is measured after every epoch, and the run ends with the weights of the epoch where it was lowest.", DefaultValueFactory = _ => 0 },
        new Option<int?>("--patience") { Description = "With --held-out: stop (completed) once the held-out loss has not improved for this many epochs; --epochs is then the ceiling." },
        new Option<int>("--lr-drops") { Description = "With --patience: the first this many times the patience runs out, halve the learning rate and go on instead of stopping.", DefaultValueFactory = _ => 0 },
        new Option<string?>("--init") { Description = "Start from the network of this recreation folder (same kind and size) instead of random weights: an SRGAN refining a generator trained with the pixel loss alone, as Ledig et al. did." });

    static void Add(Command command, Common o)
    {
        foreach (var option in new Option[] { o.Data, o.Size, o.Epochs, o.Batch, o.Lr, o.Seed, o.Device, o.Out, o.Resume, o.MaxMinutes, o.TrainLimit, o.TestCount, o.Classifier, o.ImageSize, o.CenterCrop, o.HeldOut, o.Patience, o.LrDrops, o.Init })
            command.Options.Add(option);
    }

    public static Command CreateSr()
    {
        var o = Options();
        var variance = new Option<double>("--gaussian-variance") { Description = "Variance of the Gaussian noise of δ.", DefaultValueFactory = _ => 0.01 };
        var saltPepper = new Option<double>("--salt-pepper") { Description = "Probability of a white and of a black pixel in δ.", DefaultValueFactory = _ => 0.01 };
        var adversarial = new Option<double>("--adversarial-weight") { Description = "Weight of the GAN loss (SRGAN: 1e-3); 0 trains the generator alone with pixel (+ feature) losses.", DefaultValueFactory = _ => 1e-3 };
        var featureClassifier = new Option<string?>("--feature-classifier") { Description = "A classifier folder whose early features give the content (perceptual) loss, in place of the paper's VGG-19." };
        var featureWeight = new Option<double>("--feature-weight") { Description = "Weight of the feature loss (MSE of early classifier features).", DefaultValueFactory = _ => 0.1 };
        var featureBlocks = new Option<int>("--feature-blocks") { Description = "Residual blocks of the feature classifier used (3 = ResNet-20's first stage).", DefaultValueFactory = _ => 3 };
        var command = new Command("train-sr", "Train NSR's super-resolution GAN (noisy 32x32 → 128x128): L1 to the bilinearly upsampled clean image, a feature loss, and an adversarial loss.")
        {
            variance, saltPepper, adversarial, featureClassifier, featureWeight, featureBlocks,
        };
        Add(command, o);
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var spec = r.GetValue(o.Size) == "paper" ? SrGeneratorSpec.Paper : r.GetValue(o.Size) == "lite" ? SrGeneratorSpec.Lite
                : throw new ArgumentException($"--size '{r.GetValue(o.Size)}': expected lite or paper.");
            double v = r.GetValue(variance), sp = r.GetValue(saltPepper), wa = r.GetValue(adversarial);
            var device = TorchDevice.Resolve(r.GetValue(o.Device)!).Device;
            Func<Tensor, Tensor>? features = null;
            double wf = 0;
            string content = "L1 pixel loss to the bilinearly upsampled clean image";
            if (r.GetValue(featureClassifier) is { } dir)
            {
                var (classifier, card) = ClassifierFile.Load(dir, device);
                foreach (var p in classifier.parameters()) p.requires_grad_(false);
                int blocks = r.GetValue(featureBlocks);
                features = x => classifier.Features(x, blocks);
                wf = r.GetValue(featureWeight);
                content += $" + {wf} x MSE of the features of {card.Architecture}'s stem and first {blocks} blocks ({dir}) between recreation and clean image (replaces the paper's ImageNet VGG-19, unavailable here)";
            }
            string loss = wa > 0 ? $"{content} + {wa} x adversarial (non-saturating GAN) loss against an SRGAN discriminator ({spec.Channels} base channels)" : content;
            return Run(r, o, "sr-generator", spec.Name, spec.ToString(), $"Gaussian variance {v} + salt-and-pepper {sp}", c => c with { GaussianVariance = v, SaltPepper = sp, Loss = loss },
                (train, options, device, observer, checkpoint, resume) =>
                {
                    if (wa > 0 || features != null)
                    {
                        var gan = RecreationTraining.TrainSrGan(spec, train, options, device, observer, wa, wf, features, v, sp, checkpoint, resume);
                        return (gan.Model.Generator, gan.Completed, gan.State, gan.StopReason, gan.KeptEpoch);
                    }
                    var result = RecreationTraining.TrainSrGenerator(spec, train, options, device, observer, v, sp, checkpoint, resume);
                    return (result.Model, result.Completed, result.State, result.StopReason, result.KeptEpoch);
                },
                (model, x) =>
                {
                    var noisy = RecreationTraining.Corrupt(x, v, sp);
                    return (noisy, Recreations.SuperResolve((SrGenerator)model, noisy));
                }, 3);
        }));
        return command;
    }

    public static Command CreateInpainter()
    {
        var o = Options();
        var cell = new Option<int>("--cell") { Description = "Grid cell size g of the masks (1, 4 or 8 on 32x32 images).", DefaultValueFactory = _ => 4 };
        var command = new Command("train-inpainter", "Train FIR's inpainting autoencoder (L1 between F(x⊙(1−M), M) and x, masks of g x g cells covering ~10%).") { cell };
        Add(command, o);
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var spec = r.GetValue(o.Size) == "paper" ? InpainterSpec.Paper : r.GetValue(o.Size) == "lite" ? InpainterSpec.Lite
                : throw new ArgumentException($"--size '{r.GetValue(o.Size)}': expected lite or paper.");
            int g = r.GetValue(cell);
            return Run(r, o, "inpainter", spec.Name, spec.ToString(), $"random masks of {g}x{g} cells, ~10% hidden; at inference 10 complementary masks", c => c with { Cell = g },
                (train, options, device, observer, checkpoint, resume) =>
                {
                    var result = RecreationTraining.TrainInpainter(spec, train, g, options, device, observer, checkpointDir: checkpoint, resume: resume);
                    return (result.Model, result.Completed, result.State, result.StopReason, result.KeptEpoch);
                },
                (model, x) =>
                {
                    var masks = Recreations.MaskTensor(MaskSet.Draw(10, g, (int)x.shape[2], (int)x.shape[3], new Random(r.GetValue(o.Seed))), x.device);
                    return (x * (1 - masks[0]), Recreations.InpaintAggregate((Inpainter)model, x, masks));
                }, 4);
        }));
        return command;
    }

    delegate (nn.Module<Tensor, Tensor> Model, bool Completed, TrainingState State, string Stop, int? KeptEpoch) Trainer(
        ImageDataset train, RecreationTrainOptions options, Device device, ITrainingObserver observer, string checkpoint, bool resume);

    static int Run(System.CommandLine.ParseResult r, Common o, string kind, string size, string architecture, string corruption,
                   Func<RecreationCard, RecreationCard> withParameters, Trainer trainer,
                   Func<nn.Module<Tensor, Tensor>, Tensor, (Tensor Corrupted, Tensor Recreated)> recreate, int inputChannels)
    {
        var device = TorchDevice.Resolve(r.GetValue(o.Device)!);
        AnsiConsole.MarkupLineInterpolated($"[grey]device:[/] {device.Description}");
        var options = new RecreationTrainOptions
        {
            Epochs = r.GetValue(o.Epochs), BatchSize = r.GetValue(o.Batch), LearningRate = r.GetValue(o.Lr), Seed = r.GetValue(o.Seed),
            MaxMinutes = r.GetValue(o.MaxMinutes), Interrupt = Interruption.OnSignal(),
            HeldOut = r.GetValue(o.HeldOut), Patience = r.GetValue(o.Patience), LearningRateDrops = r.GetValue(o.LrDrops), Init = r.GetValue(o.Init),
        };
        // Photographs (Imagenette) are cut to one size, as for the classifier that will read the recreations.
        var imageSize = CommonOptions.ParseSize(r.GetValue(o.ImageSize));
        var resize = CommonOptions.Mode(r.GetValue(o.CenterCrop));
        var train = CommonOptions.LoadData(r.GetValue(o.Data)!, Split.Train, imageSize, noCache: false, resize);
        if (r.GetValue(o.TrainLimit) is { } limit) train = train.Sample(limit, options.Seed);
        var outDir = r.GetValue(o.Out)!;
        Directory.CreateDirectory(outDir);
        var (model, completed, state, stop, kept) = SpectreTrainingObserver.Show(observer =>
            trainer(train, options, device.Device, observer, Path.Combine(outDir, "checkpoint"), r.GetValue(o.Resume)));
        if (!completed)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]stopped:[/] {stop} with {state.Epoch} of {options.Epochs} epochs done; run again with --resume.");
            return ClassifierTraining.ExitStoppedEarly;
        }

        // Quality on test images, and a grid a person can look at.
        var test = CommonOptions.LoadData(r.GetValue(o.Data)!, Split.Test, imageSize, noCache: false, resize);
        if (r.GetValue(o.TestCount) > 0) test = test.Sample(r.GetValue(o.TestCount), 0);
        (nn.Module<Tensor, Tensor> Model, ModelCard Card)? classifier = r.GetValue(o.Classifier) is { } c ? ClassifierFile.Load(c, device.Device) : null;
        double psnr = 0, ssim = 0, corruptedPsnr = 0;
        long correctClean = 0, correctRecreated = 0;
        var grid = new List<(string, IReadOnlyList<float[]>)>();
        using (var images = new DeviceImages(test, device.Device))
        using (no_grad())
        {
            manual_seed(options.Seed);
            for (int start = 0; start < test.Count; start += 100)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(100, test.Count - start);
                var (x, y) = images.Range(start, n);
                var (corrupted, recreated) = recreate(model, x);
                psnr += ImageQuality.Psnr(x, recreated).sum().item<float>();
                ssim += ImageQuality.Ssim(x, recreated).sum().item<float>();
                corruptedPsnr += ImageQuality.Psnr(x, corrupted).sum().item<float>();
                if (classifier is { } cl)
                {
                    correctClean += cl.Model.forward(x).argmax(1).eq(y).sum().item<long>();
                    correctRecreated += cl.Model.forward(recreated).argmax(1).eq(y).sum().item<long>();
                }
            }
            // Ten images spread over the test set (its folders are class-ordered), for a person to look at.
            using (var scope = NewDisposeScope())
            {
                var spread = Enumerable.Range(0, Math.Min(10, test.Count)).Select(i => (long)(i * test.Count / Math.Min(10, test.Count))).ToArray();
                var (x, _) = images.Batch(spread);
                var (corrupted, recreated) = recreate(model, x);
                float[][] Rows(Tensor t) => Enumerable.Range(0, spread.Length).Select(i => t[i].cpu().contiguous().data<float>().ToArray()).ToArray();
                grid = [("clean", Rows(x)), (kind == "inpainter" ? "masked (1 of 10)" : "corrupted (δ)", Rows(corrupted)), ("recreated", Rows(recreated))];
            }
        }
        psnr /= test.Count; ssim /= test.Count; corruptedPsnr /= test.Count;
        ImageGrid.SavePng(Path.Combine(outDir, $"{kind}-grid.png"), grid, test.Height, test.Width);

        var weights = Path.Combine(outDir, $"{kind}.weights.bin");
        var onnx = Path.Combine(outDir, $"{kind}.onnx");
        model.save(weights);
        OnnxExporter.Save(OnnxExporter.Export(model, [inputChannels, train.Height, train.Width]), onnx);
        var card = new RecreationCard
        {
            Kind = kind, Size = size, Architecture = architecture, Parameters = model.parameters().Sum(p => p.numel()),
            TrainData = train.Source, TrainCount = train.Count - options.HeldOut, Corruption = corruption, Epochs = options.Epochs, EpochsCompleted = state.Epoch,
            HeldOut = options.HeldOut > 0 ? options.HeldOut : null, Patience = options.Patience, KeptEpoch = kept, Stop = stop,
            LearningRateDrops = options.LearningRateDrops > 0 ? state.LearningRateDrops : null,
            HeldOutLosses = options.HeldOut > 0 ? state.History.Select(h => h.HeldOutLoss).ToList() : null,
            TrainLosses = state.History.Select(h => h.TrainLoss).ToList(),
            InitializedFrom = options.Init, InitializedFromSha256 = options.Init is { } init ? RecreationModel.ReadCard(init).WeightsSha256 : null,
            BatchSize = options.BatchSize, LearningRate = options.LearningRate, Seed = options.Seed,
            Command = "pdnn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), Hardware = Hardware.Describe(device),
            WallSeconds = state.ElapsedSeconds, TestData = test.Source, TestCount = test.Count, Psnr = psnr, Ssim = ssim, CorruptedPsnr = corruptedPsnr,
            ClassifierForAccuracy = r.GetValue(o.Classifier),
            ClassifierAccuracyOnClean = classifier != null ? (double)correctClean / test.Count : null,
            ClassifierAccuracyOnRecreations = classifier != null ? (double)correctRecreated / test.Count : null,
            FilesSha256 = new() { [Path.GetFileName(weights)] = ClassifierFile.Sha256(weights), [Path.GetFileName(onnx)] = ClassifierFile.Sha256(onnx) },
        };
        File.WriteAllText(Path.Combine(outDir, $"{kind}.card.json"), JsonSerializer.Serialize(withParameters(card), new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLineInterpolated($"[green]{kind} ({size}): PSNR {psnr:F2} dB, SSIM {ssim:F4}[/] on {test.Count} test images (corrupted input: {corruptedPsnr:F2} dB)");
        if (classifier != null)
            AnsiConsole.MarkupLineInterpolated($"classifier accuracy: clean {(double)correctClean / test.Count:P2}, on recreations {(double)correctRecreated / test.Count:P2}");
        AnsiConsole.MarkupLineInterpolated($"saved {weights}, {onnx}, {kind}.card.json, {kind}-grid.png in {outDir}");
        return 0;
    }
}
