namespace Pdnn.Data.Readers;

/// <summary>
/// Bounds the readers hold a data file to, so that a hostile or damaged file is refused (naming it) instead of exhausting
/// memory: compressed data (IDX .gz, SVHN .mat elements) may inflate at most <see cref="MaxInflateRatio"/> times once past
/// 1 MiB (real data sets inflate 1.2–5x), and an image file may declare at most <see cref="MaxImagePixels"/> pixels
/// (checked from its header, before decoding).
/// </summary>
public static class ReaderLimits
{
    public static double MaxInflateRatio { get; set; } = 100;
    public static long MaxImagePixels { get; set; } = 100_000_000;

    /// <summary>Inflates <paramref name="compressed"/> with <paramref name="open"/>, to at most <paramref name="limit"/> bytes.</summary>
    internal static byte[] Inflate(string file, Stream compressed, long compressedBytes, long limit, Func<Stream, Stream> open, string what)
    {
        long ratioLimit = Math.Max(1L << 20, (long)(MaxInflateRatio * compressedBytes));
        long cap = Math.Min(Math.Min(limit, ratioLimit), Array.MaxLength);
        var chunks = new List<byte[]>();
        long total = 0;
        try
        {
            using var inflater = open(compressed);
            while (true)
            {
                var chunk = new byte[(int)Math.Min(1 << 20, cap + 1 - total)];
                int n = inflater.ReadAtLeast(chunk, chunk.Length, throwOnEndOfStream: false);
                if (n == 0) break;
                chunks.Add(n == chunk.Length ? chunk : chunk[..n]);
                total += n;
                if (total > cap)
                    throw new DataFormatException(file, total > ratioLimit
                        ? $"{what} inflates more than {MaxInflateRatio}x its {compressedBytes:N0} bytes (ReaderLimits.MaxInflateRatio): a decompression bomb?"
                        : $"{what} inflates to more than the {Math.Min(limit, (long)Array.MaxLength):N0} bytes it declares.");
                if (n < chunk.Length) break;
            }
        }
        catch (InvalidDataException e) { throw new DataFormatException(file, $"corrupt {what} (it does not inflate: {e.Message}).", e); }
        var result = new byte[total];
        long at = 0;
        foreach (var c in chunks) { c.CopyTo(result, at); at += c.Length; }
        return result;
    }
}
