namespace Pdnn.MLNet.Persistence;

/// <summary>
/// The limits <c>LoadPdnn</c> holds a model file to before it acts on anything in it. The defaults fit real models with a wide
/// margin (measured on the chains over <c>models/</c>: the largest file 1.7 MB, the largest ONNX entry 1.1 MB, the manifest
/// 2 KB, each ML.NET entry 3 KB with 9 inner entries, entries compressing 0.95–2.6x) while a hostile file is refused in
/// bounded time and memory: memory stays below about <see cref="MaxTotalBytes"/> plus what ONNX Runtime needs for the models.
/// </summary>
public sealed record PdnnLoadOptions
{
    public static PdnnLoadOptions Default { get; } = new();

    const long MiB = 1L << 20;

    /// <summary>The model file itself (the zip), checked before it is opened.</summary>
    public long MaxFileBytes { get; init; } = 1024 * MiB;
    /// <summary>Zip entries in the file (a chain of n stages has at most 2n + 2).</summary>
    public int MaxEntries { get; init; } = 256;
    /// <summary>Any one entry, inflated (an ONNX model 512 MiB: a Wide-ResNet-28-10 is 146 MB).</summary>
    public long MaxEntryBytes { get; init; } = 512 * MiB;
    /// <summary>All entries together, inflated: the most the loader holds in memory at once.</summary>
    public long MaxTotalBytes { get; init; } = 1024 * MiB;
    /// <summary>manifest.json, inflated.</summary>
    public long MaxManifestBytes { get; init; } = 1 * MiB;
    /// <summary>An entry larger than <see cref="CompressionRatioFloorBytes"/> may inflate at most this many times its stored size.</summary>
    public double MaxCompressionRatio { get; init; } = 100;
    /// <summary>Entries inflating to less than this are not held to <see cref="MaxCompressionRatio"/> (small text compresses well).</summary>
    public long CompressionRatioFloorBytes { get; init; } = 1 * MiB;
    /// <summary>Stages in the manifest.</summary>
    public int MaxStages { get; init; } = 64;
    /// <summary>Rows per batch a saved stage may ask for (the default is 64).</summary>
    public int MaxBatchSize { get; init; } = 65_536;
    /// <summary>Floats one batch of a stage may hold (batch size x C x H x W; 64 x 3 x 32 x 32 = 196,608 by default): 1 GiB.</summary>
    public long MaxBatchValues { get; init; } = 256 * MiB;
    /// <summary>Image height or width of a stage.</summary>
    public int MaxImageSide { get; init; } = 4096;
    /// <summary>Classes of a classifier (ImageNet-21k has 21,841).</summary>
    public int MaxClasses { get; init; } = 100_000;
    /// <summary>Length of a column or class name.</summary>
    public int MaxNameLength { get; init; } = 256;

    /// <summary>
    /// ML.NET transformers (by their loader signature, as written in each Model.key) that the ML.NET entries may hold: those
    /// a Pdnn chain has in front of its stages (image loading and resizing, pixel extraction, label keys, column plumbing).
    /// </summary>
    public IReadOnlySet<string> AllowedMlNetKinds { get; init; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "TransformerChain", "ImageLoaderTransform", "ImageScalerTransform", "ImagePixelExtractor", "ImageGrayscaleTransform",
        "TermTransform", "TermManager", "KeyToValueTransform", "CopyTransform", "ConvertTransform", "ConcatTransform",
        "SelectColumnsTransform",
    };

    /// <summary>ONNX operator domains the models may use: the standard one only (written "" or "ai.onnx").</summary>
    public IReadOnlySet<string> AllowedOnnxDomains { get; init; } = new HashSet<string>(StringComparer.Ordinal) { "", "ai.onnx" };

    internal void Validate()
    {
        void Positive(string name, double value)
        {
            if (!(value > 0)) throw new ArgumentOutOfRangeException(name, $"PdnnLoadOptions.{name} must be positive, got {value}.");
        }
        Positive(nameof(MaxFileBytes), MaxFileBytes); Positive(nameof(MaxEntries), MaxEntries); Positive(nameof(MaxEntryBytes), MaxEntryBytes);
        Positive(nameof(MaxTotalBytes), MaxTotalBytes); Positive(nameof(MaxManifestBytes), MaxManifestBytes);
        Positive(nameof(MaxCompressionRatio), MaxCompressionRatio); Positive(nameof(MaxStages), MaxStages);
        Positive(nameof(MaxBatchSize), MaxBatchSize); Positive(nameof(MaxBatchValues), MaxBatchValues); Positive(nameof(MaxImageSide), MaxImageSide);
        Positive(nameof(MaxClasses), MaxClasses); Positive(nameof(MaxNameLength), MaxNameLength);
        if (MaxEntryBytes > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(MaxEntryBytes), $"PdnnLoadOptions.MaxEntryBytes can be at most {Array.MaxLength} (one array), got {MaxEntryBytes}.");
    }
}
