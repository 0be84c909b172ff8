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
    /// Loads a model saved by <see cref="Save"/>. ONNX models are checked against their SHA-256 and unpacked once into
    /// the cache ($PDNN_CACHE_DIR/onnx, else ~/.cache/pdnn/onnx), named by their hash.
    /// </summary>
    public static TransformerChain<ITransformer> Load(MLContext ml, string path, out DataViewSchema inputSchema, ExecutionDevice device = ExecutionDevice.Auto)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' not found.", path);
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException e) { throw new InvalidDataException($"'{path}' is not a Pdnn model file (not a zip archive).", e); }
        using (zip)
        {
            var manifestEntry = zip.GetEntry("manifest.json") ?? throw new InvalidDataException($"'{path}' has no manifest.json: not a Pdnn model file.");
            Manifest manifest;
            using (var s = manifestEntry.Open())
                manifest = JsonSerializer.Deserialize<Manifest>(s) ?? throw new InvalidDataException($"'{path}': empty manifest.");
            if (manifest.Format != Format || manifest.Version > Version)
                throw new InvalidDataException($"'{path}': format {manifest.Format} version {manifest.Version}; this library reads {Format} up to version {Version}.");
            ml.Model.Load(ReadEntry(zip, path, manifest.InputSchemaEntry), out inputSchema);

            var transformers = new List<ITransformer>();
            foreach (var e in manifest.Stages)
            {
                if (e.Type == "mlnet")
                    transformers.Add(ml.Model.Load(ReadEntry(zip, path, e.MlNetEntry!), out _));
                else
                {
                    var d = e.Stage ?? throw new InvalidDataException($"'{path}': a pdnn stage without its description.");
                    string? modelFile = null;
                    if (d.Model != null)
                    {
                        var bytes = ReadEntry(zip, path, d.Model).ToArray();
                        var actual = Sha256(bytes);
                        if (actual != d.ModelSha256)
                            throw new InvalidDataException($"'{path}': ONNX model '{d.Model}' of stage {d.Kind} has SHA-256 {actual}, the manifest says {d.ModelSha256}; the file was altered.");
                        modelFile = CacheOnnx(bytes, actual);
                    }
                    transformers.Add(StageFactory.Create(d, modelFile, device));
                }
            }
            return new TransformerChain<ITransformer>([.. transformers]);
        }
    }

    static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    static void WriteEntry(ZipArchive zip, string name, Action<Stream> write)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        write(s);
    }

    static MemoryStream ReadEntry(ZipArchive zip, string path, string name)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"'{path}' lacks its entry '{name}'.");
        var memory = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(memory);
        memory.Position = 0;
        return memory;
    }

    /// <summary>
    /// Writes an ONNX model into the cache ($PDNN_CACHE_DIR/onnx, else ~/.cache/pdnn/onnx) as &lt;sha256&gt;.onnx, once;
    /// returns its path. Loaded models are unpacked there, and trainers that are not given a folder write there.
    /// </summary>
    public static string CacheOnnx(byte[] bytes) => CacheOnnx(bytes, Sha256(bytes));

    static string CacheOnnx(byte[] bytes, string sha)
    {
        var dir = Path.Combine(CacheDirectory(), "onnx");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, sha + ".onnx");
        if (!File.Exists(file) || Sha256(File.ReadAllBytes(file)) != sha)
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

    static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
}
