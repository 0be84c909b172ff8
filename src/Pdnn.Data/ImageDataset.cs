namespace Pdnn.Data;

/// <summary>
/// A decoded image data set held as compact bytes: N images of Channels x Height x Width, channel-major (CHW),
/// values 0..255, plus one label per image. Convert to [0,1] floats at the model boundary.
/// </summary>
public sealed class ImageDataset
{
    public ImageDataset(byte[] pixels, int[] labels, IReadOnlyList<string> classNames,
                        int channels, int height, int width, string source)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Image shape must be positive, got {channels}x{height}x{width}.");
        if (pixels.LongLength != (long)labels.Length * channels * height * width)
            throw new ArgumentException(
                $"Pixel buffer holds {pixels.LongLength} bytes but {labels.Length} images of {channels}x{height}x{width} need {(long)labels.Length * channels * height * width}.");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0 || labels[i] >= classNames.Count)
                throw new ArgumentException($"Label {labels[i]} of image {i} is outside the {classNames.Count} classes.");
        Pixels = pixels; Labels = labels; ClassNames = classNames;
        Channels = channels; Height = height; Width = width; Source = source;
    }

    public byte[] Pixels { get; }
    public int[] Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>Where the data came from (path and format), for model cards and reports.</summary>
    public string Source { get; }

    public int Count => Labels.Length;
    public int ImageSize => Channels * Height * Width;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * ImageSize, ImageSize);

    /// <summary>The images at the given indices, in that order.</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices, string? source = null)
    {
        var pixels = new byte[(long)indices.Count * ImageSize];
        var labels = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Image(indices[i]).CopyTo(pixels.AsSpan(i * ImageSize, ImageSize));
            labels[i] = Labels[indices[i]];
        }
        return new ImageDataset(pixels, labels, ClassNames, Channels, Height, Width, source ?? $"{Source} (subset of {indices.Count})");
    }

    /// <summary>n images drawn uniformly at random without replacement (seeded), as the paper samples its 500 test images.</summary>
    public ImageDataset Sample(int n, int seed)
    {
        if (n >= Count) return this;
        var order = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(order);
        return Subset(order[..n], $"{Source} (uniform sample of {n}, seed {seed})");
    }

    /// <summary>
    /// <paramref name="count"/> images held out of training, drawn uniformly (seeded by <paramref name="seed"/>'s held-out
    /// stream), and the rest; both keep this set's order. The same split for the same (count, seed), whatever trains on it.
    /// </summary>
    public (ImageDataset Train, ImageDataset HeldOut) HoldOut(int count, int seed)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"the held-out count must be positive, got {count}.");
        if (count >= Count) throw new ArgumentException($"--held-out {count} leaves no training images (the training set has {Count}).", nameof(count));
        var order = Enumerable.Range(0, Count).ToArray();
        new Random(Seeds.Derive(seed, Seeds.HeldOutStream)).Shuffle(order);
        var heldOut = order.Take(count).Order().ToArray();
        var rest = order.Skip(count).Order().ToArray();
        return (Subset(rest, Source), Subset(heldOut, $"{Source} (held out: {count})"));
    }

    /// <summary>Three channels, replicating a grey channel; models take RGB at every public boundary.</summary>
    public ImageDataset ToRgb()
    {
        if (Channels == 3) return this;
        if (Channels != 1) throw new InvalidOperationException($"Cannot convert {Channels}-channel images to RGB.");
        int plane = Height * Width;
        var rgb = new byte[(long)Count * 3 * plane];
        for (int i = 0; i < Count; i++)
        {
            var grey = Image(i);
            for (int c = 0; c < 3; c++) grey.CopyTo(rgb.AsSpan((i * 3 + c) * plane, plane));
        }
        return new ImageDataset(rgb, Labels, ClassNames, 3, Height, Width, Source);
    }

    public int[] CountPerClass()
    {
        var counts = new int[ClassNames.Count];
        foreach (var l in Labels) counts[l]++;
        return counts;
    }

    /// <summary>Per-channel mean and standard deviation of the pixels scaled to [0,1] (for a model's normalisation layer).</summary>
    public (float[] Mean, float[] Std) ChannelStatistics()
    {
        var sum = new double[Channels];
        var squares = new double[Channels];
        int plane = Height * Width;
        for (int i = 0; i < Count; i++)
            for (int c = 0; c < Channels; c++)
            {
                long s = 0, q = 0;
                foreach (var b in Pixels.AsSpan((i * Channels + c) * plane, plane)) { s += b; q += b * b; }
                sum[c] += s; squares[c] += q;
            }
        double n = (double)Count * plane;
        var mean = sum.Select(s => s / n / 255).ToArray();
        var std = squares.Select((q, c) => Math.Sqrt(Math.Max(0, q / n / (255.0 * 255) - mean[c] * mean[c]))).ToArray();
        return (mean.Select(m => (float)m).ToArray(), std.Select(v => (float)Math.Max(v, 1e-3)).ToArray());
    }
}
