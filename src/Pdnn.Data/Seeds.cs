namespace Pdnn.Data;

/// <summary>
/// Derives independent, stable seeds from (seed, stream, indices) with SplitMix64. Not HashCode.Combine: that one is
/// randomised per process, which would make runs irreproducible.
/// </summary>
public static class Seeds
{
    public const long OrderStream = 1, AugmentStream = 2, NoiseStream = 3, MaskStream = 4, HeldOutStream = 5, MonitorStream = 6, CopyStream = 7;

    public static int Derive(long seed, long stream, params long[] indices)
    {
        ulong h = Mix((ulong)seed ^ 0x9E3779B97F4A7C15UL * (ulong)(stream + 1));
        foreach (var i in indices) h = Mix(h ^ (ulong)i);
        return (int)(h & 0x7FFFFFFF);
    }

    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
