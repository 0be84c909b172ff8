using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;

namespace Pdnn.MLNet;

/// <summary>Decoded images as an ML.NET data view: the column every stage reads, plus the class name.</summary>
public static class ImageDataViews
{
    sealed class ImageRow
    {
        public float[] Image { get; set; } = [];
        public string Label { get; set; } = "";
    }

    /// <summary>
    /// An IDataView with <c>Image</c> (Vector&lt;Single, C·H·W&gt;, channel-major, [0,1]) and <c>Label</c> (the class name)
    /// for every image of <paramref name="images"/>, converted lazily as rows are read.
    /// </summary>
    public static IDataView LoadFromImageDataset(this DataOperationsCatalog catalog, ImageDataset images)
    {
        var rows = Enumerable.Range(0, images.Count).Select(i =>
        {
            var pixels = images.Image(i);
            var values = new float[pixels.Length];
            for (int j = 0; j < values.Length; j++) values[j] = pixels[j] / 255f;
            return new ImageRow { Image = values, Label = images.ClassNames[images.Labels[i]] };
        });
        var schema = SchemaDefinition.Create(typeof(ImageRow));
        schema[nameof(ImageRow.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, images.ImageSize);
        return catalog.LoadFromEnumerable(rows, schema);
    }
}
