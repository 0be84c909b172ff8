namespace Pdnn.Data;

/// <summary>Conversions between CHW float images in [0,1] and the interleaved RGBA bytes that SkiaSharp draws and encodes.</summary>
public static class Rgba
{
    /// <summary>Opaque RGBA bytes (4 per pixel) from a 3-channel CHW image of <paramref name="plane"/> pixels, rounded and clamped.</summary>
    public static byte[] FromChw(ReadOnlySpan<float> chw, int plane)
    {
        var rgba = new byte[4 * plane];
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < 3; c++) rgba[4 * p + c] = (byte)Math.Clamp(MathF.Round(chw[c * plane + p] * 255f), 0, 255);
            rgba[4 * p + 3] = 255;
        }
        return rgba;
    }
}
