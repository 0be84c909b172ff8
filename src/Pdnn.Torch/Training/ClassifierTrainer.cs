using System.Diagnostics;
using Pdnn.Data;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Models;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training.Adversarial;
using Pdnn.Torch.Training.Recreation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training;

/// <param name="Completed">All epochs trained, stopped for good by the collapse detector (see State.StoppedOnCollapse), or
/// ended at its budget with <see cref="TrainOptions.FinishAtBudget"/> (see State.FinishedAtBudget); false when a budget
/// stopped the run and a checkpoint waits for --resume.</param>
public sealed record TrainResult(CifarResNet Model, bool Completed, TrainingState State, string StopReason)
{
    /// <summary>The epoch whose weights the model holds (best-robust keeps an earlier one).</summary>
    public int KeptEpoch { get; init; }
}

/// <summary>
/// Trains a CIFAR-style ResNet with SGD + momentum, a cosine or step schedule, optional label smoothing and the standard
/// augmentation. Reproducible from the seed: the initial weights come from torch.manual_seed(seed), the epoch order and
/// each step's augmentation from System.Random seeded by (seed, epoch, step). It checkpoints at every epoch end and when it
/// stops early (time budget, step budget), and continues from a checkpoint to the same result as an uninterrupted run.
/// With <see cref="TrainOptions.Adversarial"/> it trains on adversarial examples crafted at every step — through the
/// recreation too when one is given (the whole φDNN) — and checks clean, FGSM and PGD-10 accuracy on held-out images
/// after every epoch, naming catastrophic overfitting when it happens.
/// </summary>
public sealed class ClassifierTrainer(TrainOptions options, Device device, ITrainingObserver observer)
{
    /// <summary>
    /// Trains on <paramref name="train"/>; evaluates on <paramref name="test"/> after each epoch when given.
    /// With <paramref name="checkpointDir"/> holding a checkpoint and <paramref name="resume"/>, continues it.
    /// </summary>
    /// <param name="recreate">Applied (without gradients) to every augmented training batch and to the test images: the
    /// classifier then learns on recreations, as the paper's classifiers with subscript T.</param>
    /// <param name="initial">Weights to start from instead of the seeded initialisation (fine-tuning).</param>
    /// <param name="stepRecreate">The same recreation as the training steps run it (crafting and recreating each batch),
    /// e.g. with its network in bfloat16 (<see cref="Models.Recreation.RecreationModel.BFloat16"/>); by default
    /// <paramref name="recreate"/>. Test accuracy and the held-out robustness check always use <paramref name="recreate"/>.</param>
    public TrainResult Run(ImageDataset train, ImageDataset? test, string? checkpointDir, bool resume,
                           Func<Tensor, Tensor>? recreate = null, CifarResNet? initial = null, Func<Tensor, Tensor>? stepRecreate = null)
    {
        Validate(train, recreate, stepRecreate);
        var dataIdentity = $"{train.Source}|{train.Count}|{string.Join(",", train.ClassNames)}";
        var adversary = options.Adversarial.Enabled ? new TrainingAdversary(options.Adversarial) : null;
        ImageDataset? heldOut = null;
        if (options.HeldOut > 0) (train, heldOut) = train.HoldOut(options.HeldOut, options.Seed);
        if (train.Count < options.BatchSize)
            throw new ArgumentException($"after holding out {options.HeldOut} images the training set has {train.Count}, fewer than one batch of {options.BatchSize}.");

        torch.manual_seed(options.Seed);
        var (mean, std) = train.ChannelStatistics();
        var spec = ResNetSpec.FromName(options.Architecture) with { Mean = mean, Std = std };
        var model = new CifarResNet(spec, train.ClassNames.Count);
        if (initial != null) model.load_state_dict(initial.state_dict());

        var state = new TrainingState { OptionsIdentity = options.Identity(), DataIdentity = dataIdentity };
        using var writing = checkpointDir != null ? OutputLock.Take(checkpointDir) : null;
        bool resuming = checkpointDir != null && Checkpoint.Exists(checkpointDir);
        if (resuming)
        {
            if (!resume)
                throw new InvalidOperationException($"{checkpointDir} holds a checkpoint of an earlier run; pass --resume to continue it, or choose another output folder.");
            var saved = Checkpoint.ReadState(checkpointDir!);
            if (saved.OptionsIdentity != state.OptionsIdentity)
                throw new InvalidOperationException($"{checkpointDir}: the checkpoint was made with options '{saved.OptionsIdentity}', this run has '{state.OptionsIdentity}'; resume with the same options.");
            if (saved.DataIdentity != dataIdentity)
                throw new InvalidOperationException($"{checkpointDir}: the checkpoint was trained on '{saved.DataIdentity}', this run on '{dataIdentity}'.");
            // Weights first, while the model is on the CPU, and the optimiser made afterwards over the moved parameters:
            // on CUDA, loading into an already moved model replaced its parameter tensors, and the optimiser's state
            // (keyed by the old tensors) no longer matched them.
            state = Checkpoint.LoadWeights(checkpointDir!, model);
        }
        model.to(device);
        // Pruned after the weights are final (initial or resumed; a resumed model's zeros are its smallest weights, so
        // the masks come out the same) and on the device, so the masks live beside the weights.
        using var pruning = options.Sparsity > 0 ? MagnitudePruning.Prune(model, options.Sparsity) : null;
        var optimizer = new GcSafe.SGD(model.parameters(), options.LearningRate, momentum: options.Momentum,
                                        weightDecay: options.WeightDecay);
        // The bfloat16 working copy, when asked for, pairs with the parameters where they now live (after the move).
        using var mixed = options.Precision == TrainingPrecision.BFloat16 ? new MixedPrecision(model, spec, train.ClassNames.Count, device) : null;
        // The weight average starts at the weights the steps start from (after pruning, so its pruned weights stay zero).
        using var average = options.WeightAverageDecay > 0 ? new WeightAverage(model, spec, train.ClassNames.Count, options.WeightAverageDecay, device) : null;
        if (resuming)
        {
            Checkpoint.LoadOptimizer(checkpointDir!, optimizer);
            if (average != null)
            {
                Checkpoint.LoadAverage(checkpointDir!, average.Model);
                average.Updates = state.GlobalStep;
            }
            observer.Message(state.FinishedAtBudget != null
                ? $"{checkpointDir} holds a run that has finished ({state.FinishedAtBudget}); no more steps, only its final weights"
                : $"resuming from {checkpointDir}: epoch {state.Epoch + 1}, step {state.StepInEpoch}, {state.ElapsedSeconds / 60:F1} min trained so far");
        }

        // Recreated once (TrainOptions.RecreateOnce): from here on the stored recreations are the images, for the steps and
        // the per-epoch test alike (the caller's final test goes through the live recreation). Skipped for a run that has
        // nothing left to train.
        // With recreated copies, the training set holds K copies one after another and an epoch reads one of them.
        int epochImages = train.Count, copies = Math.Max(1, options.RecreatedCopies);
        bool augmentSteps = options.Augment && options.RecreatedCopies == 0;
        if (options.RecreateOnce && state.FinishedAtBudget == null && state.Epoch < options.Epochs)
        {
            (train, test) = RecreateOnce(train, test, recreate!, copies);
            recreate = null;
        }
        using var trainImages = new DeviceImages(train, device);
        using var testImages = test != null ? new DeviceImages(test, device) : null;
        using var heldOutImages = heldOut != null ? new DeviceImages(heldOut, device) : null;
        var monitor = heldOutImages != null ? new RobustnessMonitor(heldOutImages, options.Adversarial.Epsilon) : null;
        // What the per-epoch checks measure and best-robust keeps: the weight average when there is one.
        var evaluated = average?.Model ?? model;
        // The deployed system: what the monitor attacks (always in float32), and what the adversary attacks unless told
        // to use C alone (in the training precision).
        Func<Tensor, Tensor> system = recreate == null ? evaluated.forward : x => evaluated.forward(recreate(x));
        Func<Tensor, Tensor> forward = mixed != null ? mixed.Forward : model.forward;
        var stepRecreation = stepRecreate ?? recreate;
        Func<Tensor, Tensor> craftTarget = options.Adversarial.CraftThrough == CraftThrough.Classifier || stepRecreation == null
            ? forward : x => forward(stepRecreation(x));
        var best = state.BestRobustEpoch != null && checkpointDir != null && File.Exists(BestRobustFile(checkpointDir))
            ? LoadWeights(spec, train.ClassNames.Count, BestRobustFile(checkpointDir)) : null;
        int stepsPerEpoch = epochImages / options.BatchSize; // the last partial batch is dropped, as in most CIFAR recipes
        long totalSteps = (long)stepsPerEpoch * options.Epochs;
        var clock = Stopwatch.StartNew();
        double elapsedBefore = state.ElapsedSeconds;
        long stepsThisRun = 0;
        // With a time-budgeted schedule: the schedule's end leaves room for the last epoch-end check (as long as the
        // latest took), so that the final weights are checked within the budget; the run ends when it is reached.
        double checkSeconds = 0;
        bool scheduleSpent = false;
        long ScheduleStep() => options.ScheduleMinutes is { } budget
            ? LearningRateSchedule.BudgetedStep(state.GlobalStep, totalSteps, elapsedBefore + clock.Elapsed.TotalSeconds, budget * 60 - checkSeconds)
            : state.GlobalStep;
        // A budget spent before the first step (a resume with --max-minutes 0 that only finishes the run) takes none.
        // A run that already finished at its budget (its process died before the model was saved) takes no more steps:
        // resuming it gives the weights it finished with.
        string? stopReason = state.FinishedAtBudget
                             ?? (options.FinishAtBudget && state.Epoch < options.Epochs ? StopReason(clock, 0) : null);
        model.train();

        while (state.Epoch < options.Epochs && stopReason == null)
        {
            int epoch = state.Epoch;
            var order = EpochOrder(epochImages, epoch, copy: epoch % copies);
            observer.EpochStarted(epoch + 1, options.Epochs, stepsPerEpoch, state.StepInEpoch);
            var epochClock = Stopwatch.StartNew();
            using var lossSum = full(1, state.EpochLossSum, dtype: ScalarType.Float64, device: device);
            using var correctSum = full(1, state.EpochCorrect, dtype: ScalarType.Int64, device: device);
            int seen = state.EpochSeen, seenBefore = state.EpochSeen, stepsDone = 0;

            for (int step = state.StepInEpoch; step < stepsPerEpoch; step++)
            {
                long scheduleStep = ScheduleStep();
                if (options.ScheduleMinutes != null && scheduleStep >= totalSteps)
                {
                    scheduleSpent = true;
                    stopReason = $"learning-rate schedule of {options.ScheduleMinutes} min run to its end";
                    break;
                }
                using (var scope = NewDisposeScope())
                {
                    double lr = LearningRateSchedule.At(options.Schedule, options.LearningRate, scheduleStep, totalSteps);
                    foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                    var (x, y) = trainImages.Batch(order.AsSpan(step * options.BatchSize, options.BatchSize));
                    if (augmentSteps) x = Augmentation.CropAndFlip(x, new Random(Seeds.Derive(options.Seed, Seeds.AugmentStream, epoch, step)), Augmentation.Padding(train.Height));
                    // The recreation's noise and the adversary's random start, reproducibly.
                    if (recreate != null || adversary != null) manual_seed(Seeds.Derive(options.Seed, Seeds.NoiseStream, epoch, step));
                    mixed?.Load();
                    var (loss, logits) = adversary == null
                        ? Step(forward, optimizer, Recreated(x, stepRecreation), y, options.LabelSmoothing, mixed)
                        : AdversarialStep(forward, optimizer, adversary, craftTarget, stepRecreation, x, y, options.LabelSmoothing, mixed);
                    pruning?.Apply();
                    average?.Update();
                    using var batch = y.shape[0].ToScalar(); // held during the calls (GcSafe)
                    lossSum.add_(loss.detach().to(ScalarType.Float64).mul(batch), GcSafe.One);
                    correctSum.add_(logits.argmax(1).eq(y).sum(), GcSafe.One);
                    seen += (int)y.shape[0];
                    stepsDone++;
                    // Reading values back syncs the GPU, so do it only now and then.
                    if (stepsDone % 10 == 0 || step == stepsPerEpoch - 1)
                        observer.Step(new StepProgress(epoch + 1, options.Epochs, step + 1, stepsPerEpoch,
                            lossSum.item<double>() / seen, (double)correctSum.item<long>() / seen,
                            (seen - seenBefore) / epochClock.Elapsed.TotalSeconds, lr));
                }
                stepsThisRun++;
                state = state with { StepInEpoch = step + 1, GlobalStep = state.GlobalStep + 1 };
                stopReason = StopReason(clock, stepsThisRun);
                if (stopReason != null) break;
                if (options.CheckpointEverySteps > 0 && checkpointDir != null && stepsThisRun % options.CheckpointEverySteps == 0)
                    Checkpoint.Save(checkpointDir, model, optimizer, Snapshot(), average?.Model);
            }
            if (state.StepInEpoch < stepsPerEpoch)
                state = state with { EpochLossSum = lossSum.item<double>(), EpochCorrect = correctSum.item<long>(), EpochSeen = seen };

            // A schedule spent mid-epoch ends the run there: that part-epoch is checked and recorded as the last epoch.
            if (state.StepInEpoch == stepsPerEpoch || (scheduleSpent && state.StepInEpoch > 0))
            {
                double imagesPerSecond = (seen - seenBefore) / epochClock.Elapsed.TotalSeconds, seconds = epochClock.Elapsed.TotalSeconds;
                var checkClock = Stopwatch.StartNew();
                double? testAccuracy = testImages != null ? Evaluate(evaluated, testImages, recreate) : null;
                var check = monitor?.Measure(evaluated, system, Seeds.Derive(options.Seed, Seeds.MonitorStream, epoch));
                string? collapse = null;
                if (check != null)
                {
                    collapse = CollapseDetector.Check([.. state.History.Where(h => h.HeldOut != null).Select(h => (h.Epoch, h.HeldOut!)), (epoch + 1, check)]);
                    if (collapse != null) observer.Message(collapse + (options.OnCollapse == CollapseAction.Stop ? "; stopping (--on-collapse stop)" : ""));
                    if (IsBestRobust(check, state, monitor!.Count))
                    {
                        best?.Dispose();
                        best = CopyOf(evaluated, spec, train.ClassNames.Count);
                        if (checkpointDir != null) Checkpoint.SaveWeights(best, BestRobustFile(checkpointDir));
                        state = state with { BestRobustEpoch = epoch + 1, BestRobustPgd = Math.Max(state.BestRobustPgd, check.Pgd10) };
                    }
                }
                checkSeconds = checkClock.Elapsed.TotalSeconds;
                var summary = new EpochSummary(epoch + 1, lossSum.item<double>() / seen, (double)correctSum.item<long>() / seen,
                    testAccuracy, imagesPerSecond, seconds, check, collapse);
                observer.EpochEnded(summary);
                state = state with
                {
                    Epoch = epoch + 1, StepInEpoch = 0, EpochLossSum = 0, EpochCorrect = 0, EpochSeen = 0,
                    History = [.. state.History, summary],
                };
                if (collapse != null && options.OnCollapse == CollapseAction.Stop)
                {
                    state = state with { StoppedOnCollapse = collapse };
                    stopReason = collapse;
                }
            }
            if (checkpointDir != null)
                Checkpoint.Save(checkpointDir, model, optimizer, state with { ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds }, average?.Model);

            // Mid-epoch checkpoints carry the epoch's running sums too.
            TrainingState Snapshot() => state with
            {
                EpochLossSum = lossSum.item<double>(), EpochCorrect = correctSum.item<long>(), EpochSeen = seen,
                ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds,
            };
        }

        bool finishedBefore = state.FinishedAtBudget != null;
        state = Finished(state with { ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds }, stopReason, scheduleSpent);
        // The checkpoint records the finish, so that a resume after a crash in what follows (the final test, the save)
        // does not train on.
        if (state.FinishedAtBudget != null && !finishedBefore && checkpointDir != null)
            Checkpoint.Save(checkpointDir, model, optimizer, state, average?.Model);
        bool completed = state.Epoch >= options.Epochs || state.StoppedOnCollapse != null || state.FinishedAtBudget != null;
        int kept = state.Epoch;
        if (completed && options.Keep == KeepWeights.BestRobust && best != null && state.BestRobustEpoch is { } bestEpoch)
        {
            model.load_state_dict(best.state_dict());
            kept = bestEpoch;
            observer.Message($"keeping the weights of epoch {bestEpoch}, the last within one standard error of the best held-out PGD-10 accuracy ({state.BestRobustPgd:P1})" +
                             (average != null ? " (their weight average)" : ""));
        }
        else if (completed && average != null)
            model.load_state_dict(average.Model.state_dict());
        best?.Dispose();
        model.eval();
        return new TrainResult(model, completed, state, state.StoppedOnCollapse ?? state.FinishedAtBudget ?? (completed ? "completed" : stopReason!)) { KeptEpoch = kept };
    }

