using Pdnn.Data;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Storage;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Recreation;

/// <summary>Options of a recreation-model run. Equal options and data give the same model, interrupted or not.</summary>
public sealed record RecreationTrainOptions
{
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; }
    /// <summary>Stop cleanly (with a checkpoint when a folder is given) after this much wall time.</summary>
    public double? MaxMinutes { get; init; }
    public long? MaxSteps { get; init; }
    /// <summary>Stop cleanly (with a checkpoint when a folder is given) at the next step once cancelled (Ctrl-C, SIGTERM).</summary>
    public CancellationToken Interrupt { get; init; }
    /// <summary>
    /// Training images held out (a seeded uniform split, <see cref="ImageDataset.HoldOut"/>). After every epoch the model's
    /// loss on them is measured (eval mode, the same noise and masks at every epoch; the SRGAN's pixel and feature terms,
    /// not its adversarial ones), and a completed run ends with the weights of the epoch where it was lowest. 0: none.
    /// </summary>
    public int HeldOut { get; init; }
    /// <summary>With <see cref="HeldOut"/>: end the run (completed) once the held-out loss has not improved for this many
    /// epochs: "until the held-out loss stops improving", with <see cref="Epochs"/> as the ceiling. Null: all epochs.</summary>
    public int? Patience { get; init; }
    /// <summary>With <see cref="Patience"/>: the first this many times the patience runs out, halve the learning rate and go
    /// on (counting patience afresh) instead of stopping. At a constant rate Adam's weights, and so the batch-norm
    /// statistics the held-out loss is measured with, keep moving; the halvings let the loss settle before the run ends.</summary>
    public int LearningRateDrops { get; init; }
    /// <summary>
    /// A recreation folder (written by pdnn train-sr / train-inpainter, of the same kind and architecture) whose network
    /// starts the run in place of a random initialisation: Ledig et al. started their SRGAN from an SRResNet trained
    /// with the pixel loss alone, so the adversarial and feature losses refine a generator that already recreates. The
    /// SRGAN's discriminator starts fresh. Null: random initialisation.
    /// </summary>
    public string? Init { get; init; }

    public string Identity(string what) =>
        $"{what}|{Epochs}|{BatchSize}|{LearningRate}|{Seed}" +
        (HeldOut > 0 ? $"|held-out:{HeldOut}|patience:{Patience}" + (LearningRateDrops > 0 ? $"|lr-drops:{LearningRateDrops}" : "") : "") +
        (Init != null ? $"|init:{RecreationModel.ReadCard(Init).WeightsSha256}" : "");

    internal RecreationTrainOptions Validated()
    {
        if (HeldOut < 0) throw new ArgumentOutOfRangeException(nameof(HeldOut), $"the held-out count must be >= 0, got {HeldOut}.");
        if (Patience is { } p && p < 1) throw new ArgumentOutOfRangeException(nameof(Patience), $"patience must be at least 1 epoch, got {p}.");
        if (Patience != null && HeldOut == 0) throw new ArgumentException("patience needs held-out images to watch (set HeldOut, --held-out).", nameof(Patience));
        if (LearningRateDrops < 0) throw new ArgumentOutOfRangeException(nameof(LearningRateDrops), $"learning-rate drops must be >= 0, got {LearningRateDrops}.");
        if (LearningRateDrops > 0 && Patience == null) throw new ArgumentException("learning-rate drops happen when the patience runs out: set Patience (--patience) too.", nameof(LearningRateDrops));
        return this;
    }
}

/// <param name="KeptEpoch">With held-out images: the epoch whose weights the model holds (the lowest held-out loss).</param>
public sealed record RecreationTrainResult<TModel>(TModel Model, bool Completed, TrainingState State, string StopReason, int? KeptEpoch = null);

/// <summary>
/// Trainers for the recreation models with pixel (L1) losses: the SR generator learns noisy image → clean image upsampled
/// bilinearly by its factor; the inpainter learns |F(x⊙(1−M), M) − x| for random grid masks covering ~10%. Adam. Every
/// step's noise and masks are drawn after seeding torch with (seed, epoch, step), and the epoch order is a function of
/// (seed, epoch), so a run resumed from its checkpoint ends where an uninterrupted one does. The paper's SRGAN adds an
/// adversarial and a VGG feature loss; those belong to the full training recipe (issue 4).
/// </summary>
public static class RecreationTraining
{
    /// <summary>NSR's δ on a batch: Gaussian noise of the given variance plus salt-and-pepper with probability p each, clamped.</summary>
    public static Tensor Corrupt(Tensor x, double gaussianVariance, double saltPepper) => Corrupt(x, 0, gaussianVariance, saltPepper, saltPepper);

