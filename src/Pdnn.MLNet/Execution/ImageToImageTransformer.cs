using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>A stage that maps each image to an image of the same shape (noise, squeezing, smoothing, JPEG).</summary>
public abstract class ImageToImageTransformer(string inputColumn, string outputColumn, ImageShape shape, int batchSize)
    : BatchedImageTransformer(inputColumn, shape, batchSize)
{
    public string OutputColumn { get; } = outputColumn;
    public override IReadOnlyList<OutputColumn> Outputs => [Execution.OutputColumn.Vector(OutputColumn, Shape.Size)];

    /// <summary>Transforms one image (CHW, [0,1]) into <paramref name="output"/>; stages that run a model per batch override ComputeBatch instead.</summary>
    protected virtual void Apply(ReadOnlySpan<float> image, Span<float> output, RowKey row) =>
        throw new NotSupportedException($"{GetType().Name} computes whole batches.");

    protected internal override void ComputeBatch(float[] images, int count, Array[] outputs, RowKey first)
    {
        var output = (float[])outputs[0];
        int size = Shape.Size;
        for (int i = 0; i < count; i++) Apply(images.AsSpan(i * size, size), output.AsSpan(i * size, size), first with { Row = first.Row + i });
    }
}

/// <summary>The estimator of an image-to-image stage: nothing to learn, so Fit checks the column and builds the transformer.</summary>
public sealed class ImageToImageEstimator<TTransformer>(string inputColumn, string outputColumn, ImageShape shape, Func<TTransformer> create)
    : IEstimator<TTransformer> where TTransformer : ImageToImageTransformer
{
    public TTransformer Fit(IDataView input)
    {
        shape.CheckColumn(input.Schema, inputColumn);
        return create();
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        shape.CheckColumn(inputSchema, inputColumn);
        return SchemaShapes.With(inputSchema, (outputColumn, shape.ColumnType));
    }
}