    /// <summary>Refuses, before any work, a training set smaller than a batch and recreation options that cannot go together.</summary>
    void Validate(ImageDataset train, Func<Tensor, Tensor>? recreate, Func<Tensor, Tensor>? stepRecreate)
    {
        if (stepRecreate != null && recreate == null)
            throw new ArgumentException("a training-step recreation was given without the recreation it stands for.", nameof(stepRecreate));
        if (train.Count < options.BatchSize)
            throw new ArgumentException($"the training set has {train.Count} images, fewer than one batch of {options.BatchSize}.");
        if (options.RecreateOnce && (recreate == null || stepRecreate != null || options.Adversarial.Enabled || options.HeldOut > 0))
            throw new ArgumentException(recreate == null ? "recreating the training set once needs the recreation to apply."
                : "recreating the training set once is for plain training on recreations: adversarial training and the held-out checks craft from the raw images, " +
                  "and a separate training-step recreation has nothing to run on.");
        if (options.RecreatedCopies < 0 || (options.RecreatedCopies > 0 && !options.RecreateOnce))
            throw new ArgumentException(options.RecreatedCopies < 0 ? $"the number of recreated copies is {options.RecreatedCopies}; it must be 0 or more."
                : "recreated copies are stored by recreating the training set once: they need RecreateOnce (--recreate-once).");
    }

