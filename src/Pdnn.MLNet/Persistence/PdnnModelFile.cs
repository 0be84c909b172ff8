using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Persistence;

/// <summary>
/// Saves and loads a fitted chain that mixes ML.NET's own transformers with Pdnn stages, as one zip:
/// <list type="bullet">
/// <item>manifest.json: the stages in order;</item>
/// <item>each run of ML.NET transformers as a model saved by mlContext.Model.Save (its own format, loaded by ML.NET);</item>
/// <item>each Pdnn stage as its description, with its ONNX model inside the zip and the model's SHA-256 checked on load.</item>
/// </list>
/// Why not mlContext.Model.Save alone: ML.NET keeps ModelSaveContext internal, so no outside transformer can write itself
/// there (dotnet/machinelearning issues 4911, 6839); and expressing the stages as ApplyOnnxModel graphs fails on two counts,
/// measured: ML.NET's OnnxTransformer cannot read a rank-0 ONNX output, so a scalar PredictedLabel key cannot come out of
/// it, and it runs one row per ONNX Runtime call. JPEG has no ONNX form at all.
/// </summary>
public static class PdnnModelFile
{
    const string Format = "pdnn-model";
    const int Version = 1;
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    sealed record Manifest(string Format, int Version, string InputSchemaEntry, List<Entry> Stages);
    sealed record Entry(string Type, string? MlNetEntry, StageDescription? Stage);

