using Pdnn.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;

namespace Pdnn.MLNet;

/// <summary>
/// The φDNN stages and the pre-processing baselines on <c>mlContext.Transforms</c>. Every stage reads and writes a
/// float vector column of a 3 x H x W image in [0,1] (channel-major, as ExtractPixels gives with
/// interleavePixelColors: false and scaleImage: 1/255f), so stages chain with Append.
/// </summary>
public static class PdnnCatalog
{
    public const int DefaultBatchSize = 64;

    /// <summary>
    /// δ of NSR: Gaussian, salt-and-pepper and down-up resize noise, seeded; fresh at every call, or with
    /// <paramref name="randomness"/> PerImage a function of the image's content (repeatable answers when serving).
    /// </summary>
    public static ImageToImageEstimator<NoisyCorruptTransformer> NoisyCorrupt(this TransformsCatalog catalog, string outputColumnName,
        NoiseOptions noise, string? inputColumnName = null, int imageHeight = 32, int imageWidth = 32, int seed = 0, int batchSize = DefaultBatchSize,
        RandomnessKey randomness = RandomnessKey.PerCall) =>
        Stage(outputColumnName, inputColumnName, imageHeight, imageWidth, checkNow: true,
              (input, shape) => new NoisyCorruptTransformer(input, outputColumnName, shape, noise, seed, batchSize, randomness));

    /// <summary>C: an ONNX classifier; adds Score (softmax) and PredictedLabel (key with the class names as key values).</summary>
    public static RobustClassifyEstimator RobustClassify(this TransformsCatalog catalog, string modelPath, string inputColumnName = "Image",
        int imageHeight = 32, int imageWidth = 32, IReadOnlyList<string>? classNames = null, int batchSize = DefaultBatchSize,
        ExecutionDevice device = ExecutionDevice.Auto, string scoreColumnName = "Score", string predictedLabelColumnName = "PredictedLabel") =>
        new(inputColumnName, modelPath, ImageShape.Rgb(imageHeight, imageWidth), classNames, batchSize, device, scoreColumnName, predictedLabelColumnName);

    /// <summary>Feature squeezing: bit-depth reduction, optionally followed by a median filter (window > 1).</summary>
    public static ImageToImageEstimator<FeatureSqueezeTransformer> FeatureSqueeze(this TransformsCatalog catalog, string outputColumnName,
        int bits = 4, int medianWindow = 0, string? inputColumnName = null, int imageHeight = 32, int imageWidth = 32, int batchSize = DefaultBatchSize) =>
        Stage(outputColumnName, inputColumnName, imageHeight, imageWidth, checkNow: true,
              (input, shape) => new FeatureSqueezeTransformer(input, outputColumnName, shape, bits, medianWindow, batchSize));

    /// <summary>Spatial smoothing: a k x k median filter.</summary>
    public static ImageToImageEstimator<SpatialSmoothingTransformer> SpatialSmoothing(this TransformsCatalog catalog, string outputColumnName,
        int window = 2, string? inputColumnName = null, int imageHeight = 32, int imageWidth = 32, int batchSize = DefaultBatchSize) =>
        Stage(outputColumnName, inputColumnName, imageHeight, imageWidth, checkNow: true,
              (input, shape) => new SpatialSmoothingTransformer(input, outputColumnName, shape, window, batchSize));

    /// <summary>JPEG compression at the given quality.</summary>
    public static ImageToImageEstimator<JpegCompressionTransformer> JpegCompression(this TransformsCatalog catalog, string outputColumnName,
        int quality = 75, string? inputColumnName = null, int imageHeight = 32, int imageWidth = 32, int batchSize = DefaultBatchSize) =>
        Stage(outputColumnName, inputColumnName, imageHeight, imageWidth, checkNow: true,
              (input, shape) => new JpegCompressionTransformer(input, outputColumnName, shape, quality, batchSize));