    /// <summary>NoisyCorrupt's noise drawn from torch's RNG: x + N(mean, variance), then whole pixels white with probability
    /// <paramref name="salt"/> or black with probability <paramref name="pepper"/>, clamped to [0,1]. Differentiable in x.</summary>
    public static Tensor Corrupt(Tensor x, double gaussianMean, double gaussianVariance, double salt, double pepper)
    {
        using var scope = NewDisposeScope();
        // Scalars held during the calls (GcSafe): x + ε·σ + mean, as x.add(.., One).
        using var std = Math.Sqrt(gaussianVariance).ToScalar();
        using var mean = gaussianMean.ToScalar();
        using var white = salt.ToScalar();
        using var whiteOrBlack = (salt + pepper).ToScalar();
        var noisy = x.add(randn_like(x).mul(std), GcSafe.One).add(mean, GcSafe.One);
        var u = rand([x.shape[0], 1, x.shape[2], x.shape[3]], device: x.device);
        noisy = where(u < white, ones_like(x), where(u < whiteOrBlack, zeros_like(x), noisy));
        return noisy.clamp(GcSafe.Zero, GcSafe.One).MoveToOuterDisposeScope();
    }

    /// <summary>Random masks of g x g cells, each cell hidden with probability <paramref name="coverage"/>: N x 1 x H x W, 1 = hidden.</summary>
    public static Tensor RandomMasks(long n, long height, long width, int cell, double coverage, Device device)
    {
        using var scope = NewDisposeScope();
        using var hidden = coverage.ToScalar();
        var cells = (rand([n, 1, (height + cell - 1) / cell, (width + cell - 1) / cell], device: device) < hidden).to(ScalarType.Float32);
        return nn.functional.interpolate(cells, scale_factor: [cell, cell], mode: InterpolationMode.Nearest)
            .narrow(2, 0, height).narrow(3, 0, width).MoveToOuterDisposeScope();
    }

    public static RecreationTrainResult<SrGenerator> TrainSrGenerator(SrGeneratorSpec spec, ImageDataset data, RecreationTrainOptions options,
        Device device, ITrainingObserver observer, double gaussianVariance = 0.01, double saltPepper = 0.01,
        string? checkpointDir = null, bool resume = false)
    {
        manual_seed(options.Seed);
        var model = new SrGenerator(spec);
        Initialize(model, options, "sr-generator", spec.ToString());
        model.to(device);
        Tensor Loss(Tensor x) => nn.functional.l1_loss(model.forward(Corrupt(x, gaussianVariance, saltPepper)), Upsample(x, spec.Upscale));
        return Fit(model, data, options, device, observer, $"sr|{spec}|{gaussianVariance}|{saltPepper}", $"SR generator ({spec.Name})",
            Loss, Loss, checkpointDir, resume);
    }