    public static void Save(MLContext ml, ITransformer model, DataViewSchema inputSchema, string path)
    {
        var stages = Flatten(model).ToList();
        var temp = path + "." + Environment.ProcessId + ".tmp";
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        try
        {
            Write(ml, stages, inputSchema, temp);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp); // nothing half-written is left behind
            throw;
        }
    }

    static void Write(MLContext ml, List<ITransformer> stages, DataViewSchema inputSchema, string temp)
    {
        using (var zip = new ZipArchive(File.Create(temp), ZipArchiveMode.Create))
        {
            WriteEntry(zip, "input-schema.mlnet.zip", s => SaveMlNet(ml, new TransformerChain<ITransformer>(), inputSchema, s));
            var entries = new List<Entry>();
            var schema = inputSchema;
            var native = new List<ITransformer>();
            void FlushNative()
            {
                if (native.Count == 0) return;
                var name = $"stage-{entries.Count:D2}.mlnet.zip";
                var chain = new TransformerChain<ITransformer>([.. native]);
                var segmentInput = schema;
                WriteEntry(zip, name, s => SaveMlNet(ml, chain, segmentInput, s));
                schema = chain.GetOutputSchema(schema);
                entries.Add(new Entry("mlnet", name, null));
                native.Clear();
            }
            foreach (var t in stages)
            {
                if (t is not BatchedImageTransformer stage) { native.Add(t); continue; }
                FlushNative();
                var d = stage.Describe();
                if (d.Model != null)
                {
                    var bytes = File.ReadAllBytes(d.Model);
                    var name = $"stage-{entries.Count:D2}.onnx";
                    WriteEntry(zip, name, s => s.Write(bytes));
                    d = d with { Model = name, ModelSha256 = Sha256(bytes) };
                }
                entries.Add(new Entry("pdnn", null, d));
                schema = stage.GetOutputSchema(schema);
            }
            FlushNative();
            WriteEntry(zip, "manifest.json", s => JsonSerializer.Serialize(s, new Manifest(Format, Version, "input-schema.mlnet.zip", entries), Json));
        }
    }

    /// <summary>
    /// mlContext.Model.Save, whose input schema is written as an empty data view: columns of a type ML.NET cannot write
    /// (an MLImage column, say) are left out, and when none is left ML.NET refuses ("No valid columns to save"); then the
    /// schema is left out too, as mlContext.Model.Save(model, null, ...) does, and LoadPdnn gives a null input schema.
    /// </summary>
    static void SaveMlNet(MLContext ml, ITransformer chain, DataViewSchema schema, Stream target)
    {
        var buffer = new MemoryStream();
        try { ml.Model.Save(chain, schema, buffer); }
        catch (InvalidOperationException e) when (e.Message.Contains("No valid columns to save", StringComparison.Ordinal))
        {
            buffer = new MemoryStream();
            ml.Model.Save(chain, null, buffer);
        }
        buffer.Position = 0;
        buffer.CopyTo(target);
    }

    /// <summary>
    /// Loads a model saved by <see cref="Save"/>, treating the file as untrusted: everything it reads is checked before it
    /// is acted on (see <see cref="PdnnLoadOptions"/> and the README's "Loading model files you did not make"); a refused
    /// file raises <see cref="PdnnModelFileException"/> naming the file, the entry and the check, with nothing written to the
    /// cache and no half-built model. With <paramref name="expectedSha256"/> the whole file must have that SHA-256 (pinning
    /// trust to a file you know). Checked ONNX models are unpacked once into the cache ($PDNN_CACHE_DIR/onnx, else
    /// ~/.cache/pdnn/onnx), named by their hash.
    /// </summary>
    public static TransformerChain<ITransformer> Load(MLContext ml, string path, out DataViewSchema inputSchema, ExecutionDevice device = ExecutionDevice.Auto,
                                                      PdnnLoadOptions? options = null, string? expectedSha256 = null)
    {
        options ??= PdnnLoadOptions.Default;
        options.Validate();
        if (expectedSha256 != null && (expectedSha256.Length != 64 || !expectedSha256.All(char.IsAsciiHexDigit)))
            throw new ArgumentException($"expectedSha256 must be 64 hex digits, got '{expectedSha256}'.", nameof(expectedSha256));
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' not found.", path);

        // One open file for the hash and the reading: replacing the file after the hash cannot change what is read.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > options.MaxFileBytes)
            throw new PdnnModelFileException(path, ModelFileCheck.Limit, $"{stream.Length:N0} bytes, over the {options.MaxFileBytes:N0} allowed (PdnnLoadOptions.MaxFileBytes).");
        if (expectedSha256 != null)
        {
            var actual = Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
                throw new PdnnModelFileException(path, ModelFileCheck.Sha256Mismatch, $"SHA-256 is {actual}, not the expected {expectedSha256.ToLowerInvariant()}: not the file you pinned.");
            stream.Position = 0;
        }
        using var zip = BoundedZip.Open(stream, path, options, nestedNames: false);
        var manifest = ReadManifest(zip, path, options);

        // First every check, with no side effect; then the build.
        var bytes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        bytes[manifest.InputSchemaEntry] = zip.Read(manifest.InputSchemaEntry);
        MlNetEntryCheck.Check(bytes[manifest.InputSchemaEntry], path, manifest.InputSchemaEntry, options);
        for (int i = 0; i < manifest.Stages.Count; i++)
        {
            var e = manifest.Stages[i];
            if (e.MlNetEntry != null)
            {
                bytes[e.MlNetEntry] = zip.Read(e.MlNetEntry);
                MlNetEntryCheck.Check(bytes[e.MlNetEntry], path, e.MlNetEntry, options);
                continue;
            }
            var d = e.Stage!;
            StageFactory.Validate(d, i, path, options);
            if (d.Model == null) continue;
            var model = bytes[d.Model] = zip.Read(d.Model);
            var actual = Sha256(model);
            if (actual != d.ModelSha256)
                throw new PdnnModelFileException(path, ModelFileCheck.ModelAltered, $"ONNX model of stage {i} ({d.Kind}) has SHA-256 {actual}, the manifest says {d.ModelSha256}; the file was altered.", d.Model);
            OnnxModelCheck.Check(model, path, d.Model, $"{i} ({d.Kind})", new ImageShape(d.Shape[0], d.Shape[1], d.Shape[2]),
                                 StageFactory.ModelInputChannels(d), d.Kind == "RobustClassify" ? d.ClassNames!.Length : null, options);
        }
        return Build(ml, path, manifest, bytes, device, out inputSchema);
    }

    /// <summary>Builds the checked chain; on any failure disposes what was built (ONNX Runtime sessions) and names the stage.</summary>
    static TransformerChain<ITransformer> Build(MLContext ml, string path, Manifest manifest, Dictionary<string, byte[]> bytes, ExecutionDevice device,
                                                out DataViewSchema inputSchema)
    {
        var transformers = new List<ITransformer>();
        string at = manifest.InputSchemaEntry;
        try
        {
            ml.Model.Load(new MemoryStream(bytes[at], writable: false), out inputSchema);
            var schema = inputSchema;
            for (int i = 0; i < manifest.Stages.Count; i++)
            {
                var e = manifest.Stages[i];
                at = e.MlNetEntry ?? $"stage {i} ({e.Stage!.Kind})";
                var t = e.MlNetEntry != null ? ml.Model.Load(new MemoryStream(bytes[e.MlNetEntry], writable: false), out _)
                    : StageFactory.Create(e.Stage!, e.Stage!.Model != null ? CacheOnnx(bytes[e.Stage.Model], e.Stage.ModelSha256!) : null, device);
                transformers.Add(t);
                // Each stage must fit the columns before it (unknown when the input was only image columns: no schema saved).
                if (schema != null) schema = t.GetOutputSchema(schema);
            }
            return new TransformerChain<ITransformer>([.. transformers]);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            foreach (var t in transformers) (t as IDisposable)?.Dispose();
            if (ex is PdnnModelFileException) throw;
            throw new PdnnModelFileException(path, ModelFileCheck.Chain, $"{at} does not load into a working chain: {ex.Message}", at, ex);
        }
    }

    static readonly JsonSerializerOptions ManifestJson = new() { MaxDepth = 16, UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    /// <summary>The manifest, checked: format and version, entry names each used once, no entry the manifest does not name.</summary>
    static Manifest ReadManifest(BoundedZip zip, string path, PdnnLoadOptions options)
    {
        const string name = "manifest.json";
        PdnnModelFileException Fail(ModelFileCheck check, string problem, string? entry = name) => new(path, check, problem, entry);
        if (!zip.Entries.TryGetValue(name, out var entry))
            throw Fail(ModelFileCheck.Manifest, "no manifest.json: not a Pdnn model file.", null);
        if (entry.Length > options.MaxManifestBytes)
            throw Fail(ModelFileCheck.Limit, $"{entry.Length:N0} bytes, over the {options.MaxManifestBytes:N0} allowed (PdnnLoadOptions.MaxManifestBytes).");
        Manifest? manifest;
        try { manifest = JsonSerializer.Deserialize<Manifest>(zip.Read(name), ManifestJson); }
        catch (JsonException e) { throw Fail(ModelFileCheck.Manifest, $"not a Pdnn manifest ({e.Message})"); }
        if (manifest == null || manifest.Format == null || manifest.InputSchemaEntry == null || manifest.Stages == null || manifest.Stages.Any(s => s == null))
            throw Fail(ModelFileCheck.Manifest, "not a Pdnn manifest (Format, Version, InputSchemaEntry and Stages are required).");
        if (manifest.Format != Format || manifest.Version != Version)
            throw Fail(ModelFileCheck.FormatVersion, $"format '{BoundedZip.Printable(manifest.Format)}' version {manifest.Version}; this library reads {Format} version {Version}.");
        if (manifest.Stages.Count > options.MaxStages)
            throw Fail(ModelFileCheck.Limit, $"{manifest.Stages.Count} stages, over the {options.MaxStages} allowed (PdnnLoadOptions.MaxStages).");

        var named = new List<string> { manifest.InputSchemaEntry };
        for (int i = 0; i < manifest.Stages.Count; i++)
        {
            var s = manifest.Stages[i];
            bool ok = s.Type == "mlnet" ? s.MlNetEntry != null && s.Stage == null : s.Type == "pdnn" && s.Stage != null && s.MlNetEntry == null;
            if (!ok) throw Fail(ModelFileCheck.Manifest, $"stage {i}: expected type 'mlnet' with an MlNetEntry, or 'pdnn' with a Stage description.");
            if (s.MlNetEntry != null) named.Add(s.MlNetEntry);
            if (s.Stage?.Model != null) named.Add(s.Stage.Model);
        }
        foreach (var n in named)
        {
            if (n == name || named.Count(x => x == n) > 1)
                throw Fail(ModelFileCheck.Manifest, $"entry '{BoundedZip.Printable(n)}' is named for more than one part.");
            if (!zip.Entries.ContainsKey(n))
                throw Fail(ModelFileCheck.MissingEntry, $"the manifest names entry '{BoundedZip.Printable(n)}', which the file lacks.", BoundedZip.Printable(n));
        }
        var extra = zip.Entries.Keys.Where(k => k != name && !named.Contains(k)).ToList();
        if (extra.Count > 0)
            throw Fail(ModelFileCheck.ExtraEntry, $"entries the manifest does not name: {string.Join(", ", extra.Select(x => $"'{x}'"))}; a Pdnn model file holds nothing else.", extra[0]);
        return manifest;
    }

    static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    static void WriteEntry(ZipArchive zip, string name, Action<Stream> write)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        write(s);
    }

    /// <summary>
    /// Writes an ONNX model into the cache ($PDNN_CACHE_DIR/onnx, else ~/.cache/pdnn/onnx) as &lt;sha256&gt;.onnx, once;
    /// returns its path. Loaded models are unpacked there (only after every check passed), and trainers that are not given
    /// a folder write there. The name is the bytes' own hash, never a name from a model file.
    /// </summary>
    public static string CacheOnnx(byte[] bytes) => CacheOnnx(bytes, Sha256(bytes));

    static string CacheOnnx(byte[] bytes, string sha)
    {
        var dir = Path.Combine(CacheDirectory(), "onnx");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, sha + ".onnx");
        if (!File.Exists(file) || !SameHash(file, sha))
        {
            var temp = file + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, file, overwrite: true);
        }
        return file;
    }

    static string CacheDirectory()
    {
        var env = Environment.GetEnvironmentVariable("PDNN_CACHE_DIR");
        return !string.IsNullOrEmpty(env) ? env : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "pdnn");
    }

    static bool SameHash(string file, string sha)
    {
        using var s = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant() == sha;
    }

    static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
}
