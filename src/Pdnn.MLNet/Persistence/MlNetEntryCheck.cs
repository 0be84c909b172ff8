using System.Text;

namespace Pdnn.MLNet.Persistence;

/// <summary>
/// Looks inside an ML.NET model entry before ML.NET loads it: a zip read under the same limits (every inner entry inflated
/// once, so no bomb reaches ML.NET), whose every Model.key is an ML.NET model header naming a transformer kind in
/// <see cref="PdnnLoadOptions.AllowedMlNetKinds"/>. ML.NET's loaders still read the bodies; they are not hardened.
/// </summary>
static class MlNetEntryCheck
{
    static readonly byte[] Signature = "ML\0MODEL"u8.ToArray();

    public static void Check(byte[] bytes, string path, string entry, PdnnLoadOptions options)
    {
        using var zip = BoundedZip.Open(new MemoryStream(bytes, writable: false), path, options, nestedNames: true, container: entry);
        if (!zip.Entries.ContainsKey("TransformerChain/Model.key"))
            throw new PdnnModelFileException(path, ModelFileCheck.MlNet, "not a transformer chain saved by ML.NET (no TransformerChain/Model.key).", entry);
        foreach (var name in zip.Entries.Keys)
        {
            var inner = zip.Read(name);
            if (name != "Model.key" && !name.EndsWith("/Model.key", StringComparison.Ordinal)) continue;
            var kind = LoaderSignature(inner)
                ?? throw new PdnnModelFileException(path, ModelFileCheck.MlNet, $"'{name}' is not an ML.NET model header.", entry);
            if (!options.AllowedMlNetKinds.Contains(kind))
                throw new PdnnModelFileException(path, ModelFileCheck.MlNet,
                    $"'{name}' holds an ML.NET {kind}, not one of the kinds a Pdnn chain is allowed ({string.Join(", ", options.AllowedMlNetKinds.Order())}; PdnnLoadOptions.AllowedMlNetKinds).", entry);
        }
    }

    /// <summary>The loader signature of an ML.NET model header: up to 24 ASCII characters at 0x50, after the "ML\0MODEL" signature.</summary>
    static string? LoaderSignature(byte[] header)
    {
        if (header.Length < 0x100 || !header.AsSpan(0, 8).SequenceEqual(Signature)) return null;
        var field = header.AsSpan(0x50, 24);
        int end = field.IndexOf((byte)0);
        var text = field[..(end < 0 ? field.Length : end)];
        if (text.Length == 0) return null;
        foreach (var b in text) if (!char.IsAsciiLetterOrDigit((char)b)) return null;
        return Encoding.ASCII.GetString(text);
    }
}
