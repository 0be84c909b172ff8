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
        if (GaussianVariance < 0) throw new ArgumentOutOfRangeException(nameof(GaussianVariance), $"variance must be >= 0, got {GaussianVariance}.");
        if (SaltProbability < 0 || PepperProbability < 0 || SaltProbability + PepperProbability > 1)
            throw new ArgumentOutOfRangeException(nameof(SaltProbability), $"salt {SaltProbability} and pepper {PepperProbability} must be >= 0 and sum to at most 1.");
        if (ResizeFactor <= 0 || ResizeFactor > 1) throw new ArgumentOutOfRangeException(nameof(ResizeFactor), $"resize factor must be in (0,1], got {ResizeFactor}.");
    }
}

/// <summary>
/// δ: draws fresh noise at every call (training and inference alike); seeded, so a new transformer with the same seed
/// draws the same sequence. Noise is drawn row after row in order, so batching does not change it.
/// </summary>
public sealed class NoisyCorruptTransformer : ImageToImageTransformer
{
    readonly Random random;
    readonly object gate = new();

    internal NoisyCorruptTransformer(string inputColumn, string outputColumn, ImageShape shape, NoiseOptions noise, int seed, int batchSize)
        : base(inputColumn, outputColumn, shape, batchSize)
    {
        noise.Validate();
        Noise = noise;
        Seed = seed;
        random = new Random(seed);
    }

    public NoiseOptions Noise { get; }
    public int Seed { get; }

    protected override void Apply(ReadOnlySpan<float> image, Span<float> output)
    {
        int plane = Shape.Height * Shape.Width;
        if (Noise.ResizeFactor < 1)
        {
            int h = Math.Max(1, (int)Math.Round(Shape.Height * Noise.ResizeFactor)), w = Math.Max(1, (int)Math.Round(Shape.Width * Noise.ResizeFactor));
            var small = new float[Shape.Channels * h * w];
            Bilinear.Resize(image, Shape.Channels, Shape.Height, Shape.Width, small, h, w);
            Bilinear.Resize(small, Shape.Channels, h, w, output, Shape.Height, Shape.Width);
        }
        else image.CopyTo(output);

        lock (gate) // one sequence of draws, row after row
        {
            if (Noise.GaussianVariance > 0 || Noise.GaussianMean != 0)
            {
                double sd = Math.Sqrt(Noise.GaussianVariance);
                for (int i = 0; i < output.Length; i++) output[i] += (float)(Noise.GaussianMean + sd * Gaussian());
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

    /// <summary>A standard normal draw (Box–Muller; both draws of a pair are used).</summary>
    double Gaussian()
    {
        if (spare is { } s) { spare = null; return s; }
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        spare = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    double? spare;
}