    /// <summary>NSR's recreation: the super-resolution generator (ONNX), then a bilinear resize back to the input size.</summary>
    public static ImageToImageEstimator<SuperResolveTransformer> SuperResolve(this TransformsCatalog catalog, string outputColumnName,
        string generatorModelPath, string? inputColumnName = null, int imageHeight = 32, int imageWidth = 32, int batchSize = DefaultBatchSize,
        ExecutionDevice device = ExecutionDevice.Auto) =>
        Stage(outputColumnName, inputColumnName, imageHeight, imageWidth, checkNow: false,
              (input, shape) => new SuperResolveTransformer(input, outputColumnName, shape, generatorModelPath, batchSize, device));

    /// <summary>FIR's recreation: K complementary masks on a grid of g-pixel cells, each filled by the inpainter (ONNX), joined.</summary>
    public static ImageToImageEstimator<MaskedInpaintAggregateTransformer> MaskedInpaintAggregate(this TransformsCatalog catalog,
        string outputColumnName, string inpainterModelPath, string? inputColumnName = null, int maskCount = 10, int gridCell = 4,
        int seed = 0, bool redrawPerImage = false, int imageHeight = 32, int imageWidth = 32, int batchSize = DefaultBatchSize,
        ExecutionDevice device = ExecutionDevice.Auto, RandomnessKey randomness = RandomnessKey.PerCall)
    {
        MaskSet.Draw(maskCount, gridCell, imageHeight, imageWidth, new Random(seed)); // bad parameters fail here, not at Fit
        return Stage(outputColumnName, inputColumnName, imageHeight, imageWidth, checkNow: false,
                     (input, shape) => new MaskedInpaintAggregateTransformer(input, outputColumnName, shape, inpainterModelPath,
                                                                             maskCount, gridCell, seed, redrawPerImage, batchSize, device, randomness));
    }

    /// <summary>
    /// An image-to-image estimator; the input column defaults to the output's (in place). With <paramref name="checkNow"/>
    /// the transformer is built once now, so bad parameters fail when the pipeline is written rather than at Fit; stages
    /// that open an ONNX model check it at Fit.
    /// </summary>
    static ImageToImageEstimator<T> Stage<T>(string output, string? input, int height, int width, bool checkNow, Func<string, ImageShape, T> create)
        where T : ImageToImageTransformer
    {
        var shape = ImageShape.Rgb(height, width);
        var inputName = input ?? output;
        if (checkNow) create(inputName, shape);
        return new(inputName, output, shape, () => create(inputName, shape));
    }
}

/// <summary>Saving and loading chains that contain Pdnn stages, on <c>mlContext.Model</c>.</summary>
public static class PdnnModelCatalog
{
    /// <summary>Saves a fitted chain (ML.NET transformers and Pdnn stages) with its ONNX models inside one zip.</summary>
    public static void SavePdnn(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string path) =>
        Persistence.PdnnModelFile.Save(GetContext(catalog), model, inputSchema, path);

    /// <summary>
    /// Loads a chain saved by SavePdnn, checking everything it reads first (limits in <paramref name="options"/>); a refused
    /// file raises <see cref="Persistence.PdnnModelFileException"/>. <paramref name="expectedSha256"/> pins the whole file.
    /// <paramref name="inputSchema"/> is the saved input schema as ML.NET writes it: without image (MLImage) columns,
    /// and null when the input had only such columns.
    /// </summary>
    public static TransformerChain<ITransformer> LoadPdnn(this ModelOperationsCatalog catalog, string path, out DataViewSchema inputSchema,
                                                          ExecutionDevice device = ExecutionDevice.Auto, Persistence.PdnnLoadOptions? options = null,
                                                          string? expectedSha256 = null) =>
        Persistence.PdnnModelFile.Load(GetContext(catalog), path, out inputSchema, device, options, expectedSha256);

    // ModelOperationsCatalog does not expose its MLContext; a fresh one reads and writes the same formats.
    static MLContext GetContext(ModelOperationsCatalog catalog) => new();
}
