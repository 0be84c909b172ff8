using System.Buffers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>
/// The output of a <see cref="BatchedImageTransformer"/>: the input's columns plus the stage's outputs, computed a batch
/// at a time. A look-ahead cursor reads only the image column of the next batch; the main cursor serves the input's
/// other columns row by row, so no column needs buffering. The image column itself, when asked for beside the outputs
/// (a recreation read with the scores, say), is served from the batch already read: a second cursor for it would run
/// every stage above this one a second time (and re-read inputs, such as an in-memory MLImage, that a stage upstream
/// may have disposed after the first read).
/// </summary>
sealed class BatchedDataView(BatchedImageTransformer parent, IDataView input, DataViewSchema schema) : IDataView
{
    // One call index for the whole view, taken when it is first read (a view made but never read, as estimator chains do
    // while fitting, is no call): every cursor over it sees the same random draws for the same row.
    readonly Lazy<long> call = new(parent.NextCall);

    public DataViewSchema Schema => schema;
    public bool CanShuffle => false;
    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool outputsNeeded = Enumerable.Range(input.Schema.Count, parent.Outputs.Count).Any(needed.Contains);
        int image = input.Schema[parent.InputColumn].Index;
        bool imageFromBatch = outputsNeeded && needed.Contains(image);
        var passThrough = input.Schema.Where(c => needed.Contains(c.Index) && !(imageFromBatch && c.Index == image));
        return new Cursor(parent, input, schema, needed, input.GetRowCursor(passThrough), outputsNeeded, call.Value, imageFromBatch ? image : -1);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    sealed class Cursor : DataViewRowCursor
    {
        readonly BatchedImageTransformer parent;
        readonly DataViewRowCursor main;
        readonly DataViewRowCursor? lookahead;
        readonly ValueGetter<VBuffer<float>>? imageGetter;
        readonly HashSet<int> active;
        readonly Array[] outputs;
        readonly float[] images;
        VBuffer<float> scratch;
        int batchCount, slot = -1;
        readonly long call;
        readonly int imageFromBatch; // the input image column's index when it is served from the batch, else -1
        bool disposed;

        public Cursor(BatchedImageTransformer parent, IDataView input, DataViewSchema schema, HashSet<int> active,
                      DataViewRowCursor main, bool outputsNeeded, long call, int imageFromBatch)
        {
            this.call = call;
            this.imageFromBatch = imageFromBatch;
            this.parent = parent; this.main = main; this.active = active; Schema = schema;
            // Rented, not allocated: a Transform over a few rows (a service's batch) would otherwise leave a batch's worth
            // of large arrays per stage to the garbage collector at every call.
            outputs = outputsNeeded ? parent.Outputs.Select(o => o.RentBuffer(parent.BatchSize)).ToArray() : [];
            images = outputsNeeded ? ArrayPool<float>.Shared.Rent(parent.BatchSize * parent.Shape.Size) : [];
            if (outputsNeeded)
            {
                var imageColumn = input.Schema[parent.InputColumn];
                lookahead = input.GetRowCursor([imageColumn]);
                imageGetter = lookahead.GetGetter<VBuffer<float>>(imageColumn);
            }
        }

        public override DataViewSchema Schema { get; }
        public override long Position => main.Position;
        public override long Batch => main.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => main.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override bool MoveNext()
        {
            if (!main.MoveNext()) return false;
            if (lookahead != null && ++slot >= batchCount) FillBatch();
            return true;
        }

        /// <summary>Reads the next batch of images with the look-ahead cursor and computes the outputs for all of them.</summary>
        void FillBatch()
        {
            int count = 0;
            long firstRow = lookahead!.Position + 1;
            while (count < parent.BatchSize && lookahead!.MoveNext())
                parent.ReadImage(imageGetter!, ref scratch, images, count++, lookahead.Position);
            if (count == 0) throw new InvalidOperationException("the look-ahead cursor ended before the main cursor.");
            parent.ComputeBatch(images, count, outputs, new RowKey(call, firstRow));
            batchCount = count;
            slot = 0;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active.Contains(column.Index))
                throw new InvalidOperationException($"Column '{column.Name}' was not asked for when the cursor was made; a getter is only given for active columns.");
            int inputCount = Schema.Count - parent.Outputs.Count;
            if (column.Index == imageFromBatch)
                return (ValueGetter<TValue>)OutputColumn.Vector(parent.InputColumn, parent.Shape.Size).Getter(() => images, () => slot);
            if (column.Index < inputCount) return main.GetGetter<TValue>(main.Schema[column.Index]);
            int k = column.Index - inputCount;
            return (ValueGetter<TValue>)parent.Outputs[k].Getter(() => outputs[k], () => slot);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !disposed)
            {
                disposed = true;
                main.Dispose();
                lookahead?.Dispose();
                if (images.Length > 0) ArrayPool<float>.Shared.Return(images);
                for (int k = 0; k < outputs.Length; k++) parent.Outputs[k].ReturnBuffer(outputs[k]);
            }
            base.Dispose(disposing);
        }
    }
}