    /// <summary>The training images recreated once (with recreated copies: K augmented copies, one after another) and the
    /// test images recreated once, stored: from then on they are the images, for the steps and the per-epoch test alike.</summary>
    (ImageDataset Train, ImageDataset? Test) RecreateOnce(ImageDataset train, ImageDataset? test, Func<Tensor, Tensor> recreate, int copies)
    {
        string name = options.Recreation ?? "the recreation";
        // An interruption here stops within a batch (the steps' clean stop with a checkpoint is minutes to an hour away):
        // nothing of this run has been trained yet, so there is nothing new to save.
        var interrupt = options.Interrupt;
        try
        {
            var recreated = options.RecreatedCopies > 0
                ? RecreatedOnce.AugmentedCopies(train, recreate, name, device, copies, options.Seed, options.Augment ? Augmentation.Padding(train.Height) : null,
                    progress: RecreatedOnce.Messages(observer, $"{copies} augmented copies of the training images", copies * train.Count), cancel: interrupt)
                : RecreatedOnce.Of(train, recreate, name, device, progress: RecreatedOnce.Messages(observer, "the training images", train.Count), cancel: interrupt);
            // A random recreation's test images are stored with one seeded draw each: they only watch the training (the
            // caller's final test draws afresh).
            var recreatedTest = test == null ? null : RecreatedOnce.Of(test, recreate, name, device, progress: RecreatedOnce.Messages(observer, "the test images", test.Count),
                                                                       drawSeed: options.RecreatedCopies > 0 ? Seeds.Derive(options.Seed, Seeds.CopyStream, -1) : null, cancel: interrupt);
            return (recreated, recreatedTest);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            throw new OperationCanceledException($"interrupted while recreating the images with {name}, before this run's first step: nothing new was trained " +
                                                 "or saved (a checkpoint from before, if any, is unchanged); run it again (with --resume where there is a checkpoint) to start the recreation over.", interrupt);
        }
    }

