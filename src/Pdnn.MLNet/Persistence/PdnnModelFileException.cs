namespace Pdnn.MLNet.Persistence;

/// <summary>Which of <c>LoadPdnn</c>'s checks refused a model file.</summary>
public enum ModelFileCheck
{
    /// <summary>Not a zip archive, or a truncated or corrupt one.</summary>
    NotAZipArchive,
    /// <summary>A limit of <see cref="PdnnLoadOptions"/> (file, entry or total size, entries, stages, batch, image size).</summary>
    Limit,
    /// <summary>An entry inflates more than <see cref="PdnnLoadOptions.MaxCompressionRatio"/> times, or to other than it declares.</summary>
    CompressionRatio,
    /// <summary>The whole file's SHA-256 is not the one the caller pinned.</summary>
    Sha256Mismatch,
    /// <summary>An entry name that is not a plain file name (path, traversal, control characters), or one used twice.</summary>
    EntryName,
    /// <summary>The manifest names an entry the file lacks.</summary>
    MissingEntry,
    /// <summary>The file holds an entry the manifest does not name.</summary>
    ExtraEntry,
    /// <summary>manifest.json is missing, not JSON, or not a Pdnn manifest.</summary>
    Manifest,
    /// <summary>Another format or a format version this library does not read.</summary>
    FormatVersion,
    /// <summary>A stage description out of range: kind, columns, shape, batch size, parameters, class names.</summary>
    Stage,
    /// <summary>An ONNX model whose SHA-256 is not the manifest's.</summary>
    ModelAltered,
    /// <summary>An ONNX entry that does not parse, uses external data or other operator domains, or does not fit its column.</summary>
    Onnx,
    /// <summary>An ML.NET entry that is not a model ML.NET saved, or holds transformers other than those allowed.</summary>
    MlNet,
    /// <summary>The checked parts do not make a working chain: ML.NET, ONNX Runtime or a stage refused them.</summary>
    Chain,
}

/// <summary>A model file that <c>LoadPdnn</c> refuses: the message names the file, the entry (where one is at fault) and what was wrong.</summary>
public sealed class PdnnModelFileException(string path, ModelFileCheck check, string problem, string? entry = null, Exception? inner = null)
    : Exception($"'{path}'{(entry != null ? $", entry '{BoundedZip.Printable(entry)}'" : "")}: {problem}", inner)
{
    public string Path { get; } = path;
    public ModelFileCheck Check { get; } = check;
    public string? Entry { get; } = entry;
    public string Problem { get; } = problem;
}
