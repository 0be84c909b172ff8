using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;

namespace Pdnn.MLNet.Persistence;

/// <summary>Rebuilds a stage from its description (the inverse of BatchedImageTransformer.Describe).</summary>
static class StageFactory
{
    public static BatchedImageTransformer Create(StageDescription d, string? modelFile, ExecutionDevice device)
    {
        var shape = new ImageShape(d.Shape[0], d.Shape[1], d.Shape[2]);
        double P(string name) => d.Parameters.TryGetValue(name, out var v) ? v
            : throw new InvalidDataException($"saved stage {d.Kind} lacks parameter '{name}'.");
        // Added after the first saved models: absent means the default, fresh draws per call.
        var randomness = d.Parameters.TryGetValue("randomness", out var r) ? (RandomnessKey)(int)r : RandomnessKey.PerCall;
        string Model() => modelFile ?? throw new InvalidDataException($"saved stage {d.Kind} lacks its ONNX model.");
        return d.Kind switch
        {
            "NoisyCorrupt" => new NoisyCorruptTransformer(d.InputColumn, d.OutputColumns[0], shape, new NoiseOptions
            {
                GaussianMean = P("gaussianMean"), GaussianVariance = P("gaussianVariance"), SaltProbability = P("salt"),
                PepperProbability = P("pepper"), ResizeFactor = P("resizeFactor"),
            }, (int)P("seed"), d.BatchSize, randomness),
            "FeatureSqueeze" => new FeatureSqueezeTransformer(d.InputColumn, d.OutputColumns[0], shape, (int)P("bits"), (int)P("medianWindow"), d.BatchSize),
            "SpatialSmoothing" => new SpatialSmoothingTransformer(d.InputColumn, d.OutputColumns[0], shape, (int)P("window"), d.BatchSize),
            "JpegCompression" => new JpegCompressionTransformer(d.InputColumn, d.OutputColumns[0], shape, (int)P("quality"), d.BatchSize),
            "SuperResolve" => new SuperResolveTransformer(d.InputColumn, d.OutputColumns[0], shape, Model(), d.BatchSize, device),
            "MaskedInpaintAggregate" => new MaskedInpaintAggregateTransformer(d.InputColumn, d.OutputColumns[0], shape, Model(),
                (int)P("maskCount"), (int)P("gridCell"), (int)P("seed"), P("redrawPerImage") != 0, d.BatchSize, device, randomness),
            "RobustClassify" => new RobustClassifyTransformer(d.InputColumn, Model(), shape, d.ClassNames, d.BatchSize, device,
                d.OutputColumns[0], d.OutputColumns[1]),
            _ => throw new InvalidDataException($"unknown saved stage kind '{d.Kind}' (saved by a newer Pdnn.MLNet?)."),
        };
    }
}