    /// <summary>Whether this epoch's weights become the best-robust ones: the latest epoch within one binomial standard error
    /// of the best held-out PGD-10 accuracy so far. A later epoch that is as robust up to the held-out set's noise is kept
    /// (it has seen more of the schedule, usually with higher clean accuracy); a real fall (robust overfitting) is not.</summary>
    static bool IsBestRobust(RobustCheck check, TrainingState state, int heldOutCount)
    {
        double top = Math.Max(0, state.BestRobustPgd);
        return check.Pgd10 >= state.BestRobustPgd - Math.Sqrt(top * (1 - top) / heldOutCount);
    }

    /// <summary>The state at the end of a run that stopped for <paramref name="stopReason"/>: finished for good when its
    /// budgeted schedule was spent, or when it stopped at a budget with <see cref="TrainOptions.FinishAtBudget"/> (not when
    /// interrupted, not after a collapse, which records itself); otherwise unchanged, to be resumed.</summary>
    TrainingState Finished(TrainingState state, string? stopReason, bool scheduleSpent)
    {
        if (scheduleSpent && state.StoppedOnCollapse == null)
            return state with { FinishedAtBudget = $"learning-rate schedule of {options.ScheduleMinutes} min run to its end: ended in epoch {state.Epoch} of at most {options.Epochs}, {state.ElapsedSeconds / 60:F1} min of training in all" };
        if (state.FinishedAtBudget == null && state.Epoch < options.Epochs && state.StoppedOnCollapse == null && options.FinishAtBudget && stopReason != null
            && !options.Interrupt.IsCancellationRequested)
            return state with
            {
                FinishedAtBudget = $"{stopReason}: ended with {state.Epoch} of {options.Epochs} epochs" +
                                   (state.StepInEpoch > 0 ? $" and {state.StepInEpoch} steps of the next" : "") + $", {state.ElapsedSeconds / 60:F1} min of training in all",
            };
        return state;
    }

