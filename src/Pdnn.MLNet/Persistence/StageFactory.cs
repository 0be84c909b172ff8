using Pdnn.Data;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;

namespace Pdnn.MLNet.Persistence;

/// <summary>
/// Rebuilds a stage from its description (the inverse of BatchedImageTransformer.Describe), and before that checks a
/// description read from a file: a known kind, its columns, shape, batch size, exactly its parameters, each finite and in
/// range (integers where the stage takes integers), a model where the kind runs one and none where it does not, and sane
/// class names.
/// </summary>
static class StageFactory
{
    /// <param name="Optional">Added after the first saved models: a file may lack it (the stage then takes its default).</param>
    sealed record Parameter(string Name, double Min, Func<ImageShape, double> Max, bool Integer = true, bool Optional = false);
    sealed record Kind(int Outputs, bool HasModel, Parameter[] Parameters);

    static Parameter Seed => new("seed", int.MinValue, _ => int.MaxValue);
    static Parameter Randomness => new("randomness", 0, _ => Enum.GetValues<RandomnessKey>().Length - 1, Optional: true);
    static Parameter Probability(string name) => new(name, 0, _ => 1, Integer: false);
    static Func<ImageShape, double> Side => s => Math.Min(s.Height, s.Width);

    static readonly Dictionary<string, Kind> Kinds = new(StringComparer.Ordinal)
    {
        ["NoisyCorrupt"] = new(1, false, [new("gaussianMean", -1, _ => 1, Integer: false), Probability("gaussianVariance"), Probability("salt"),
                                          Probability("pepper"), Probability("resizeFactor"), Seed, Randomness]),
        ["FeatureSqueeze"] = new(1, false, [new("bits", 1, _ => 8), new("medianWindow", 0, Side)]),
        ["SpatialSmoothing"] = new(1, false, [new("window", 1, Side)]),
        ["JpegCompression"] = new(1, false, [new("quality", 1, _ => 100)]),
        ["SuperResolve"] = new(1, true, []),
        ["MaskedInpaintAggregate"] = new(1, true, [new("maskCount", 1, _ => 255), new("gridCell", 1, Side), Seed, new("redrawPerImage", 0, _ => 1), Randomness]),
        ["RobustClassify"] = new(2, true, []),
    };

    /// <summary>Checks a description read from <paramref name="path"/>; the error names the stage and the value at fault.</summary>
    public static void Validate(StageDescription d, int index, string path, PdnnLoadOptions o)
    {
        string stage = $"stage {index} ({BoundedZip.Printable(d.Kind ?? "?")})";
        PdnnModelFileException Fail(string problem) => new(path, ModelFileCheck.Stage, $"{stage}: {problem}", d.Model);

        if (d.Kind == null || !Kinds.TryGetValue(d.Kind, out var kind))
            throw Fail($"unknown kind; this library reads {string.Join(", ", Kinds.Keys)} (a newer Pdnn.MLNet saved it?).");
        CheckName(d.InputColumn, "input column", o, Fail);
        if (d.OutputColumns == null || d.OutputColumns.Length != kind.Outputs)
            throw Fail($"{d.OutputColumns?.Length ?? 0} output columns, expected {kind.Outputs}.");
        foreach (var c in d.OutputColumns) CheckName(c, "output column", o, Fail);
        if (d.OutputColumns.Distinct(StringComparer.Ordinal).Count() != d.OutputColumns.Length) throw Fail("an output column is named twice.");

        if (d.Shape is not [var channels, var height, var width] || channels is < 1 or > 4 || height < 1 || height > o.MaxImageSide || width < 1 || width > o.MaxImageSide)
            throw Fail($"image shape [{string.Join(", ", d.Shape ?? [])}], expected [C, H, W] with C 1..4 and H, W 1..{o.MaxImageSide} (PdnnLoadOptions.MaxImageSide).");
        var shape = new ImageShape(channels, height, width);
        if (d.BatchSize < 1 || d.BatchSize > o.MaxBatchSize)
            throw Fail($"batch size {d.BatchSize}, expected 1..{o.MaxBatchSize} (PdnnLoadOptions.MaxBatchSize).");
        long rowsPerCall = d.Kind == "MaskedInpaintAggregate" && d.Parameters?.GetValueOrDefault("maskCount") is double k and >= 1 and <= 255 ? (long)k : 1;
        if ((long)d.BatchSize * rowsPerCall * (channels + 1) * height * width > o.MaxBatchValues)
            throw Fail($"batch size {d.BatchSize} of {shape} images needs more than the {o.MaxBatchValues:N0} values a batch may hold (PdnnLoadOptions.MaxBatchValues).");

        var parameters = d.Parameters ?? [];
        foreach (var name in parameters.Keys.Where(n => kind.Parameters.All(p => p.Name != n)))
            throw Fail($"unknown parameter '{BoundedZip.Printable(name)}'; {d.Kind} takes {(kind.Parameters.Length == 0 ? "none" : string.Join(", ", kind.Parameters.Select(p => p.Name)))}.");
        foreach (var p in kind.Parameters)
        {
            if (!parameters.TryGetValue(p.Name, out var v))
            {
                if (p.Optional) continue;
                throw Fail($"lacks parameter '{p.Name}'.");
            }
            double max = p.Max(shape);
            if (!double.IsFinite(v) || v < p.Min || v > max || p.Integer && v != Math.Floor(v))
                throw Fail($"parameter '{p.Name}' is {v}, expected {(p.Integer ? "an integer" : "a number")} in [{p.Min}, {max}].");
        }
        try
        {
            if (d.Kind == "NoisyCorrupt") Noise(parameters).Validate();
            if (d.Kind == "MaskedInpaintAggregate") MaskSet.Draw((int)parameters["maskCount"], (int)parameters["gridCell"], height, width, new Random(0));
            if (d.Kind == "JpegCompression" && channels != 3) throw new ArgumentException($"JPEG compression needs RGB images, got {shape}.");
        }
        catch (ArgumentException e) { throw Fail(e.Message); }

        if (kind.HasModel != (d.Model != null)) throw Fail(kind.HasModel ? "lacks its ONNX model." : "names an ONNX model, but this kind runs none.");
        if (d.Model != null && (d.ModelSha256 is not { Length: 64 } sha || !sha.All(char.IsAsciiHexDigitLower)))
            throw Fail("the manifest gives no SHA-256 (64 lower-case hex digits) for its ONNX model.");

        if (d.Kind == "RobustClassify") CheckClassNames(d.ClassNames, o, Fail);
        else if (d.ClassNames != null) throw Fail("has class names, but only RobustClassify takes them.");
    }

