using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>
/// SchemaShape's constructors and SchemaShape.Create are internal to ML.NET (its own estimators are "best friends"), so
/// an outside estimator builds a DataViewSchema of representative types and calls SchemaShape.Create by reflection.
/// Checked once, at first use, with a clear error should a future ML.NET rename it.
/// </summary>
static class SchemaShapes
{
    static readonly Func<DataViewSchema, SchemaShape> Create = FindCreate();

    static Func<DataViewSchema, SchemaShape> FindCreate()
    {
        var method = typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public,
                                                   [typeof(DataViewSchema)])
            ?? throw new MissingMethodException($"SchemaShape.Create(DataViewSchema) not found in ML.NET {typeof(SchemaShape).Assembly.GetName().Version}.");
        return method.CreateDelegate<Func<DataViewSchema, SchemaShape>>();
    }

    public static SchemaShape With(SchemaShape input, params (string Name, DataViewType Type)[] added)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var c in input.Where(c => added.All(a => a.Name != c.Name)))
            builder.AddColumn(c.Name, Representative(c));
        foreach (var (name, type) in added) builder.AddColumn(name, type);
        return Create(builder.ToSchema());
    }

    static DataViewType Representative(SchemaShape.Column c)
    {
        DataViewType item = c.IsKey ? new KeyDataViewType(c.ItemType.RawType, int.MaxValue) : c.ItemType;
        return c.Kind switch
        {
            SchemaShape.Column.VectorKind.Scalar => item,
            SchemaShape.Column.VectorKind.Vector => new VectorDataViewType((PrimitiveDataViewType)item, 1),
            _ => new VectorDataViewType((PrimitiveDataViewType)item),
        };
    }
}