    /// <summary>
    /// One adversarial step: craft against <paramref name="target"/> (the φDNN or C alone; the model stays in train mode,
    /// as in Madry et al. and Wong et al.), recreate the result when training on recreations, and take one SGD step on
    /// the adversary's loss. The recreation is frozen: it runs without gradients here. <paramref name="classify"/> is the
    /// classifier as images → logits (its float32 model, or the bfloat16 copy of <paramref name="mixed"/>, already loaded).
    /// </summary>
    public static (Tensor Loss, Tensor Logits) AdversarialStep(Func<Tensor, Tensor> classify, optim.Optimizer optimizer, TrainingAdversary adversary,
        Func<Tensor, Tensor> target, Func<Tensor, Tensor>? recreate, Tensor x, Tensor y, double labelSmoothing, MixedPrecision? mixed = null)
    {
        Tensor? reference = null;
        if (adversary.Options.Kind == AdversaryKind.Trades)
            using (no_grad()) reference = target(x);
        var adversarial = adversary.Craft(target, x, y, reference);
        var input = Recreated(adversarial, recreate);
        var cleanInput = adversary.NeedsCleanLogits ? Recreated(x, recreate) : null;
        optimizer.zero_grad();
        var logits = classify(input);
        var loss = adversary.Loss(logits, cleanInput is null ? null : classify(cleanInput), y, labelSmoothing);
        loss.backward();
        mixed?.StoreGradients();
        optimizer.step();
        return (loss, logits);
    }

