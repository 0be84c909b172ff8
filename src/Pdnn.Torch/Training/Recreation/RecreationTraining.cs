using Pdnn.Data;
using Pdnn.Torch.Models.Recreation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Recreation;

/// <summary>Options shared by the recreation trainers. Short runs for stand-ins; the full recipes (SRGAN's adversarial and feature losses) are issue 4's.</summary>
public sealed record RecreationTrainOptions
{
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; }
    /// <summary>Stop after this much wall time (the model is returned as it is then).</summary>
    public double? MaxMinutes { get; init; }
}

/// <summary>
/// Minimal trainers for the recreation models with pixel (L1) losses: the SR generator learns noisy 32x32 → clean image
/// upsampled bilinearly to 128x128; the inpainter learns |F(x⊙(1−M), M) − x| for random grid masks covering ~10%.
/// </summary>
public static class RecreationTraining
{
    /// <summary>NSR's δ on a batch: Gaussian noise of the given variance plus salt-and-pepper with probability p each, clamped.</summary>
    public static Tensor Corrupt(Tensor x, double gaussianVariance, double saltPepper, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var noisy = x + randn_like(x) * Math.Sqrt(gaussianVariance);
        var u = rand([x.shape[0], 1, x.shape[2], x.shape[3]], generator: generator, device: x.device);
        noisy = where(u < saltPepper, ones_like(x), where(u < 2 * saltPepper, zeros_like(x), noisy));
        return noisy.clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Random masks of g x g cells, each cell hidden with probability <paramref name="coverage"/>: N x 1 x H x W, 1 = hidden.</summary>
    public static Tensor RandomMasks(long n, long height, long width, int cell, double coverage, Device device)
    {
        using var scope = NewDisposeScope();
        var cells = (rand([n, 1, (height + cell - 1) / cell, (width + cell - 1) / cell], device: device) < coverage).to(ScalarType.Float32);
        return nn.functional.interpolate(cells, scale_factor: [cell, cell], mode: InterpolationMode.Nearest)
            .narrow(2, 0, height).narrow(3, 0, width).MoveToOuterDisposeScope();
    }

    public static SrGenerator TrainSrGenerator(SrGeneratorSpec spec, ImageDataset data, RecreationTrainOptions options, Device device,
                                               ITrainingObserver observer, double gaussianVariance = 0.01, double saltPepper = 0.01)
    {
        manual_seed(options.Seed);
        var model = new SrGenerator(spec);
        model.to(device);
        Fit(model, data, options, device, observer, $"SR generator ({spec.Name})", x =>
        {
            var target = nn.functional.interpolate(x, [x.shape[2] * spec.Upscale, x.shape[3] * spec.Upscale], mode: InterpolationMode.Bilinear, align_corners: false);
            return nn.functional.l1_loss(model.forward(Corrupt(x, gaussianVariance, saltPepper)), target);
        });
        return model;
    }

    public static Inpainter TrainInpainter(InpainterSpec spec, ImageDataset data, int cell, RecreationTrainOptions options, Device device,
                                           ITrainingObserver observer, double coverage = 0.1)
    {
        manual_seed(options.Seed);
        var model = new Inpainter(spec);
        model.to(device);
        Fit(model, data, options, device, observer, $"inpainter ({spec.Name}, g={cell})", x =>
        {
            var m = RandomMasks(x.shape[0], x.shape[2], x.shape[3], cell, coverage, device);
            return nn.functional.l1_loss(model.forward(cat([x * (1 - m), m], 1)), x);
        });
        return model;
    }

    static void Fit(nn.Module model, ImageDataset data, RecreationTrainOptions options, Device device, ITrainingObserver observer,
                    string what, Func<Tensor, Tensor> loss)
    {
        if (data.Count < options.BatchSize)
            throw new ArgumentException($"{data.Count} images are fewer than one batch of {options.BatchSize}.");
        using var images = new DeviceImages(data, device);
        var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int steps = data.Count / options.BatchSize;
        model.train();
        observer.Message($"training {what} on {data.Count} images, {options.Epochs} epochs");
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            var order = Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray();
            new Random(Seeds.Derive(options.Seed, Seeds.OrderStream, epoch)).Shuffle(order);
            observer.EpochStarted(epoch + 1, options.Epochs, steps, 0);
            double sum = 0;
            var epochClock = System.Diagnostics.Stopwatch.StartNew();
            for (int step = 0; step < steps; step++)
            {
                using var scope = NewDisposeScope();
                var (x, _) = images.Batch(order.AsSpan(step * options.BatchSize, options.BatchSize));
                optimizer.zero_grad();
                var l = loss(x);
                l.backward();
                optimizer.step();
                sum += l.item<float>();
                observer.Step(new StepProgress(epoch + 1, options.Epochs, step + 1, steps, sum / (step + 1), double.NaN,
                                               (step + 1) * options.BatchSize / epochClock.Elapsed.TotalSeconds, options.LearningRate));
                if (options.MaxMinutes is { } max && clock.Elapsed.TotalMinutes >= max)
                {
                    observer.Message($"{what}: time budget of {max} min reached in epoch {epoch + 1}");
                    model.eval();
                    return;
                }
            }
            observer.EpochEnded(new EpochSummary(epoch + 1, sum / steps, double.NaN, null, steps * options.BatchSize / epochClock.Elapsed.TotalSeconds, epochClock.Elapsed.TotalSeconds));
        }
        model.eval();
    }
}
