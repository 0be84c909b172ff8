using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;

namespace Pdnn.Evaluation.MLNet;

/// <summary>Reads images and class indices out of a data view; labels may be class names, keys or integer indices.</summary>
static class LabelReader
{
    public static void Check(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Label column '{column}' not found in the input.");
        if (col.Type is not (TextDataViewType or KeyDataViewType) && col.Type.RawType != typeof(int) && col.Type.RawType != typeof(long) && col.Type.RawType != typeof(uint))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Label column '{column}': expected a class name (text), a key or an integer class index, got {col.Type}.");
    }

    /// <summary>
    /// Reads the images and labels of the rows to evaluate: every row, or <paramref name="sampleSize"/> rows drawn uniformly
    /// (seeded, the same draw as ImageDataset.Sample), in evaluation order, with their positions. Only those rows are kept,
    /// their images in a temporary file (one pass over the input; a counting pass first, when the input does not know its
    /// row count), so memory follows neither the input nor the sample.
    /// </summary>
    public static (SampleFile Images, long[] Labels, long[] Rows) Read(IDataView data, string imageColumn, string labelColumn, ImageShape shape,
                                                                    IReadOnlyList<string> classNames, int? sampleSize = null, int seed = 0)
    {
        long total = data.GetRowCount() ?? CountRows(data);
        if (total == 0) throw new InvalidOperationException("the input has no rows to evaluate.");
        if (total > int.MaxValue) throw new InvalidOperationException($"the input has {total} rows; at most {int.MaxValue} can be sampled from.");
        var rows = Enumerable.Range(0, (int)total).ToArray();
        if (sampleSize is int n && n < rows.Length)
        {
            new Random(seed).Shuffle(rows);
            rows = rows[..n];
        }
        var slot = new int[total];
        Array.Fill(slot, -1);
        for (int i = 0; i < rows.Length; i++) slot[rows[i]] = i;

        var image = data.Schema[imageColumn];
        var label = data.Schema[labelColumn];
        var pixels = new float[shape.Size];
        var labels = new long[rows.Length];
        var byName = classNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => (long)p.i);
        using var cursor = data.GetRowCursor([image, label]);
        var imageGetter = cursor.GetGetter<VBuffer<float>>(image);
        var read = LabelGetter(cursor, label, classNames, byName);
        var buffer = default(VBuffer<float>);
        int found = 0;
        var images = new SampleFile(rows.Length, shape.Size);
        try
        {
            while (found < rows.Length && cursor.MoveNext())
            {
                if (cursor.Position >= total || slot[cursor.Position] is not (>= 0 and var at)) continue;
                imageGetter(ref buffer);
                if (buffer.Length != shape.Size)
                    throw new InvalidOperationException($"Column '{imageColumn}', row {cursor.Position}: {buffer.Length} values, expected {shape.Size} ({shape}).");
                buffer.CopyTo(pixels);
                ImageShape.CheckPixels(pixels, imageColumn, cursor.Position);
                long y = read();
                if (y < 0 || y >= classNames.Count)
                    throw new InvalidOperationException($"Column '{labelColumn}', row {cursor.Position}: class {y} is outside 0..{classNames.Count - 1} of the classifier.");
                images.Write(at, pixels);
                labels[at] = y;
                found++;
            }
            if (found < rows.Length) throw new InvalidOperationException($"the input gave {found} of the {rows.Length} rows it counted.");
        }
        catch
        {
            images.Dispose();
            throw;
        }
        return (images, labels, rows.Select(r => (long)r).ToArray());
    }

    static long CountRows(IDataView data)
    {
        long count = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext()) count++;
        return count;
    }

    static Func<long> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column label, IReadOnlyList<string> classNames, Dictionary<string, long> byName)
    {
        long Name(string text, long row) => byName.TryGetValue(text, out var i) ? i
            : throw new InvalidOperationException($"Column '{label.Name}', row {row}: '{text}' is not a class of the classifier ({string.Join(", ", classNames)}).");
        switch (label.Type)
        {
            case TextDataViewType:
            {
                var get = cursor.GetGetter<ReadOnlyMemory<char>>(label);
                ReadOnlyMemory<char> v = default;
                return () => { get(ref v); return Name(v.ToString(), cursor.Position); };
            }
            case KeyDataViewType:
            {
                var get = cursor.GetGetter<uint>(label);
                var names = default(VBuffer<ReadOnlyMemory<char>>);
                bool named = label.HasKeyValues();
                if (named) label.GetKeyValues(ref names);
                var keyNames = named ? names.DenseValues().Select(n => n.ToString()).ToArray() : null;
                uint v = 0;
                return () =>
                {
                    get(ref v);
                    if (v == 0) throw new InvalidOperationException($"Column '{label.Name}', row {cursor.Position}: missing label (key 0).");
                    return keyNames != null ? Name(keyNames[v - 1], cursor.Position) : v - 1;
                };
            }
            default:
                if (label.Type.RawType == typeof(int)) { var get = cursor.GetGetter<int>(label); int v = 0; return () => { get(ref v); return v; }; }
                if (label.Type.RawType == typeof(uint)) { var get = cursor.GetGetter<uint>(label); uint v = 0; return () => { get(ref v); return v; }; }
                { var get = cursor.GetGetter<long>(label); long v = 0; return () => { get(ref v); return v; }; }
        }
    }
}
