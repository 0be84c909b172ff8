using CsCheck;

namespace Pdnn.Tests;

/// <summary>
/// Property-based fuzzing with CsCheck: random mutations of real files. Each property states the cases it runs in CI;
/// PDNN_FUZZ_ITERATIONS=N runs every property N times instead (a longer run), and PDNN_FUZZ_SEED replays one failing case
/// (CsCheck prints the seed of the smallest failing case it found).
/// </summary>
public static class Fuzz
{
    /// <summary>The cases to run: <paramref name="ci"/>, or $PDNN_FUZZ_ITERATIONS.</summary>
    public static long Iterations(long ci) =>
        long.TryParse(Environment.GetEnvironmentVariable("PDNN_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : ci;

    public static string? Seed => Environment.GetEnvironmentVariable("PDNN_FUZZ_SEED") is { Length: > 0 } s ? s : null;

    /// <summary>One edit of a file's bytes.</summary>
    public abstract record Mutation
    {
        public abstract byte[] Apply(byte[] bytes);
    }

    public sealed record Flip(double At, byte Mask) : Mutation
    {
        public override byte[] Apply(byte[] b) { var c = (byte[])b.Clone(); if (c.Length > 0) c[Index(At, c.Length)] ^= Mask == 0 ? (byte)1 : Mask; return c; }
    }

    /// <summary>Four bytes set to a boundary value (0, -1, int.MaxValue, int.MinValue, ...), little- or big-endian.</summary>
    public sealed record Word(double At, int Value, bool BigEndian) : Mutation
    {
        public override byte[] Apply(byte[] b)
        {
            var c = (byte[])b.Clone();
            if (c.Length < 4) return c;
            int i = Math.Min(Index(At, c.Length), c.Length - 4);
            var v = BitConverter.GetBytes(Value);
            if (BigEndian) Array.Reverse(v);
            v.CopyTo(c, i);
            return c;
        }
    }

    public sealed record Truncate(double At) : Mutation
    {
        public override byte[] Apply(byte[] b) => b[..Index(At, b.Length)];
    }

    public sealed record Insert(double At, byte[] Bytes) : Mutation
    {
        public override byte[] Apply(byte[] b) { int i = Index(At, b.Length); return [.. b[..i], .. Bytes, .. b[i..]]; }
    }

    public sealed record Delete(double At, int Count) : Mutation
    {
        public override byte[] Apply(byte[] b) { int i = Index(At, b.Length); return [.. b[..i], .. b[Math.Min(b.Length, i + Count)..]]; }
    }

    static int Index(double at, int length) => length == 0 ? 0 : Math.Min(length - 1, (int)(at * length));

    static readonly int[] Boundaries = [0, -1, 1, int.MaxValue, int.MinValue, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 255, 256, 3072, 3073];

    /// <summary>
    /// A position in a file: half the time in its first <paramref name="header"/> bytes (where formats keep what is
    /// parsed), as a fraction of the length.
    /// </summary>
    static Gen<double> Position(int length, int header) =>
        Gen.Frequency((1, Gen.Double[0, 1]), (1, Gen.Double[0, Math.Min(1, (double)header / Math.Max(1, length))]));

    /// <summary>One to three mutations of a file of <paramref name="length"/> bytes.</summary>
    public static Gen<Mutation[]> Mutations(int length, int header = 256, bool inPlaceOnly = false)
    {
        var at = Position(length, header);
        var inPlace = Gen.OneOf<Mutation>(
            Gen.Select(at, Gen.Byte, (a, m) => (Mutation)new Flip(a, m)),
            Gen.Select(at, Gen.OneOf(Boundaries), Gen.Bool, (a, v, be) => (Mutation)new Word(a, v, be)));
        var any = inPlaceOnly ? inPlace : Gen.Frequency(
            (6, inPlace),
            (1, at.Select(a => (Mutation)new Truncate(a))),
            (1, Gen.Select(at, Gen.Byte.Array[1, 16], (a, b) => (Mutation)new Insert(a, b))),
            (1, Gen.Select(at, Gen.Int[1, 64], (a, c) => (Mutation)new Delete(a, c))));
        return any.Array[1, 3];
    }

    public static byte[] Apply(byte[] bytes, Mutation[] mutations) => mutations.Aggregate(bytes, (b, m) => m.Apply(b));
}
