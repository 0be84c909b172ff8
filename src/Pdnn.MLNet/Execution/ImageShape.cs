using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>
/// The shape of the image column every stage reads and writes: a known-size vector of Single holding Channels x Height x
/// Width values, channel-major (what ImageAnalytics' ExtractPixels gives with interleavePixelColors: false), in [0,1].
/// </summary>
public sealed record ImageShape(int Channels, int Height, int Width)
{
    public int Size => Channels * Height * Width;

    public static ImageShape Rgb(int height, int width) => new(3, height, width);

    public override string ToString() => $"{Channels}x{Height}x{Width}";

    public VectorDataViewType ColumnType => new(NumberDataViewType.Single, Size);

    /// <summary>Checks the column exists and has this shape; the error names the column, the expected and the actual type.</summary>
    public int CheckColumn(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Input column '{column}' not found; the input has {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
        if (col.Type is not VectorDataViewType { ItemType: NumberDataViewType n } v || n.RawType != typeof(float) || v.Size != Size)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Schema mismatch for input column '{column}': expected Vector<Single, {Size}> ({this} image in [0,1]), got {col.Type}.");
        return col.Index;
    }

    /// <summary>The estimator-time check: the column exists and is a vector of Single (its size is checked at Fit).</summary>
    public void CheckColumn(SchemaShape schema, string column)
    {
        var col = schema.FirstOrDefault(c => c.Name == column);
        if (col.Name == null)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Input column '{column}' not found.");
        if (col.Kind != SchemaShape.Column.VectorKind.Vector || col.ItemType != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{column}': expected Vector<Single, {Size}> ({this} image in [0,1]), got {col.Kind} of {col.ItemType}.");
    }

    /// <summary>Checks pixel values: finite and in [0,1]. The error names the column, the row and the first offending value.</summary>
    public static void CheckPixels(ReadOnlySpan<float> pixels, string column, long row)
    {
        // The common case, all in range, in SIMD vectors (NaN fails both comparisons); the scalar loop finds the culprit.
        if (pixels.IsEmpty || System.Numerics.Tensors.TensorPrimitives.Min(pixels) >= 0f && System.Numerics.Tensors.TensorPrimitives.Max(pixels) <= 1f) return;
        for (int i = 0; i < pixels.Length; i++)
        {
            float v = pixels[i];
            if (float.IsNaN(v) || float.IsInfinity(v))
                throw new InvalidOperationException($"Column '{column}', row {row}: pixel {i} is {v}; images must be finite values in [0,1].");
            if (v < 0f || v > 1f)
                throw new InvalidOperationException($"Column '{column}', row {row}: pixel {i} is {v}, outside [0,1]; scale pixels to [0,1] (e.g. ExtractPixels with scaleImage: 1/255f).");
        }
    }
}
