using SkiaSharp;

namespace RobustService;

/// <summary>The answer to POST /classify.</summary>
/// <param name="Label">The predicted class.</param>
/// <param name="Scores">Each class's probability, in the model's class order.</param>
/// <param name="Recreation">The image the classifier saw (NSR: the super-resolved noisy input), a 32x32 PNG as a data URL.</param>
public sealed record Classification(string Label, Dictionary<string, float> Scores, string Recreation)
{
    public static Classification From(ChainOutput output, IReadOnlyList<string> classNames)
    {
        int index = (int)output.PredictedLabel - 1; // ML.NET keys are 1-based
        var scores = classNames.Select((n, i) => (n, output.Score[i])).ToDictionary(p => p.n, p => p.Item2);
        return new Classification(classNames[index], scores, "data:image/png;base64," + Convert.ToBase64String(Png(output.Image, ServedModel.Side)));
    }

    /// <summary>A 3 x side x side channel-major image in [0,1] as PNG bytes.</summary>
    public static byte[] Png(float[] chw, int side)
    {
        var pixels = new byte[4 * side * side];
        int plane = side * side;
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < 3; c++) pixels[4 * p + c] = (byte)Math.Clamp(MathF.Round(chw[c * plane + p] * 255f), 0, 255);
            pixels[4 * p + 3] = 255;
        }
        using var image = SKImage.FromPixelCopy(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque), pixels);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
