using System.CommandLine;
using Pdnn.Data;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;

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
        var schedule = new Option<ScheduleKind>("--schedule") { Description = "Learning-rate schedule: Cosine, Step (x0.1 at 50% and 75%), or OneCycle (linear up to --lr over the first 40%, then down to 0; Wong et al.'s fast adversarial training).", DefaultValueFactory = _ => ScheduleKind.Cosine };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing (0 = off; 0.1 for the paper's LS baseline).", DefaultValueFactory = _ => 0.0 };
        var noAugment = new Option<bool>("--no-augment") { Description = "Turn off random crop (zero padding of an eighth of the image side: 4 at 32x32, 8 at 64x64) and horizontal flip." };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var output = new Option<string>("--out") { Description = "Output folder: classifier.weights.bin, classifier.card.json, history.csv, checkpoint/.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run whose checkpoint is in --out (same options)." };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = $"Stop cleanly after this much time, with a checkpoint; exit code {ClassifierTraining.ExitStoppedEarly}, continue with --resume." };
        var scheduleMinutes = new Option<double?>("--schedule-minutes") { Description = "Budgeted training: run the learning-rate schedule over this many minutes of training (all --resume invocations together, per-epoch checks included) instead of over --epochs, and end the run when it is spent (mid-epoch if need be, after checking the final weights); --epochs becomes an upper bound. The schedule then reaches its low rates within the budget on any machine; the steps are not reproducible from run to run." };
        var ema = new Option<double>("--ema") { Description = "Weight averaging: keep an exponential moving average of the weights with this decay per step (e.g. 0.999; warmed up as min(d, (1+t)/(10+t))); the per-epoch checks, --keep best-robust and the saved classifier use the average. 0: off.", DefaultValueFactory = _ => 0.0 };
        var trainLimit = new Option<int?>("--train-limit") { Description = "Use only a uniform random subset of this many training images (seeded)." };
        var imageSize = CommonOptions.ImageSize();
        var centerCrop = CommonOptions.CenterCrop();
        var noCache = CommonOptions.NoCache();
        var recreationOption = new Option<string?>("--recreation") { Description = "Train (and test) on recreations by this model folder (pdnn train-sr / train-inpainter output): the paper's classifiers with subscript T." };
        var prune = new Option<double>("--prune") { Description = "Magnitude pruning (the paper's ResNetpruned): set this fraction of every conv/linear weight tensor to zero, smallest |w| first, before training (of the --init weights), and keep it zero after every step; e.g. 0.5, then 0.8 from the 0.5 result. 0: off.", DefaultValueFactory = _ => 0.0 };
        var init = new Option<string?>("--init") { Description = "Start from this classifier's weights (a classifier folder) instead of the seeded initialisation: fine-tuning." };
        var adversarial = new Option<string>("--adversarial") { Description = "Adversarial training: none, fgsm (the paper's, from the clean image), fgsm-rs (random start, step 1.25ε; Wong et al. 2020), n-fgsm (noise 2ε, step ε, no clip to the ε-ball; de Jorge et al. 2022), pgd (Madry et al. 2018) or trades (Zhang et al. 2019).", DefaultValueFactory = _ => "none" };
        var eps = new Option<string>("--eps") { Description = "Adversarial training's L∞ budget, e.g. 8/255.", DefaultValueFactory = _ => "8/255" };
        var attackSteps = new Option<int>("--attack-steps") { Description = "Inner steps of pgd and trades.", DefaultValueFactory = _ => 7 };
        var attackStepSize = new Option<string?>("--attack-step-size") { Description = "Inner step size, e.g. 2/255 (default: ε for fgsm, 1.25ε for fgsm-rs, 2.5ε/steps for pgd and trades)." };
        var cleanWeight = new Option<double>("--clean-weight") { Description = "Weight w of the clean loss: (1 − w)·CE(adversarial) + w·CE(clean); 0.5 is Goodfellow's mixing.", DefaultValueFactory = _ => 0.0 };
        var tradesBeta = new Option<double>("--trades-beta") { Description = "TRADES' β (weight of the KL term).", DefaultValueFactory = _ => 6.0 };
        var recreateOnce = new Option<bool>("--recreate-once") { Description = "With --recreation (FIR): recreate the training and test images once before the first step and augment the stored recreations, instead of recreating every augmented batch; epochs then cost what plain ones do. Not for NSR (its noise is drawn afresh at each call) unless with --recreated-copies, nor for adversarial training." };
        var recreatedCopies = new Option<int>("--recreated-copies") { Description = "With --recreate-once: store K recreations of each training image, each of a differently cropped and flipped copy (augmented before the recreation, as recreating every batch does, so FIR's mask seams sit where a test image has them) and with its own noise draw (NSR allowed), and train epoch e on copy e mod K, not augmented afterwards. 0: one copy, augmented after the recreation.", DefaultValueFactory = _ => 0 };
        var craftThrough = new Option<string>("--craft-through") { Description = "With --recreation: craft against the whole φDNN (phi-dnn: noise/masks, recreation and classifier, fresh randomness at each step) or against the classifier alone, then recreate (classifier: the paper's cheaper variant).", DefaultValueFactory = _ => "phi-dnn" };
        var heldOut = new Option<int?>("--held-out") { Description = "Training images held out for the per-epoch clean/FGSM/PGD-10 check (default 1000 with --adversarial, else 0)." };
        var onCollapse = new Option<string>("--on-collapse") { Description = "When the held-out check sees catastrophic overfitting: continue (report it) or stop.", DefaultValueFactory = _ => "continue" };
        var precision = CommonOptions.Precision();
        var onBudget = new Option<string>("--on-budget") { Description = "When --max-minutes runs out: checkpoint (stop, exit 75, continue with --resume) or finish (end the run there and save the classifier with the weights it has, best-robust's with --keep best-robust: a model trained within the budget; resuming with --max-minutes 0 finishes a stopped run without another step).", DefaultValueFactory = _ => "checkpoint" };
        var keep = new Option<string>("--keep") { Description = "Weights to end with: last, or best-robust (the epoch with the highest held-out PGD-10 accuracy).", DefaultValueFactory = _ => "last" };

        var command = new Command("train-classifier", "Train a CIFAR-style ResNet classifier with TorchSharp; checkpoints, resumes, stops at a time budget.")
        {
            data, testData, arch, epochs, batch, lr, momentum, weightDecay, schedule, labelSmoothing, noAugment, seed,
            device, output, resume, maxMinutes, scheduleMinutes, ema, trainLimit, imageSize, centerCrop, noCache, recreationOption, recreateOnce, recreatedCopies, init, prune,
            adversarial, eps, attackSteps, attackStepSize, cleanWeight, tradesBeta, craftThrough, heldOut, onCollapse, keep, precision, onBudget,
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
                Sparsity = r.GetValue(prune) is var p and >= 0 and < 1 ? p : throw new ArgumentException($"--prune {r.GetValue(prune)}: expected a fraction in [0, 1), e.g. 0.8."),
                MaxMinutes = r.GetValue(maxMinutes),
                ScheduleMinutes = r.GetValue(scheduleMinutes) is not { } sm ? null : sm > 0 ? sm : throw new ArgumentException($"--schedule-minutes must be positive, got {sm}."),
                WeightAverageDecay = r.GetValue(ema) is var d and >= 0 and < 1 ? d : throw new ArgumentException($"--ema {r.GetValue(ema)}: expected a decay in [0, 1), e.g. 0.999 (0: off)."),
                FinishAtBudget = r.GetValue(onBudget) switch
                {
                    "checkpoint" => false, "finish" => true,
                    var b => throw new ArgumentException($"--on-budget '{b}': expected checkpoint or finish."),
                },
                Precision = CommonOptions.ParsePrecision(r.GetValue(precision)!),
                Interrupt = Interruption.OnSignal(),
                Adversarial = new AdversarialOptions
                {
                    Kind = ParseKind(r.GetValue(adversarial)!),
                    Epsilon = EvaluateCommand.ParseEpsilon(r.GetValue(eps)!),
                    Steps = r.GetValue(attackSteps),
                    StepSize = r.GetValue(attackStepSize) is { } a ? EvaluateCommand.ParseEpsilon(a) : null,
                    CleanWeight = r.GetValue(cleanWeight),
                    TradesBeta = r.GetValue(tradesBeta),
                    CraftThrough = r.GetValue(craftThrough) switch
                    {
                        "phi-dnn" => CraftThrough.PhiDnn, "classifier" => CraftThrough.Classifier,
                        var c => throw new ArgumentException($"--craft-through '{c}': expected phi-dnn or classifier."),
                    },
                }.Validated(),
                OnCollapse = r.GetValue(onCollapse) switch
                {
                    "continue" => CollapseAction.Continue, "stop" => CollapseAction.Stop,
                    var c => throw new ArgumentException($"--on-collapse '{c}': expected continue or stop."),
                },
                Keep = r.GetValue(keep) switch
                {
                    "last" => KeepWeights.Last, "best-robust" => KeepWeights.BestRobust,
                    var k => throw new ArgumentException($"--keep '{k}': expected last or best-robust."),
                },
            };
            int heldOutCount = r.GetValue(heldOut) ?? (options.Adversarial.Enabled ? 1000 : 0);
            if (heldOutCount < 0) throw new ArgumentException($"--held-out must be >= 0, got {heldOutCount}.");
            if (options.Keep == KeepWeights.BestRobust && heldOutCount == 0)
                throw new ArgumentException("--keep best-robust needs held-out images to choose the epoch (--held-out > 0).");
            options = options with { HeldOut = heldOutCount };
            var deviceChoice = TorchDevice.Resolve(r.GetValue(device)!);
            var recreation = r.GetValue(recreationOption) is { } recDir ? RecreationModel.Load(recDir, deviceChoice.Device, options.Seed) : null;
            var initial = r.GetValue(init) is { } initDir ? ClassifierFile.Load(initDir, deviceChoice.Device) : ((CifarResNet, ModelCard)?)null;
            if (initial is { } i && i.Item2.Architecture != options.Architecture)
                throw new ArgumentException($"--init {r.GetValue(init)} holds a {i.Item2.Architecture}, not the --arch {options.Architecture} to train.");
            if (r.GetValue(recreateOnce) && recreation == null)
                throw new ArgumentException("--recreate-once needs --recreation (the recreation to apply once).");
            options = options with { Recreation = recreation?.Description, RecreateOnce = r.GetValue(recreateOnce), RecreatedCopies = r.GetValue(recreatedCopies), InitialWeights = r.GetValue(init) };
            var size = CommonOptions.ParseSize(r.GetValue(imageSize));
            var train = CommonOptions.LoadData(r.GetValue(data)!, Split.Train, size, r.GetValue(noCache), CommonOptions.Mode(r.GetValue(centerCrop)));
            if (r.GetValue(trainLimit) is { } limit) train = train.Sample(Positive(limit, "--train-limit"), options.Seed);
            var testPath = r.GetValue(testData) ?? r.GetValue(data)!;
            var test = testPath == "none" ? null : CommonOptions.LoadData(testPath, Split.Test, size, r.GetValue(noCache), CommonOptions.Mode(r.GetValue(centerCrop)));
            if (test != null && (test.Height, test.Width) != (train.Height, train.Width))
                throw new ArgumentException($"test images are {test.Height}x{test.Width}, training images {train.Height}x{train.Width}; pass --image-size to resize both.");
            if (test != null && !test.ClassNames.SequenceEqual(train.ClassNames))
                throw new ArgumentException($"test classes ({string.Join(", ", test.ClassNames)}) differ from training classes ({string.Join(", ", train.ClassNames)}).");
            return ClassifierTraining.Run(options, train, test, deviceChoice, r.GetValue(output)!, r.GetValue(resume),
                "pdnn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), recreation, initial?.Item1);
        }));
        return command;
    }

    public static AdversaryKind ParseKind(string name) => name switch
    {
        "none" => AdversaryKind.None, "fgsm" => AdversaryKind.Fgsm, "fgsm-rs" => AdversaryKind.FgsmRs,
        "n-fgsm" => AdversaryKind.NFgsm, "pgd" => AdversaryKind.Pgd, "trades" => AdversaryKind.Trades,
        _ => throw new ArgumentException($"--adversarial '{name}': expected none, fgsm, fgsm-rs, n-fgsm, pgd or trades."),
    };

    static int Positive(int value, string name) => value > 0 ? value : throw new ArgumentException($"{name} must be positive, got {value}.");
}
