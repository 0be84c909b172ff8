using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>
/// The base of every stage: reads an image column (<see cref="ImageShape"/>), checks it, and computes its output columns
/// for mini-batches of rows at once (one model call per batch, not per row). As an <see cref="IDataView"/> it reads
/// ahead a batch; as a row-to-row mapper (PredictionEngine) it computes one row at a time.
/// </summary>
public abstract class BatchedImageTransformer : ITransformer
{
    protected BatchedImageTransformer(string inputColumn, ImageShape shape, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be at least 1, got {batchSize}.");
        if ((long)batchSize * shape.Size > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} of {shape} images needs {(long)batchSize * shape.Size:N0} values, more than one array holds ({Array.MaxLength:N0}).");
        InputColumn = inputColumn;
        Shape = shape;
        BatchSize = batchSize;
    }

    public string InputColumn { get; }
    public ImageShape Shape { get; }
    public int BatchSize { get; }

    /// <summary>The columns this stage adds (a column of the same name in the input is hidden, as in ML.NET).</summary>
    public abstract IReadOnlyList<OutputColumn> Outputs { get; }

    /// <summary>The stage as data, for saving (see <see cref="Persistence.PdnnModelFile"/>).</summary>
    public abstract Persistence.StageDescription Describe();

    /// <summary>
    /// Computes the outputs of <paramref name="count"/> images (count x Shape.Size floats, already checked) into
    /// <paramref name="outputs"/>. <paramref name="first"/> identifies the first image: the call and its row position.
    /// </summary>
    protected internal abstract void ComputeBatch(float[] images, int count, Array[] outputs, RowKey first);

    long calls;

    /// <summary>
    /// The stage's outputs for <paramref name="count"/> images held in one array (count x C·H·W, [0,1]), outside any
    /// IDataView, as a new call: how a white-box twin runs a stage exactly as deployed (BPDA's forward pass).
    /// </summary>
    public Array[] ComputeImages(float[] images, int count)
    {
        if (images.Length != count * Shape.Size)
            throw new ArgumentException($"{images.Length} values for {count} images of {Shape} ({count * Shape.Size} expected).", nameof(images));
        for (int i = 0; i < count; i++) ImageShape.CheckPixels(images.AsSpan(i * Shape.Size, Shape.Size), InputColumn, i);
        var outputs = Outputs.Select(o => o.NewBuffer(count)).ToArray();
        ComputeBatch(images, count, outputs, new RowKey(NextCall(), 0));
        return outputs;
    }

    /// <summary>A new call index: every Transform, and every row a PredictionEngine computes, is a call of its own.</summary>
    internal long NextCall() => Interlocked.Increment(ref calls);

    /// <summary>
    /// Makes <paramref name="next"/> the index of the next call, so that the draws of a random stage from then on do not
    /// depend on the calls made before: how an evaluation that can be resumed or split gives each unit of work its own draws.
    /// </summary>
    public void ContinueCallsFrom(long next) => Interlocked.Exchange(ref calls, next - 1);

    public bool IsRowToRowMapper => true;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Shape.CheckColumn(inputSchema, InputColumn);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        foreach (var o in Outputs) builder.AddColumn(o.Name, o.Type, o.Annotations);
        return builder.ToSchema();
    }

    public IDataView Transform(IDataView input) => new BatchedDataView(this, input, GetOutputSchema(input.Schema));

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new RowMapper(this, inputSchema, GetOutputSchema(inputSchema));

    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"{GetType().Name} cannot be saved with mlContext.Model.Save: ML.NET keeps ModelSaveContext internal to its own assemblies. " +
        "Save the model with mlContext.Model.SavePdnn(model, schema, path) and load it with mlContext.Model.LoadPdnn(path, out schema).");

    /// <summary>The common part of every description.</summary>
    internal Persistence.StageDescription Description(string kind, params string[] outputs) => new()
    {
        Kind = kind, InputColumn = InputColumn, OutputColumns = outputs, Shape = [Shape.Channels, Shape.Height, Shape.Width], BatchSize = BatchSize,
    };

    /// <summary>Reads one checked image from the getter into <paramref name="images"/> at row slot <paramref name="slot"/>.</summary>
    internal void ReadImage(ValueGetter<VBuffer<float>> getter, ref VBuffer<float> scratch, float[] images, int slot, long row)
    {
        getter(ref scratch);
        if (scratch.Length != Shape.Size)
            throw new InvalidOperationException($"Column '{InputColumn}', row {row}: {scratch.Length} values, expected {Shape.Size} ({Shape}).");
        var target = images.AsSpan(slot * Shape.Size, Shape.Size);
        scratch.CopyTo(target);
        ImageShape.CheckPixels(target, InputColumn, row);
    }

    /// <summary>One row at a time, for PredictionEngine and other row-to-row consumers.</summary>
    sealed class RowMapper(BatchedImageTransformer parent, DataViewSchema inputSchema, DataViewSchema outputSchema) : IRowToRowMapper
    {
        public DataViewSchema InputSchema => inputSchema;
        public DataViewSchema OutputSchema => outputSchema;

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var wanted = dependingColumns.Select(c => c.Index).ToHashSet();
            var needImage = Enumerable.Range(inputSchema.Count, parent.Outputs.Count).Any(wanted.Contains);
            return inputSchema.Where(c => wanted.Contains(c.Index) || (needImage && c.Name == parent.InputColumn && !c.IsHidden));
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
            new MappedRow(parent, input, outputSchema, activeColumns.Select(c => c.Index).ToHashSet());
    }

    sealed class MappedRow : DataViewRow
    {
        readonly BatchedImageTransformer parent;
        readonly DataViewRow input;
        readonly HashSet<int> active;
        readonly Array[] outputs;
        readonly float[] image;
        readonly ValueGetter<VBuffer<float>>? imageGetter;
        VBuffer<float> scratch;
        long computedAt = -1;

        public MappedRow(BatchedImageTransformer parent, DataViewRow input, DataViewSchema schema, HashSet<int> active)
        {
            this.parent = parent; this.input = input; this.active = active; Schema = schema;
            outputs = parent.Outputs.Select(o => o.NewBuffer(1)).ToArray();
            image = new float[parent.Shape.Size];
            if (Enumerable.Range(input.Schema.Count, parent.Outputs.Count).Any(active.Contains))
                imageGetter = input.GetGetter<VBuffer<float>>(input.Schema[parent.InputColumn]);
        }

        public override DataViewSchema Schema { get; }
        public override long Position => input.Position;
        public override long Batch => input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < input.Schema.Count) return input.GetGetter<TValue>(input.Schema[column.Index]);
            int k = column.Index - input.Schema.Count;
            return (ValueGetter<TValue>)parent.Outputs[k].Getter(() => { Compute(); return outputs[k]; }, () => 0);
        }

        void Compute()
        {
            if (computedAt == input.Position) return;
            parent.ReadImage(imageGetter!, ref scratch, image, 0, input.Position);
            parent.ComputeBatch(image, 1, outputs, new RowKey(parent.NextCall(), 0));
            computedAt = input.Position;
        }
    }
}
