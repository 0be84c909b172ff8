using System.Diagnostics;
using Pdnn.Torch.Models;
using Pdnn.Torch.Training.Adversarial;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training;

public sealed record BenchmarkResult(string Architecture, int BatchSize, int Steps, double Seconds, string Recipe = "clean", int ImageSize = 32)
{
    public double ImagesPerSecond => BatchSize * Steps / Seconds;
}

/// <summary>
/// Training throughput: full SGD steps (augmentation, forward, backward, update) on synthetic square images (32x32 unless told), timed after
/// warm-up steps and with the device synchronised at both ends. Pixel values do not change the arithmetic, so synthetic
/// images measure the same work as real ones. With an adversary, each step also crafts its examples (FGSM-RS: one extra
/// forward/backward; PGD-k: k), as adversarial training does. With a recreation, each batch is recreated before the
/// classifier sees it and the adversary crafts through the recreation (the φDNN's training step).
/// </summary>
public static class TrainingBenchmark
{
    static readonly Scalar MaxByte = 255f; // held for the process (GcSafe)

    public static BenchmarkResult Measure(string architecture, int batchSize, int steps, int warmup, Device device, int seed = 0,
                                          AdversarialOptions? adversarial = null, int imageSize = 32,
                                          TrainingPrecision precision = TrainingPrecision.Float32,
                                          Func<Tensor, Tensor>? recreate = null, string? recreationName = null)
    {
        manual_seed(seed);
        var model = new CifarResNet(ResNetSpec.FromName(architecture), 10);
        model.to(device).train();
        var optimizer = new GcSafe.SGD(model.parameters(), 0.05, momentum: 0.9, weightDecay: 5e-4);
        using var images = randint(0, 256, [batchSize, 3, imageSize, imageSize], dtype: ScalarType.Byte, device: device);
        using var labels = randint(0, 10, [batchSize], dtype: ScalarType.Int64, device: device);
        var random = new Random(seed);
        var adversary = adversarial is { Enabled: true } ? new TrainingAdversary(adversarial) : null;
        using var mixed = precision == TrainingPrecision.BFloat16 ? new MixedPrecision(model, ResNetSpec.FromName(architecture), 10, device) : null;
        Func<Tensor, Tensor> classify = mixed != null ? mixed.Forward : model.forward;

        void RunSteps(int count)
        {
            for (int i = 0; i < count; i++)
            {
                using var scope = NewDisposeScope();
                var x = Augmentation.CropAndFlip(images.to(ScalarType.Float32).div_(MaxByte), random, Augmentation.Padding(imageSize));
                mixed?.Load();
                if (adversary == null) ClassifierTrainer.Step(classify, optimizer, ClassifierTrainer.Recreated(x, recreate), labels, 0, mixed);
                else ClassifierTrainer.AdversarialStep(classify, optimizer, adversary, recreate == null ? classify : v => classify(recreate(v)),
                                                       recreate, x, labels, 0, mixed);
            }
            Synchronize(device);
        }

        RunSteps(warmup);
        var clock = Stopwatch.StartNew();
        RunSteps(steps);
        return new BenchmarkResult(architecture, batchSize, steps, clock.Elapsed.TotalSeconds, (adversary?.Options.Describe() ?? "clean") + (recreationName != null ? $" through {recreationName}" : "") + (mixed != null ? ", bfloat16" : ""), imageSize);
    }

    static void Synchronize(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
    }
}