    /// <summary>x itself, or its recreation computed without gradients (the recreation is not trained here).</summary>
    internal static Tensor Recreated(Tensor x, Func<Tensor, Tensor>? recreate)
    {
        if (recreate == null) return x;
        using var noGrad = no_grad();
        return recreate(x).detach();
    }

    static string BestRobustFile(string checkpointDir) => Path.Combine(checkpointDir + ".best-robust", "weights.bin");

    static CifarResNet CopyOf(CifarResNet model, ResNetSpec spec, int classes)
    {
        var copy = new CifarResNet(spec, classes);
        copy.load_state_dict(model.state_dict());
        return copy;
    }

    static CifarResNet LoadWeights(ResNetSpec spec, int classes, string file)
    {
        var model = new CifarResNet(spec, classes);
        model.load(file);
        return model;
    }

    /// <summary>Test accuracy, on recreated test images when training on recreations (noise seeded, so epochs compare).</summary>
    double Evaluate(CifarResNet model, DeviceImages test, Func<Tensor, Tensor>? recreate)
    {
        if (recreate == null) return ClassifierEvaluator.Evaluate(model, test).Accuracy;
        manual_seed(Seeds.Derive(options.Seed, Seeds.NoiseStream, -1));
        return ClassifierEvaluator.Evaluate(new RecreatedInput(recreate, model), test, batchSize: 100).Accuracy;
    }

