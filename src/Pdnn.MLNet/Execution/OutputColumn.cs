using System.Buffers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>A column a stage adds: a vector of Single (an image, scores) or a key (a predicted label, with its key values).</summary>
public sealed record OutputColumn(string Name, DataViewType Type, int Size, DataViewSchema.Annotations? Annotations = null)
{
    public bool IsKey => Type is KeyDataViewType;

    public static OutputColumn Vector(string name, int size) => new(name, new VectorDataViewType(NumberDataViewType.Single, size), size);

    /// <summary>A key column over <paramref name="classNames"/>, which ML.NET shows as its key values (like a trained classifier's PredictedLabel).</summary>
    public static OutputColumn Key(string name, IReadOnlyList<string> classNames)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        var names = new VBuffer<ReadOnlyMemory<char>>(classNames.Count, classNames.Select(n => n.AsMemory()).ToArray());
        // "KeyValues" is the annotation kind ML.NET's own transforms and PredictionEngine read class names from.
        builder.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, classNames.Count),
                    (ref VBuffer<ReadOnlyMemory<char>> v) => names.CopyTo(ref v));
        return new OutputColumn(name, new KeyDataViewType(typeof(uint), classNames.Count), 1, builder.ToAnnotations());
    }

    /// <summary>A buffer for <paramref name="rows"/> rows of this column: float[] for vectors, uint[] for keys (1-based, ML.NET's convention).</summary>
    public Array NewBuffer(int rows) => IsKey ? new uint[rows] : new float[rows * Size];

    /// <summary>A buffer for at least <paramref name="rows"/> rows from the shared array pool; give it back with <see cref="ReturnBuffer"/>.</summary>
    public Array RentBuffer(int rows) => IsKey ? ArrayPool<uint>.Shared.Rent(rows) : ArrayPool<float>.Shared.Rent(rows * Size);

    public void ReturnBuffer(Array buffer)
    {
        if (buffer is uint[] keys) ArrayPool<uint>.Shared.Return(keys);
        else ArrayPool<float>.Shared.Return((float[])buffer);
    }

    /// <summary>A getter that reads row <paramref name="row"/>() of the buffer <paramref name="buffer"/>().</summary>
    public Delegate Getter(Func<Array> buffer, Func<int> row)
    {
        if (IsKey)
            return (ValueGetter<uint>)((ref uint value) => value = ((uint[])buffer())[row()]);
        int size = Size;
        return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
        {
            var editor = VBufferEditor.Create(ref value, size);
            ((float[])buffer()).AsSpan(row() * size, size).CopyTo(editor.Values);
            value = editor.Commit();
        });
    }
}
