using Pdnn.Data;
namespace Pdnn.Data;

/// <summary>
/// FIR's K complementary masks: the image is cut into g x g cells, the cells are shuffled (seeded) and dealt into K groups,
/// so the masks never overlap and together cover every pixel exactly once; each covers about 1/K of the image.
/// </summary>
public sealed class MaskSet
{
    MaskSet(int count, int height, int width, byte[] owner)
    {
        Count = count; Height = height; Width = width; this.owner = owner;
    }

    readonly byte[] owner; // owner[p] = the mask that covers pixel p

    public int Count { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>The one mask that covers pixel (row-major index) <paramref name="pixel"/>.</summary>
    public int Owner(int pixel) => owner[pixel];

    /// <summary>Whether mask <paramref name="k"/> covers pixel (row-major index) <paramref name="pixel"/>.</summary>
    public bool Covers(int k, int pixel) => owner[pixel] == k;

    public static MaskSet Draw(int count, int cell, int height, int width, Random random)
    {
        if (count is < 1 or > 255) throw new ArgumentOutOfRangeException(nameof(count), $"mask count must be 1..255, got {count}.");
        if (cell < 1 || cell > Math.Min(height, width)) throw new ArgumentOutOfRangeException(nameof(cell), $"grid cell size must be 1..{Math.Min(height, width)}, got {cell}.");
        int rows = (height + cell - 1) / cell, cols = (width + cell - 1) / cell;
        if (rows * cols < count) throw new ArgumentOutOfRangeException(nameof(count), $"{count} masks need at least {count} cells; a {cell}-pixel grid has {rows * cols}.");
        var cells = Enumerable.Range(0, rows * cols).ToArray();
        random.Shuffle(cells);
        var group = new byte[cells.Length];
        for (int i = 0; i < cells.Length; i++) group[cells[i]] = (byte)(i % count);
        var owner = new byte[height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) owner[y * width + x] = group[y / cell * cols + x / cell];
        return new MaskSet(count, height, width, owner);
    }
}
