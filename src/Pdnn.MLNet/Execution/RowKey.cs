using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Pdnn.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>What the draws of a random stage (noise, redrawn masks) are a function of.</summary>
public enum RandomnessKey
{
    /// <summary>(seed, call, row): fresh draws at every Transform and every prediction, the paper's setting.</summary>
    PerCall,
    /// <summary>
    /// (seed, image content): the same image always gets the same draws, whatever the call, the batch, the order or the
    /// thread; different images get independent ones. For serving, where an answer must be repeatable (and cacheable).
    /// An attacker who changes the image changes the draws, so EOT-style attacks see the same distribution.
    /// </summary>
    PerImage,
}

/// <summary>Which row of which call a value is computed for; random stages derive their draws from it.</summary>
public readonly record struct RowKey(long Call, long Row)
{
    /// <summary>A generator for this row: a function of (seed, stream, call, row, index) only.</summary>
    public Random Random(int seed, long stream, long index) => new(Seeds.Derive(seed, stream, Call, Row, index));

    /// <summary>
    /// The key of an image's content (SHA-256 of its float values); its Row, -1, is one no call's row takes, so
    /// content keys never meet call keys.
    /// </summary>
    public static RowKey OfImage(ReadOnlySpan<float> image)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(image), hash);
        return new RowKey(BitConverter.ToInt64(hash), -1);
    }

    /// <summary>The key to draw with for <paramref name="image"/>: this one, or the image's under <see cref="RandomnessKey.PerImage"/>.</summary>
    public RowKey For(ReadOnlySpan<float> image, RandomnessKey key) => key == RandomnessKey.PerImage ? OfImage(image) : this;
}