    sealed class RecreatedInput : nn.Module<Tensor, Tensor>
    {
        readonly Func<Tensor, Tensor> recreate;
        readonly CifarResNet classifier;

        public RecreatedInput(Func<Tensor, Tensor> recreate, CifarResNet classifier) : base("RecreatedInput")
        {
            this.recreate = recreate; this.classifier = classifier;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => classifier.forward(recreate(x));
    }

    /// <summary>One SGD step on a batch: forward, cross-entropy (with label smoothing), backward, update. With
    /// <paramref name="mixed"/>, <paramref name="classify"/> is its loaded bfloat16 copy and the gradients go to the master.</summary>
    public static (Tensor Loss, Tensor Logits) Step(Func<Tensor, Tensor> classify, optim.Optimizer optimizer, Tensor x, Tensor y,
                                                    double labelSmoothing, MixedPrecision? mixed = null)
    {
        optimizer.zero_grad();
        var logits = classify(x);
        var loss = nn.functional.cross_entropy(logits, y, label_smoothing: labelSmoothing);
        loss.backward();
        mixed?.StoreGradients();
        optimizer.step();
        return (loss, logits);
    }

    string? StopReason(Stopwatch clock, long stepsThisRun)
    {
        if (options.MaxSteps is { } maxSteps && stepsThisRun >= maxSteps) return $"step budget of {maxSteps} reached";
        if (options.Interrupt.IsCancellationRequested) return "interrupted";
        if (options.MaxMinutes is { } minutes && clock.Elapsed.TotalMinutes >= minutes) return $"time budget of {minutes} min reached";
        return null;
    }

    /// <summary>The epoch's shuffled image order, a function of (seed, epoch) only, over the images of one recreated copy
    /// (<paramref name="copy"/> k: indices k count to (k + 1) count - 1).</summary>
    long[] EpochOrder(int count, int epoch, int copy = 0)
    {
        var order = new long[count];
        for (int i = 0; i < count; i++) order[i] = (long)copy * count + i;
        new Random(Seeds.Derive(options.Seed, Seeds.OrderStream, epoch)).Shuffle(order);
        return order;
    }
}