    static Tensor Upsample(Tensor x, int factor) =>
        nn.functional.interpolate(x, [x.shape[2] * factor, x.shape[3] * factor], mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>
    /// SRGAN training: the generator's loss is the L1 pixel loss + <paramref name="featureWeight"/> · MSE between the
    /// features φ of its recreation (output resized back to the input size) and of the clean image (φ: a network trained
    /// here, standing in for the paper's ImageNet VGG-19, which cannot be had) + <paramref name="adversarialWeight"/> ·
    /// the non-saturating GAN loss; the discriminator learns real (clean, upsampled) vs generated. Both are updated at
    /// every step from one backward pass: the generator's adversarial term is computed with the discriminator's
    /// parameters frozen, the discriminator's terms on the detached output, so each network gets only its own gradient.
    /// </summary>
    public static RecreationTrainResult<SrGan> TrainSrGan(SrGeneratorSpec spec, ImageDataset data, RecreationTrainOptions options,
        Device device, ITrainingObserver observer, double adversarialWeight, double featureWeight, Func<Tensor, Tensor>? features,
        double gaussianVariance = 0.01, double saltPepper = 0.01, string? checkpointDir = null, bool resume = false)
    {
        if (featureWeight > 0 && features == null) throw new ArgumentException("a feature loss needs a feature network.", nameof(features));
        manual_seed(options.Seed);
        var gan = new SrGan(spec);
        Initialize(gan.Generator, options, "sr-generator", spec.ToString());
        gan.to(device);
        var discriminatorParameters = gan.Discriminator.parameters().ToList();
        using var featureScalar = featureWeight.ToScalar();         // held for the whole run (GcSafe)
        using var adversarialScalar = adversarialWeight.ToScalar();
        // The generator's content loss: L1 to the upsampled clean image + the weighted feature MSE (also the held-out loss).
        Tensor Content(Tensor x, Tensor fake, Tensor target)
        {
            var loss = nn.functional.l1_loss(fake, target);
            if (featureWeight <= 0) return loss;
            var recreated = nn.functional.interpolate(fake, [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
            Tensor cleanFeatures;
            using (no_grad()) cleanFeatures = features!(x);
            return loss.add(nn.functional.mse_loss(features!(recreated), cleanFeatures).mul(featureScalar), GcSafe.One);
        }
        return Fit(gan, data, options, device, observer, $"srgan|{spec}|{gaussianVariance}|{saltPepper}|{adversarialWeight}|{featureWeight}",
            $"SRGAN ({spec.Name})", x =>
        {
            var target = Upsample(x, spec.Upscale);
            var fake = gan.Generator.forward(Corrupt(x, gaussianVariance, saltPepper));
            var loss = Content(x, fake, target);
            foreach (var p in discriminatorParameters) p.requires_grad_(false);
            var fooled = gan.Discriminator.forward(fake);
            foreach (var p in discriminatorParameters) p.requires_grad_(true);
            loss = loss.add(nn.functional.binary_cross_entropy_with_logits(fooled, ones_like(fooled)).mul(adversarialScalar), GcSafe.One);
            var real = gan.Discriminator.forward(target);
            var generated = gan.Discriminator.forward(fake.detach());
            return loss.add(nn.functional.binary_cross_entropy_with_logits(real, ones_like(real)), GcSafe.One)
                       .add(nn.functional.binary_cross_entropy_with_logits(generated, zeros_like(generated)), GcSafe.One);
        }, x => Content(x, gan.Generator.forward(Corrupt(x, gaussianVariance, saltPepper)), Upsample(x, spec.Upscale)), checkpointDir, resume);
    }

    public static RecreationTrainResult<Inpainter> TrainInpainter(InpainterSpec spec, ImageDataset data, int cell, RecreationTrainOptions options,
        Device device, ITrainingObserver observer, double coverage = 0.1, string? checkpointDir = null, bool resume = false)
    {
        manual_seed(options.Seed);
        var model = new Inpainter(spec);
        Initialize(model, options, "inpainter", spec.ToString());
        model.to(device);
        Tensor Loss(Tensor x)
        {
            var m = RandomMasks(x.shape[0], x.shape[2], x.shape[3], cell, coverage, device);
            return nn.functional.l1_loss(model.forward(cat([x * GcSafe.OneMinus(m), m], 1)), x);
        }
        return Fit(model, data, options, device, observer, $"inpainter|{spec}|{cell}|{coverage}", $"inpainter ({spec.Name}, g={cell})",
            Loss, Loss, checkpointDir, resume);
    }

    /// <summary>Copies the weights of <see cref="RecreationTrainOptions.Init"/>'s network into <paramref name="network"/>
    /// (on the CPU, before it moves to the device), after checking that it is the same kind and architecture.</summary>
    static void Initialize(nn.Module network, RecreationTrainOptions options, string kind, string architecture)
    {
        if (options.Init is not { } dir) return;
        var (trained, card, cardPath) = RecreationModel.LoadNetwork(dir);
        if (card.Kind != kind || card.Architecture != architecture)
            throw new ArgumentException($"--init {dir}: {cardPath} describes a {card.Kind} '{card.Architecture}'; this run trains a {kind} '{architecture}'.", nameof(options));
        using (no_grad()) network.load_state_dict(trained.state_dict());
        trained.Dispose();
    }

    static RecreationTrainResult<TModel> Fit<TModel>(TModel model, ImageDataset data, RecreationTrainOptions options, Device device,
        ITrainingObserver observer, string identity, string what, Func<Tensor, Tensor> loss, Func<Tensor, Tensor> heldOutLoss,
        string? checkpointDir, bool resume)
        where TModel : nn.Module
    {
        options.Validated();
        ImageDataset? heldOut = null;
        if (options.HeldOut > 0) (data, heldOut) = data.HoldOut(options.HeldOut, options.Seed);
        if (data.Count < options.BatchSize)
            throw new ArgumentException($"{data.Count} images{(heldOut != null ? $" (after holding out {heldOut.Count})" : "")} are fewer than one batch of {options.BatchSize}.");
        var state = new TrainingState { OptionsIdentity = options.Identity(identity), DataIdentity = $"{data.Source}|{data.Count}" };
        using var writing = checkpointDir != null ? OutputLock.Take(checkpointDir) : null;
        bool resuming = checkpointDir != null && Checkpoint.Exists(checkpointDir);
        BestWeights? best = null;
        if (resuming)
        {
            if (!resume)
                throw new InvalidOperationException($"{checkpointDir} holds a checkpoint of an earlier run; pass --resume to continue it, or choose another output folder.");
            var saved = Checkpoint.ReadState(checkpointDir!);
            if (saved.OptionsIdentity != state.OptionsIdentity || saved.DataIdentity != state.DataIdentity)
                throw new InvalidOperationException($"{checkpointDir}: the checkpoint was made with '{saved.OptionsIdentity}' on '{saved.DataIdentity}'; this run has '{state.OptionsIdentity}' on '{state.DataIdentity}'. Resume with the same options and data.");
            // As ClassifierTrainer: weights loaded on the CPU, the optimiser made over the parameters on the device.
            model.to(CPU);
            if (saved.BestHeldOutEpoch != null) best = BestWeights.Load(model, BestFile(checkpointDir!));
            state = Checkpoint.LoadWeights(checkpointDir!, model);
            model.to(device);
        }
        var optimizer = new GcSafe.Adam(model.parameters(), options.LearningRate);
        if (resuming)
        {
            Checkpoint.LoadOptimizer(checkpointDir!, optimizer);
            observer.Message($"resuming {what} from {checkpointDir}: epoch {state.Epoch + 1}, step {state.StepInEpoch}");
        }
        double learningRate = options.LearningRate * Math.Pow(0.5, state.LearningRateDrops);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;

        using var images = new DeviceImages(data, device);
        using var heldOutImages = heldOut != null ? new DeviceImages(heldOut, device) : null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double before = state.ElapsedSeconds;
        int steps = data.Count / options.BatchSize;
        long stepsThisRun = 0;
        string? stop = null;
        model.train();
        observer.Message($"training {what} on {data.Count} images, {options.Epochs} epochs" +
                         (heldOut != null ? $"; {heldOut.Count} held out{(options.Patience is { } p ? $", {(options.LearningRateDrops > 0 ? $"halving the learning rate (at most {options.LearningRateDrops} times), then stopping," : "stopping")} after {p} epochs without a lower held-out loss" : "")}" : ""));
        while (state.Epoch < options.Epochs && state.Converged == null && stop == null)
        {
            int epoch = state.Epoch;
            var order = Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray();
            new Random(Seeds.Derive(options.Seed, Seeds.OrderStream, epoch)).Shuffle(order);
            observer.EpochStarted(epoch + 1, options.Epochs, steps, state.StepInEpoch);
            var epochClock = System.Diagnostics.Stopwatch.StartNew();
            int seenBefore = state.EpochSeen;
            for (int step = state.StepInEpoch; step < steps; step++)
            {
                using (var scope = NewDisposeScope())
                {
                    manual_seed(Seeds.Derive(options.Seed, Seeds.AugmentStream, epoch, step)); // this step's noise and masks
                    var (x, _) = images.Batch(order.AsSpan(step * options.BatchSize, options.BatchSize));
                    optimizer.zero_grad();
                    var l = loss(x);
                    l.backward();
                    optimizer.step();
                    state = state with
                    {
                        StepInEpoch = step + 1, GlobalStep = state.GlobalStep + 1,
                        EpochLossSum = state.EpochLossSum + l.item<float>() * options.BatchSize, EpochSeen = state.EpochSeen + options.BatchSize,
                    };
                }
                observer.Step(new StepProgress(epoch + 1, options.Epochs, step + 1, steps, state.EpochLossSum / state.EpochSeen, double.NaN,
                                               (state.EpochSeen - seenBefore) / epochClock.Elapsed.TotalSeconds, learningRate));
                stepsThisRun++;
                if (options.MaxSteps is { } maxSteps && stepsThisRun >= maxSteps) stop = $"step budget of {maxSteps} reached";
                if (options.MaxMinutes is { } max && clock.Elapsed.TotalMinutes >= max) stop = $"time budget of {max} min reached";
                if (options.Interrupt.IsCancellationRequested) stop = "interrupted";
                if (stop != null) break;
            }
            if (state.StepInEpoch == steps)
            {
                double? held = heldOutImages != null ? HeldOutLoss(model, heldOutImages, options, heldOutLoss) : null;
                var summary = new EpochSummary(epoch + 1, state.EpochLossSum / state.EpochSeen, double.NaN, null,
                    (state.EpochSeen - seenBefore) / epochClock.Elapsed.TotalSeconds, epochClock.Elapsed.TotalSeconds, HeldOutLoss: held);
                observer.EpochEnded(summary);
                state = state with { Epoch = epoch + 1, StepInEpoch = 0, EpochLossSum = 0, EpochSeen = 0, History = [.. state.History, summary] };
                if (held is { } h)
                {
                    if (state.BestHeldOutLoss is not { } lowest || h < lowest)
                    {
                        best?.Dispose();
                        best = BestWeights.Of(model, checkpointDir != null ? BestFile(checkpointDir) : null);
                        state = state with { BestHeldOutEpoch = epoch + 1, BestHeldOutLoss = h };
                    }
                    else if (options.Patience is { } patience && epoch + 1 - Math.Max(state.BestHeldOutEpoch!.Value, state.LastDropEpoch ?? 0) >= patience)
                    {
                        string why = $"held-out loss not below epoch {state.BestHeldOutEpoch}'s {state.BestHeldOutLoss:F4} for {patience} epochs";
                        if (state.LearningRateDrops < options.LearningRateDrops)
                        {
                            state = state with { LearningRateDrops = state.LearningRateDrops + 1, LastDropEpoch = epoch + 1 };
                            learningRate = options.LearningRate * Math.Pow(0.5, state.LearningRateDrops);
                            foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
                            observer.Message($"{why}: learning rate halved to {learningRate:G3} (drop {state.LearningRateDrops} of {options.LearningRateDrops})");
                        }
                        else
                        {
                            state = state with { Converged = why + (options.LearningRateDrops > 0 ? $" after {options.LearningRateDrops} learning-rate drops" : "") };
                            observer.Message($"stopping: the {state.Converged}");
                        }
                    }
                }
            }
            if (checkpointDir != null)
                Checkpoint.Save(checkpointDir, model, optimizer, state with { ElapsedSeconds = before + clock.Elapsed.TotalSeconds });
        }
        model.eval();
        state = state with { ElapsedSeconds = before + clock.Elapsed.TotalSeconds };
        bool completed = state.Epoch >= options.Epochs || state.Converged != null;
        int? kept = null;
        if (completed && best != null)
        {
            best.CopyInto(model);
            kept = state.BestHeldOutEpoch;
            best.Dispose();
            observer.Message($"keeping the weights of epoch {kept}, the lowest held-out loss ({state.BestHeldOutLoss:F4})");
        }
        return new RecreationTrainResult<TModel>(model, completed, state, completed ? state.Converged ?? "completed" : stop!, kept);
    }

    /// <summary>The mean per-image loss on the held-out images, in eval mode, each batch's noise or masks drawn from its
    /// own seed so that every epoch is measured on the same corruptions.</summary>
    static double HeldOutLoss(nn.Module model, DeviceImages heldOut, RecreationTrainOptions options, Func<Tensor, Tensor> loss)
    {
        model.eval();
        double sum = 0;
        using (no_grad())
        {
            for (int start = 0, batch = 0; start < heldOut.Count; start += options.BatchSize, batch++)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(options.BatchSize, heldOut.Count - start);
                manual_seed(Seeds.Derive(options.Seed, Seeds.HeldOutStream, batch));
                sum += loss(heldOut.Range(start, n).Images).item<float>() * n;
            }
        }
        model.train();
        return sum / heldOut.Count;
    }

    static string BestFile(string checkpointDir) => Path.Combine(checkpointDir + ".best", "weights.bin");
}
