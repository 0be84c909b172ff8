using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.Onnx;
using Pdnn.Tests;
using Pdnn.Torch.Models;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.MLNet.Tests;

public sealed class ImageRow
{
    public string Path { get; set; } = "";
    public string Label { get; set; } = "";
}

/// <summary>Real CIFAR-10 images from the bundled sample, loaded the ML.NET way, and a small classifier trained on them.</summary>
static class RealImages
{
    public static readonly string[] Files = Directory.GetFiles(Path.Combine(TestPaths.Sample, "test"), "*.jpg", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal).Where((_, i) => i % 25 == 0).ToArray(); // 20 images, 2 per class

    /// <summary>Path and Label rows → Image: Vector&lt;Single, 3072&gt; in [0,1], channel-major RGB, via ImageAnalytics.</summary>
    public static IDataView Load(MLContext ml, IEnumerable<string>? files = null)
    {
        var rows = (files ?? Files).Select(f => new ImageRow { Path = f, Label = System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(f))! });
        var data = ml.Data.LoadFromEnumerable(rows);
        // ResizeImages gives the image column its known size (CIFAR images are already 32x32).
        return ml.Transforms.LoadImages("Bitmap", imageFolder: "", inputColumnName: "Path")
            .Append(ml.Transforms.ResizeImages("Bitmap", 32, 32, "Bitmap"))
            .Append(ml.Transforms.ExtractPixels("Image", "Bitmap", colorsToExtract: Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Rgb,
                    orderOfExtraction: Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorsOrder.ARGB,
                    interleavePixelColors: false, scaleImage: 1f / 255f))
            .Fit(data).Transform(data);
    }

    public static float[][] Images(IDataView data, string column = "Image") =>
        data.GetColumn<VBuffer<float>>(column).Select(v => v.DenseValues().ToArray()).ToArray();

    static readonly Lazy<(string Onnx, CifarResNet Model)> classifier = new(TrainAndExport);

    /// <summary>A ResNet-8 trained for 2 epochs on the 2,000 sample training images and exported to ONNX.</summary>
    public static (string Onnx, CifarResNet Model) Classifier => classifier.Value;

    static (string, CifarResNet) TrainAndExport()
    {
        var train = DatasetLoader.Load(TestPaths.Sample, Split.Train, new() { UseCache = false });
        var options = new TrainOptions { Architecture = "resnet8", Epochs = 2, BatchSize = 64, LearningRate = 0.05, Seed = 0 };
        var model = new ClassifierTrainer(options, CPU, new TextTrainingObserver(TextWriter.Null)).Run(train, null, null, false).Model;
        var card = new ModelCard
        {
            Architecture = "resnet8", ClassNames = [.. train.ClassNames], InputShape = [3, 32, 32],
            TrainData = train.Source, WeightsFile = "", WeightsSha256 = "",
        };
        var path = System.IO.Path.Combine(TestPaths.NewTempDir(), "classifier.onnx");
        ClassifierOnnx.Export(model, card, path);
        return (path, model);
    }
}
