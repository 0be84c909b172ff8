using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Training;

/// <summary>
/// Reads an image column and a label column of an IDataView into an <see cref="ImageDataset"/>, the form the TorchSharp
/// trainer takes. The images are stored as 8-bit values, as every data set of the trainer is (a recreation's values move
/// by at most 1/510). Errors name the column, the row and what was wrong.
/// </summary>
static class LabeledImages
{
    public static ImageDataset Read(IDataView data, string imageColumn, string labelColumn, ImageShape shape)
    {
        var image = data.Schema[shape.CheckColumn(data.Schema, imageColumn)];
        var label = data.Schema.GetColumnOrNull(labelColumn)
            ?? throw new ArgumentOutOfRangeException(nameof(data), $"Label column '{labelColumn}' not found; the input has {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
        var labels = LabelReader.For(label);

        var pixels = new List<byte[]>();
        var classes = new List<int>();
        using var cursor = data.GetRowCursor([image, label]);
        var getImage = cursor.GetGetter<VBuffer<float>>(image);
        var getLabel = labels.Getter(cursor);
        VBuffer<float> buffer = default;
        long row = 0;
        while (cursor.MoveNext())
        {
            getImage(ref buffer);
            var values = buffer.DenseValues().ToArray();
            ImageShape.CheckPixels(values, imageColumn, row);
            var bytes = new byte[values.Length];
            for (int i = 0; i < values.Length; i++) bytes[i] = (byte)MathF.Round(values[i] * 255f);
            pixels.Add(bytes);
            classes.Add(getLabel(row));
            row++;
        }
        if (row == 0) throw new ArgumentException($"The training data is empty: no rows in columns '{imageColumn}' and '{labelColumn}'.", nameof(data));

        var (names, indices) = labels.Finish(classes);
        if (names.Count < 2) throw new ArgumentException($"Label column '{labelColumn}' has {names.Count} class; a classifier needs at least 2.", nameof(data));
        var all = new byte[(long)pixels.Count * shape.Size];
        for (int i = 0; i < pixels.Count; i++) pixels[i].CopyTo(all, (long)i * shape.Size);
        return new ImageDataset(all, indices, names, shape.Channels, shape.Height, shape.Width,
                                $"ML.NET columns '{imageColumn}' and '{labelColumn}' ({row} rows)");
    }

    /// <summary>How a label column's values become class indices and names: a key (with or without key values), or text.</summary>
    abstract class LabelReader
    {
        public abstract Func<long, int> Getter(DataViewRowCursor cursor);
        /// <summary>The class names and each row's class index, once every row has been read.</summary>
        public abstract (IReadOnlyList<string> Names, int[] Indices) Finish(List<int> raw);

        public static LabelReader For(DataViewSchema.Column column) => column.Type switch
        {
            KeyDataViewType key when key.RawType == typeof(uint) => new KeyLabels(column, key),
            TextDataViewType => new TextLabels(column),
            _ => throw new ArgumentOutOfRangeException(nameof(column),
                $"Schema mismatch for label column '{column.Name}': expected a key (Key<UInt32>, e.g. from MapValueToKey) or text (the class name), got {column.Type}."),
        };
    }

    sealed class KeyLabels(DataViewSchema.Column column, KeyDataViewType key) : LabelReader
    {
        public override Func<long, int> Getter(DataViewRowCursor cursor)
        {
            var get = cursor.GetGetter<uint>(column);
            uint value = 0;
            return row =>
            {
                get(ref value);
                if (value == 0) throw new InvalidOperationException($"Label column '{column.Name}', row {row}: the label is missing (key 0).");
                return (int)value - 1;
            };
        }

        /// <summary>The key values (MapValueToKey keeps the class names there), in key order; else the key numbers.</summary>
        public override (IReadOnlyList<string>, int[]) Finish(List<int> raw)
        {
            if (key.Count == 0 || key.Count > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(raw), $"Label column '{column.Name}' is a key without a known count; map it with MapValueToKey.");
            if (!column.HasKeyValues())
                return ([.. Enumerable.Range(1, (int)key.Count).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture))], [.. raw]);
            VBuffer<ReadOnlyMemory<char>> values = default;
            column.GetKeyValues(ref values);
            return ([.. values.DenseValues().Select(v => v.ToString())], [.. raw]);
        }
    }

    /// <summary>Text labels: the classes are the distinct names in ordinal order (as ImageFolder sorts class folders).</summary>
    sealed class TextLabels(DataViewSchema.Column column) : LabelReader
    {
        readonly Dictionary<string, int> seen = new(StringComparer.Ordinal);

        public override Func<long, int> Getter(DataViewRowCursor cursor)
        {
            var get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> value = default;
            return row =>
            {
                get(ref value);
                var name = value.ToString();
                if (name.Length == 0) throw new InvalidOperationException($"Label column '{column.Name}', row {row}: the label is empty.");
                if (!seen.TryGetValue(name, out var index)) seen[name] = index = seen.Count;
                return index;
            };
        }

        public override (IReadOnlyList<string>, int[]) Finish(List<int> raw)
        {
            string[] sorted = [.. seen.Keys.Order(StringComparer.Ordinal)];
            var rank = seen.ToDictionary(p => p.Value, p => Array.IndexOf(sorted, p.Key));
            return (sorted, [.. raw.Select(r => rank[r])]);
        }
    }
}