    static void CheckName(string? name, string what, PdnnLoadOptions o, Func<string, PdnnModelFileException> fail)
    {
        if (string.IsNullOrEmpty(name) || name.Length > o.MaxNameLength || name.Any(char.IsControl))
            throw fail($"{what} name '{BoundedZip.Printable(name ?? "")}' must be 1..{o.MaxNameLength} characters without control characters (PdnnLoadOptions.MaxNameLength).");
    }

    static void CheckClassNames(string[]? names, PdnnLoadOptions o, Func<string, PdnnModelFileException> fail)
    {
        if (names == null || names.Length < 1 || names.Length > o.MaxClasses)
            throw fail($"{names?.Length ?? 0} class names, expected 1..{o.MaxClasses} (PdnnLoadOptions.MaxClasses).");
        for (int i = 0; i < names.Length; i++)
        {
            var n = names[i];
            if (string.IsNullOrWhiteSpace(n) || n.Length > o.MaxNameLength || n.Any(char.IsControl))
                throw fail($"class name {i} '{BoundedZip.Printable(n ?? "")}' must be 1..{o.MaxNameLength} printable characters, not blank.");
        }
        var twice = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice != null) throw fail($"class name '{BoundedZip.Printable(twice.Key)}' appears twice; each label must name one class.");
    }

    static NoiseOptions Noise(Dictionary<string, double> p) => new()
    {
        GaussianMean = p["gaussianMean"], GaussianVariance = p["gaussianVariance"], SaltProbability = p["salt"],
        PepperProbability = p["pepper"], ResizeFactor = p["resizeFactor"],
    };

    /// <summary>The channel counts the stage's ONNX model may take.</summary>
    public static int[] ModelInputChannels(StageDescription d) =>
        d.Kind == "MaskedInpaintAggregate" ? [d.Shape[0] + 1, d.Shape[0]] : [d.Shape[0]];

    public static BatchedImageTransformer Create(StageDescription d, string? modelFile, ExecutionDevice device)
    {
        var shape = new ImageShape(d.Shape[0], d.Shape[1], d.Shape[2]);
        double P(string name) => d.Parameters.TryGetValue(name, out var v) ? v
            : throw new InvalidDataException($"saved stage {d.Kind} lacks parameter '{name}'.");
        int I(string name) => checked((int)P(name));
        // Added after the first saved models: absent means the default, fresh draws per call.
        var randomness = d.Parameters.TryGetValue("randomness", out var r) ? (RandomnessKey)(int)r : RandomnessKey.PerCall;
        string Model() => modelFile ?? throw new InvalidDataException($"saved stage {d.Kind} lacks its ONNX model.");
        return d.Kind switch
        {
            "NoisyCorrupt" => new NoisyCorruptTransformer(d.InputColumn, d.OutputColumns[0], shape, Noise(d.Parameters), I("seed"), d.BatchSize, randomness),
            "FeatureSqueeze" => new FeatureSqueezeTransformer(d.InputColumn, d.OutputColumns[0], shape, I("bits"), I("medianWindow"), d.BatchSize),
            "SpatialSmoothing" => new SpatialSmoothingTransformer(d.InputColumn, d.OutputColumns[0], shape, I("window"), d.BatchSize),
            "JpegCompression" => new JpegCompressionTransformer(d.InputColumn, d.OutputColumns[0], shape, I("quality"), d.BatchSize),
            "SuperResolve" => new SuperResolveTransformer(d.InputColumn, d.OutputColumns[0], shape, Model(), d.BatchSize, device),
            "MaskedInpaintAggregate" => new MaskedInpaintAggregateTransformer(d.InputColumn, d.OutputColumns[0], shape, Model(),
                I("maskCount"), I("gridCell"), I("seed"), P("redrawPerImage") != 0, d.BatchSize, device, randomness),
            "RobustClassify" => new RobustClassifyTransformer(d.InputColumn, Model(), shape, d.ClassNames, d.BatchSize, device,
                d.OutputColumns[0], d.OutputColumns[1]),
            _ => throw new InvalidDataException($"unknown saved stage kind '{d.Kind}' (saved by a newer Pdnn.MLNet?)."),
        };
    }
}
