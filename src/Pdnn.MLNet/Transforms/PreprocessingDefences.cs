using Pdnn.Data;
using Pdnn.MLNet.Execution;
using SkiaSharp;

namespace Pdnn.MLNet.Transforms;

/// <summary>
/// Feature squeezing (Xu et al. 2018): reduce each value to <see cref="Bits"/> bits, round(x·(2^b−1))/(2^b−1), then
/// optionally a median filter.
/// </summary>
public sealed class FeatureSqueezeTransformer : ImageToImageTransformer
{
    internal FeatureSqueezeTransformer(string input, string output, ImageShape shape, int bits, int medianWindow, int batchSize)
        : base(input, output, shape, batchSize)
    {
        if (bits is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), $"bit depth must be 1..8, got {bits}.");
        Bits = bits;
        Median = medianWindow > 1 ? new MedianFilter(shape, medianWindow) : null;
    }

    public int Bits { get; }
    MedianFilter? Median { get; }

    public override Persistence.StageDescription Describe() => Description("FeatureSqueeze", OutputColumn) with
    {
        Parameters = new() { ["bits"] = Bits, ["medianWindow"] = Median?.Window ?? 0 },
    };

    protected override void Apply(ReadOnlySpan<float> image, Span<float> output, RowKey row)
    {
        float levels = (1 << Bits) - 1;
        Span<float> squeezed = Median != null ? new float[image.Length] : output;
        for (int i = 0; i < image.Length; i++) squeezed[i] = MathF.Round(image[i] * levels, MidpointRounding.ToEven) / levels;
        Median?.Apply(squeezed, output);
    }
}

/// <summary>Spatial smoothing (Xu et al. 2018): a median filter over a window of k x k pixels, per channel.</summary>
public sealed class SpatialSmoothingTransformer : ImageToImageTransformer
{
    readonly MedianFilter filter;

    internal SpatialSmoothingTransformer(string input, string output, ImageShape shape, int window, int batchSize)
        : base(input, output, shape, batchSize) => filter = new MedianFilter(shape, window);

    public int Window => filter.Window;

    public override Persistence.StageDescription Describe() => Description("SpatialSmoothing", OutputColumn) with
    {
        Parameters = new() { ["window"] = Window },
    };

    protected override void Apply(ReadOnlySpan<float> image, Span<float> output, RowKey row) => filter.Apply(image, output);
}

/// <summary>
/// A k x k median filter with scipy.ndimage.median_filter's conventions: "reflect" borders (d c b a | a b c d | d c b a),
/// the window spanning −⌊k/2⌋ .. k−1−⌊k/2⌋, and for even k the upper of the two middle values.
/// </summary>
sealed class MedianFilter
{
    public MedianFilter(ImageShape shape, int window)
    {
        if (window < 1 || window > Math.Min(shape.Height, shape.Width))
            throw new ArgumentOutOfRangeException(nameof(window), $"median window must be 1..{Math.Min(shape.Height, shape.Width)}, got {window}.");
        Shape = shape;
        Window = window;
    }

    public ImageShape Shape { get; }
    public int Window { get; }

    public void Apply(ReadOnlySpan<float> image, Span<float> output)
    {
        int h = Shape.Height, w = Shape.Width, k = Window, before = k / 2;
        var values = new float[k * k];
        for (int c = 0; c < Shape.Channels; c++)
        {
            var plane = image.Slice(c * h * w, h * w);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int n = 0;
                    for (int dy = -before; dy < k - before; dy++)
                        for (int dx = -before; dx < k - before; dx++)
                            values[n++] = plane[Reflect(y + dy, h) * w + Reflect(x + dx, w)];
                    Array.Sort(values);
                    output[c * h * w + y * w + x] = values[k * k / 2];
                }
        }
    }

    static int Reflect(int i, int size) => i < 0 ? -i - 1 : i >= size ? 2 * size - i - 1 : i;
}

/// <summary>JPEG compression (Das et al. 2017): encode at <see cref="Quality"/> and decode again, with SkiaSharp.</summary>
public sealed class JpegCompressionTransformer : ImageToImageTransformer
{
    internal JpegCompressionTransformer(string input, string output, ImageShape shape, int quality, int batchSize)
        : base(input, output, shape, batchSize)
    {
        if (shape.Channels != 3) throw new ArgumentException($"JPEG compression needs RGB images, got {shape}.");
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), $"JPEG quality must be 1..100, got {quality}.");
        Quality = quality;
    }

    public int Quality { get; }

    public override Persistence.StageDescription Describe() => Description("JpegCompression", OutputColumn) with
    {
        Parameters = new() { ["quality"] = Quality },
    };

    protected override void Apply(ReadOnlySpan<float> image, Span<float> output, RowKey row)
    {
        int h = Shape.Height, w = Shape.Width, plane = h * w;
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = Rgba.FromChw(image, plane);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, Quality);
        using var decoded = SKBitmap.Decode(data, new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul))
            ?? throw new InvalidOperationException("SkiaSharp could not decode the JPEG it had just encoded.");
        var back = decoded.GetPixelSpan();
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) output[c * plane + p] = back[4 * p + c] / 255f;
    }
}
