using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Pdnn.MLNet;
using Pdnn.MLNet.Execution;

namespace RobustService;

/// <summary>The chain's input: one uploaded image, decoded. Any size: ResizeImages takes what comes (ML.NET's ImageType needs a size to register the column type; its unsized form fails).</summary>
public sealed class ImageInput
{
    [ImageType(ServedModel.Side, ServedModel.Side)] public MLImage Picture { get; set; } = null!;
}

/// <summary>What the service reads of the chain's output: the image the classifier saw (the recreation), scores and label.</summary>
public sealed class ChainOutput
{
    public float[] Image { get; set; } = [];
    public float[] Score { get; set; } = [];
    public uint PredictedLabel { get; set; }
}

/// <summary>A fitted φDNN chain read with LoadPdnn, from an uploaded picture to the recreation, scores and label.</summary>
public sealed class ServedModel
{
    ServedModel(MLContext ml, ITransformer chain, DataViewSchema inputSchema, string path)
    {
        Ml = ml; Chain = chain; InputSchema = inputSchema; Path = path;
        var label = chain.GetOutputSchema(inputSchema).GetColumnOrNull("PredictedLabel")
            ?? throw new InvalidDataException($"model '{path}' has no PredictedLabel column; is it a φDNN chain ending in RobustClassify?");
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        ClassNames = names.DenseValues().Select(n => n.ToString()).ToArray();
        var image = chain.GetOutputSchema(inputSchema).GetColumnOrNull("Image");
        if (image?.Type is not VectorDataViewType { Size: 3 * Side * Side })
            throw new InvalidDataException($"model '{path}': its Image column is {image?.Type.ToString() ?? "missing"}, expected a 3x{Side}x{Side} image.");
    }

    public const int Side = 32;
    public MLContext Ml { get; }
    public ITransformer Chain { get; }
    public DataViewSchema InputSchema { get; }
    public string Path { get; }
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Loads the chain at <see cref="ServiceOptions.ModelPath"/>, building and saving it first when the file is not there.</summary>
    public static ServedModel LoadOrBuild(ServiceOptions options, ILogger log)
    {
        var ml = new MLContext(seed: 0);
        var path = options.ModelPath;
        if (!File.Exists(path))
        {
            Build(ml, options, path);
            log.LogInformation("Built the {Defence} chain from the shipped models and saved it to {Path}", options.Defence, System.IO.Path.GetFullPath(path));
        }
        // ML.NET cannot write an image column into a saved input schema, so the schema comes from ImageInput.
        var chain = ml.Model.LoadPdnn(path, out _);
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<ImageInput>()).Schema;
        try { chain.GetOutputSchema(schema); }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            throw new InvalidDataException($"model '{path}' does not take an uploaded picture (an image column '{nameof(ImageInput.Picture)}'): {e.Message}", e);
        }
        log.LogInformation("Loaded {Path} with LoadPdnn", System.IO.Path.GetFullPath(path));
        return new ServedModel(ml, chain, schema, path);
    }

    /// <summary>
    /// Picture → 32x32 → RGB floats in [0,1] → the defence's chain over the shipped models, with the randomness (NSR's
    /// noise) keyed by the image, so the same picture always gets the same answer, whatever else is being served.
    /// </summary>
    static void Build(MLContext ml, ServiceOptions o, string path)
    {
        var models = o.ModelsFolder ?? ShippedModels.FindFolder()
            ?? throw new DirectoryNotFoundException($"model '{path}' does not exist and the shipped models folder was not found to build one; pass --models or --model.");
        var chain = ml.Transforms.ResizeImages(nameof(ImageInput.Picture), Side, Side, nameof(ImageInput.Picture), ImageResizingEstimator.ResizingKind.Fill)
            .Append(ml.Transforms.ExtractPixels("Image", nameof(ImageInput.Picture), ImagePixelExtractingEstimator.ColorBits.Rgb,
                    ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255f))
            .Append(ShippedModels.Chain(ml, models, o.Defence, o.Grid, o.Seed, RandomnessKey.PerImage));
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<ImageInput>());
        ml.Model.SavePdnn(chain.Fit(empty), empty.Schema, path);
    }

    /// <summary>Runs a batch of pictures through one Transform of the chain (the stages run their models once per batch).</summary>
    public List<ChainOutput> PredictBatch(IReadOnlyList<MLImage> pictures)
    {
        var view = Ml.Data.LoadFromEnumerable(pictures.Select(p => new ImageInput { Picture = p }));
        return Ml.Data.CreateEnumerable<ChainOutput>(Chain.Transform(view), reuseRowObject: false).ToList();
    }
}
