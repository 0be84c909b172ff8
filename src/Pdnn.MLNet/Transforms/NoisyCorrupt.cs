using Pdnn.Data;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Transforms;

/// <summary>
/// The corruptions of NSR's δ (paper, Table 3), applied in this order when set, then clamped to [0,1]:
/// a bilinear down-and-up resize, additive Gaussian noise, and salt-and-pepper ("Panda") noise that turns whole pixels
/// white or black.
/// </summary>
public sealed record NoiseOptions
{
    public double GaussianMean { get; init; }
    /// <summary>Variance of the additive Gaussian noise (the paper's 0.01), in [0,1]-pixel units.</summary>
    public double GaussianVariance { get; init; }
    /// <summary>Probability that a pixel turns white (all channels 1).</summary>
    public double SaltProbability { get; init; }
    /// <summary>Probability that a pixel turns black (all channels 0).</summary>
    public double PepperProbability { get; init; }
    /// <summary>Down-and-up resize factor in (0,1]: 0.5 resizes 32x32 to 16x16 and back, bilinearly. 1: off.</summary>
    public double ResizeFactor { get; init; } = 1;

    public void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(GaussianMean), GaussianMean), (nameof(GaussianVariance), GaussianVariance), (nameof(SaltProbability), SaltProbability),
                                              (nameof(PepperProbability), PepperProbability), (nameof(ResizeFactor), ResizeFactor) })
            if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, $"{name} must be a finite number, got {value}.");
        if (GaussianVariance < 0) throw new ArgumentOutOfRangeException(nameof(GaussianVariance), $"variance must be >= 0, got {GaussianVariance}.");
        if (SaltProbability < 0 || PepperProbability < 0 || SaltProbability + PepperProbability > 1)
            throw new ArgumentOutOfRangeException(nameof(SaltProbability), $"salt {SaltProbability} and pepper {PepperProbability} must be >= 0 and sum to at most 1.");
        if (ResizeFactor <= 0 || ResizeFactor > 1) throw new ArgumentOutOfRangeException(nameof(ResizeFactor), $"resize factor must be in (0,1], got {ResizeFactor}.");
    }
}

/// <summary>
/// δ: draws fresh noise at every call (each Transform, each PredictionEngine prediction), in training and inference alike.
/// The noise of a row is a function of (seed, call, row position): batching does not change it, every cursor over one
/// transformed view sees the same noisy image, and a new (or reloaded) transformer with the same seed repeats the calls.
/// With <see cref="RandomnessKey.PerImage"/> it is a function of (seed, image content) instead: repeatable answers when serving.
/// </summary>
public sealed class NoisyCorruptTransformer : ImageToImageTransformer
{

    internal NoisyCorruptTransformer(string inputColumn, string outputColumn, ImageShape shape, NoiseOptions noise, int seed, int batchSize,
                                     RandomnessKey randomness = RandomnessKey.PerCall)
        : base(inputColumn, outputColumn, shape, batchSize)
    {
        noise.Validate();
        Noise = noise;
        Seed = seed;
        Randomness = randomness;
    }

    public NoiseOptions Noise { get; }
    public int Seed { get; }
    public RandomnessKey Randomness { get; }

    public override Persistence.StageDescription Describe() => Description("NoisyCorrupt", OutputColumn) with
    {
        Parameters = new()
        {
            ["gaussianMean"] = Noise.GaussianMean, ["gaussianVariance"] = Noise.GaussianVariance, ["salt"] = Noise.SaltProbability,
            ["pepper"] = Noise.PepperProbability, ["resizeFactor"] = Noise.ResizeFactor, ["seed"] = Seed,
            ["randomness"] = (double)Randomness,
        },
    };

    protected override void Apply(ReadOnlySpan<float> image, Span<float> output, RowKey row)
    {
        var random = row.For(image, Randomness).Random(Seed, Seeds.NoiseStream, 0);
        int plane = Shape.Height * Shape.Width;
        if (Noise.ResizeFactor < 1)
        {
            int h = Math.Max(1, (int)Math.Round(Shape.Height * Noise.ResizeFactor)), w = Math.Max(1, (int)Math.Round(Shape.Width * Noise.ResizeFactor));
            var small = new float[Shape.Channels * h * w];
            Bilinear.Resize(image, Shape.Channels, Shape.Height, Shape.Width, small, h, w);
            Bilinear.Resize(small, Shape.Channels, h, w, output, Shape.Height, Shape.Width);
        }
        else image.CopyTo(output);

        {
            if (Noise.GaussianVariance > 0 || Noise.GaussianMean != 0)
            {
                double sd = Math.Sqrt(Noise.GaussianVariance);
                for (int i = 0; i < output.Length; i += 2)
                {
                    var (z0, z1) = GaussianPair(random);
                    output[i] += (float)(Noise.GaussianMean + sd * z0);
                    if (i + 1 < output.Length) output[i + 1] += (float)(Noise.GaussianMean + sd * z1);
                }
            }
            if (Noise.SaltProbability > 0 || Noise.PepperProbability > 0)
                for (int p = 0; p < plane; p++)
                {
                    double u = random.NextDouble();
                    float? value = u < Noise.SaltProbability ? 1f : u < Noise.SaltProbability + Noise.PepperProbability ? 0f : null;
                    if (value is { } v) for (int c = 0; c < Shape.Channels; c++) output[c * plane + p] = v;
                }
        }
        for (int i = 0; i < output.Length; i++) output[i] = Math.Clamp(output[i], 0f, 1f);
    }

    /// <summary>Two independent standard normal draws (Box–Muller).</summary>
    static (double, double) GaussianPair(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        return (r * Math.Cos(2 * Math.PI * u2), r * Math.Sin(2 * Math.PI * u2));
    }
}
