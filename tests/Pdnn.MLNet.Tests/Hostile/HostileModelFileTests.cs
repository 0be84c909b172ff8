using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Transforms.Image;
using Onnx;
using Pdnn.MLNet.Persistence;
using Pdnn.Tests;

namespace Pdnn.MLNet.Tests.Hostile;

/// <summary>
/// The hostile-file corpus: a real φDNN model file (NSR over the shipped models, with ML.NET's image loading in front),
/// edited as an attacker would. Each file must be refused by the check named, with a message naming the file, within a
/// wide time bound (against hangs) and a memory bound (managed bytes allocated while loading: a bomb would take GiBs),
/// with nothing written to the cache folder.
/// </summary>
[TestClass]
public sealed class HostileModelFileTests
{
    static string good = "";
    static string folder = "";
    static string cache = "";
    static string? savedCache;

    const long MemoryBound = 32L << 20;     // managed bytes a refused load may allocate (the good file is 1.3 MB)
    static readonly TimeSpan TimeBound = TimeSpan.FromSeconds(30);

    [ClassInitialize]
    public static void SaveRealModel(TestContext _)
    {
        folder = TestPaths.NewTempDir();
        var ml = new MLContext(seed: 0);
        var models = Path.Combine(TestPaths.RepoRoot, "models");
        var data = ml.Data.LoadFromEnumerable(RealImages.Files.Select(f => new ImageRow { Path = f, Label = Path.GetFileName(Path.GetDirectoryName(f))! }));
        var chain = ml.Transforms.LoadImages("Bitmap", "", "Path")
            .Append(ml.Transforms.ResizeImages("Bitmap", 32, 32, "Bitmap"))
            .Append(ml.Transforms.ExtractPixels("Image", "Bitmap", ImagePixelExtractingEstimator.ColorBits.Rgb, ImagePixelExtractingEstimator.ColorsOrder.ARGB,
                                                interleavePixelColors: false, scaleImage: 1f / 255f))
            .Append(ShippedModels.Chain(ml, models, "nsr"));
        good = Path.Combine(folder, "nsr.zip");
        ml.Model.SavePdnn(chain.Fit(data), data.Schema, good);
        savedCache = Environment.GetEnvironmentVariable("PDNN_CACHE_DIR");
        cache = Path.Combine(folder, "cache");
        Environment.SetEnvironmentVariable("PDNN_CACHE_DIR", cache);
    }

    [ClassCleanup]
    public static void RestoreCache() => Environment.SetEnvironmentVariable("PDNN_CACHE_DIR", savedCache);

    static ModelZip Good() => ModelZip.Read(good);
    static string NewPath(string name) => Path.Combine(folder, name + ".zip");

    /// <summary>Loads <paramref name="path"/> expecting refusal by <paramref name="check"/>; asserts the bounds; returns the error.</summary>
    static PdnnModelFileException Refused(string path, ModelFileCheck check, string fragment, PdnnLoadOptions? options = null, string? sha = null)
    {
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        var ml = new MLContext(seed: 0);
        GC.Collect();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<PdnnModelFileException>(() => ml.Model.LoadPdnn(path, out _, options: options, expectedSha256: sha));
        clock.Stop();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;

        Assert.AreEqual(check, e.Check, e.Message);
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, fragment);
        Assert.IsLessThan(TimeBound, clock.Elapsed, $"refusing took {clock.Elapsed}");
        Assert.IsLessThan(MemoryBound, allocated, $"refusing allocated {allocated:N0} bytes");
        Assert.IsFalse(Directory.Exists(cache) && Directory.EnumerateFileSystemEntries(cache, "*", SearchOption.AllDirectories).Any(),
                       "a refused file wrote to the cache folder");
        return e;
    }

    [TestMethod]
    public void TheUneditedFileLoadsAndIsPinnedByItsSha256()
    {
        var ml = new MLContext(seed: 0);
        var sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(good)));
        var chain = ml.Model.LoadPdnn(good, out var schema, expectedSha256: sha);
        Assert.AreEqual(4, chain.Count());
        Assert.IsNotNull(schema.GetColumnOrNull("Path"));

        var e = Refused(good, ModelFileCheck.Sha256Mismatch, "not the file you pinned", sha: new string('0', 64));
        StringAssert.Contains(e.Message, sha.ToLowerInvariant());
    }

    [TestMethod]
    public void ZipBombIsRefusedBeforeItInflates()
    {
        // 128 MiB of zeros in a few hundred KB: refused from the central directory, never inflated.
        var path = NewPath("bomb");
        ZipBomb.Write(path, Good(), "stage-03.onnx", 128L << 20);
        var e = Refused(path, ModelFileCheck.CompressionRatio, "zip bomb");
        Assert.AreEqual("stage-03.onnx", e.Entry);

        // The same bomb declaring 1,000 bytes: inflation stops at the declared size, and those bytes are not the model.
        ZipBomb.Declare(path, "stage-03.onnx", 1000);
        Refused(path, ModelFileCheck.ModelAltered, "the file was altered");

        // Declaring 1.5 GiB: over the entry limit, refused before a byte is read.
        ZipBomb.Declare(path, "stage-03.onnx", 1536u << 20);
        Refused(path, ModelFileCheck.Limit, "PdnnLoadOptions.MaxEntryBytes");
    }

    [TestMethod]
    public void LimitsAreOptionsAndNameTheOption()
    {
        Refused(good, ModelFileCheck.Limit, "PdnnLoadOptions.MaxEntryBytes", new PdnnLoadOptions { MaxEntryBytes = 500_000 });
        Refused(good, ModelFileCheck.Limit, "PdnnLoadOptions.MaxFileBytes", new PdnnLoadOptions { MaxFileBytes = 1_000_000 });
        Refused(good, ModelFileCheck.Limit, "PdnnLoadOptions.MaxTotalBytes", new PdnnLoadOptions { MaxTotalBytes = 1_200_000 });
        Refused(good, ModelFileCheck.Limit, "PdnnLoadOptions.MaxStages", new PdnnLoadOptions { MaxStages = 3 });
        Refused(good, ModelFileCheck.Stage, "PdnnLoadOptions.MaxBatchSize", new PdnnLoadOptions { MaxBatchSize = 32 });
        Refused(good, ModelFileCheck.MlNet, "ImageLoaderTransform", new PdnnLoadOptions { AllowedMlNetKinds = new HashSet<string> { "TransformerChain" } });

        var many = Good();
        for (int i = 0; i < 300; i++) many.Entries.Add(($"extra-{i}", []));
        Refused(many.Write(NewPath("many")), ModelFileCheck.Limit, "PdnnLoadOptions.MaxEntries");
    }

    [TestMethod]
    [DataRow("../../evil.onnx")]
    [DataRow("/etc/evil.onnx")]
    [DataRow("sub/stage.onnx")]
    [DataRow("..\\evil.onnx")]
    [DataRow("evil\n.onnx")]
    public void PathLikeEntryNamesAreRefused(string name)
    {
        var m = Good();
        m.Entries.Add((name, [1, 2, 3]));
        Refused(m.Write(NewPath("traversal")), ModelFileCheck.EntryName, "not a plain file name");
    }

    [TestMethod]
    public void DuplicateMissingAndExtraEntriesAreRefused()
    {
        var twice = Good();
        twice.Entries.Add(("stage-03.onnx", twice["stage-02.onnx"]));
        Refused(twice.Write(NewPath("duplicate")), ModelFileCheck.EntryName, "'stage-03.onnx': appears twice");

        var missing = Good();
        missing.Entries.RemoveAll(e => e.Name == "stage-02.onnx");
        Refused(missing.Write(NewPath("missing")), ModelFileCheck.MissingEntry, "'stage-02.onnx', which the file lacks");

        var extra = Good();
        extra.Entries.Add(("payload.bin", new byte[100]));
        Refused(extra.Write(NewPath("extra")), ModelFileCheck.ExtraEntry, "'payload.bin'");

        var shared = Good();
        var manifest = shared.Manifest;
        ModelZip.Stage(manifest, "SuperResolve")["Model"] = "stage-03.onnx";
        shared.Manifest = manifest;
        Refused(shared.Write(NewPath("shared")), ModelFileCheck.Manifest, "named for more than one part");

        var noManifest = Good();
        noManifest.Entries.RemoveAll(e => e.Name == "manifest.json");
        Refused(noManifest.Write(NewPath("no-manifest")), ModelFileCheck.Manifest, "no manifest.json");
    }

    [TestMethod]
    public void TruncatedOrForeignFilesAreRefused()
    {
        var bytes = File.ReadAllBytes(good);
        foreach (var keep in new[] { 0, 10, 1000, bytes.Length / 2, bytes.Length - 30 })
        {
            var path = NewPath($"truncated-{keep}");
            File.WriteAllBytes(path, bytes[..keep]);
            Refused(path, ModelFileCheck.NotAZipArchive, "not a zip archive");
        }
        // The directory intact, an entry's data cut short: found when the entry is read.
        var cut = (byte[])bytes.Clone();
        var m = Good();
        int at = FindLocalHeader(cut, "stage-03.onnx") + 30 + "stage-03.onnx".Length + 1000;
        Array.Clear(cut, at, 200_000);
        var damaged = NewPath("damaged");
        File.WriteAllBytes(damaged, cut);
        var e = Assert.ThrowsExactly<PdnnModelFileException>(() => new MLContext().Model.LoadPdnn(damaged, out _));
        Assert.AreEqual("stage-03.onnx", e.Entry, e.Message);
    }

    static int FindLocalHeader(byte[] zip, string name)
    {
        var key = System.Text.Encoding.ASCII.GetBytes(name);
        for (int i = 0; i + 30 + key.Length < zip.Length; i++)
            if (zip[i] == 0x50 && zip[i + 1] == 0x4b && zip[i + 2] == 3 && zip[i + 3] == 4 && zip.AsSpan(i + 30, key.Length).SequenceEqual(key)) return i;
        throw new InvalidOperationException(name);
    }

    [TestMethod]
    [DataRow("{\"Format\":\"pdnn-model\",\"Version\":2,\"InputSchemaEntry\":\"input-schema.mlnet.zip\",\"Stages\":[]}", ModelFileCheck.FormatVersion, "version 2")]
    [DataRow("{\"Format\":\"pdnn-model\",\"Version\":0,\"InputSchemaEntry\":\"input-schema.mlnet.zip\",\"Stages\":[]}", ModelFileCheck.FormatVersion, "version 0")]
    [DataRow("{\"Format\":\"onnx\",\"Version\":1,\"InputSchemaEntry\":\"input-schema.mlnet.zip\",\"Stages\":[]}", ModelFileCheck.FormatVersion, "format 'onnx'")]
    [DataRow("{\"Format\":\"pdnn-model\"", ModelFileCheck.Manifest, "not a Pdnn manifest")]
    [DataRow("[1,2,3]", ModelFileCheck.Manifest, "not a Pdnn manifest")]
    [DataRow("{\"Format\":\"pdnn-model\",\"Version\":1,\"InputSchemaEntry\":\"input-schema.mlnet.zip\",\"Stages\":[],\"Run\":\"rm -rf\"}", ModelFileCheck.Manifest, "Run")]
    public void WrongManifestsAreRefused(string json, ModelFileCheck check, string fragment)
    {
        var m = Good();
        m["manifest.json"] = System.Text.Encoding.UTF8.GetBytes(json);
        m.Entries.RemoveAll(e => e.Name.StartsWith("stage-"));
        Refused(m.Write(NewPath("manifest")), check, fragment);
    }

    /// <summary>Each edit of one value of a stage description, and the words its refusal must contain.</summary>
    public static IEnumerable<object[]> StageEdits =>
    [
        ["NoisyCorrupt", "Parameters.gaussianVariance", "-0.1", ModelFileCheck.Stage, "'gaussianVariance' is -0.1"],
        ["NoisyCorrupt", "Parameters.gaussianVariance", "\"NaN\"", ModelFileCheck.Manifest, "not a Pdnn manifest"],
        ["NoisyCorrupt", "Parameters.gaussianVariance", "1e308", ModelFileCheck.Stage, "'gaussianVariance' is 1E+308"],
        ["NoisyCorrupt", "Parameters.salt", "0.995", ModelFileCheck.Stage, "sum to at most 1"],
        ["NoisyCorrupt", "Parameters.seed", "1e300", ModelFileCheck.Stage, "'seed'"],
        ["NoisyCorrupt", "Parameters.seed", "2.5", ModelFileCheck.Stage, "an integer"],
        ["NoisyCorrupt", "Parameters.shell", "1", ModelFileCheck.Stage, "unknown parameter 'shell'"],
        ["NoisyCorrupt", "BatchSize", "2147483647", ModelFileCheck.Stage, "batch size 2147483647"],
        ["NoisyCorrupt", "BatchSize", "0", ModelFileCheck.Stage, "batch size 0"],
        ["NoisyCorrupt", "Shape", "[3, 32]", ModelFileCheck.Stage, "image shape [3, 32]"],
        ["NoisyCorrupt", "Shape", "[3, 100000, 100000]", ModelFileCheck.Stage, "MaxImageSide"],
        ["NoisyCorrupt", "Shape", "[3, 64, 64]", ModelFileCheck.Chain, "Vector<Single, 12288>"],
        ["NoisyCorrupt", "Kind", "\"Shell\"", ModelFileCheck.Stage, "unknown kind"],
        ["NoisyCorrupt", "InputColumn", "\"\"", ModelFileCheck.Stage, "input column name"],
        ["NoisyCorrupt", "InputColumn", "\"Nowhere\"", ModelFileCheck.Chain, "'Nowhere' not found"],
        ["NoisyCorrupt", "Model", "\"stage-02.onnx\"", ModelFileCheck.Manifest, "more than one part"],
        ["RobustClassify", "ClassNames", "[\"cat\",\"cat\",\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]", ModelFileCheck.Stage, "'cat' appears twice"],
        ["RobustClassify", "ClassNames", "[\"a\\u0000b\",\"c\"]", ModelFileCheck.Stage, "class name 0"],
        ["RobustClassify", "ClassNames", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]", ModelFileCheck.Onnx, "11 class names"],
        ["RobustClassify", "ClassNames", "null", ModelFileCheck.Stage, "0 class names"],
        ["RobustClassify", "ModelSha256", "\"../../etc/passwd\"", ModelFileCheck.Stage, "SHA-256"],
        ["RobustClassify", "ModelSha256", "\"" + new string('a', 64) + "\"", ModelFileCheck.ModelAltered, "the file was altered"],
        ["RobustClassify", "OutputColumns", "[\"Score\"]", ModelFileCheck.Stage, "1 output columns, expected 2"],
    ];

    [TestMethod]
    [DynamicData(nameof(StageEdits))]
    public void OutOfRangeStageDescriptionsAreRefused(string kind, string field, string json, ModelFileCheck check, string fragment)
    {
        var m = Good();
        var manifest = m.Manifest;
        var stage = ModelZip.Stage(manifest, kind);
        var parts = field.Split('.');
        var target = parts.Length == 2 ? stage[parts[0]]!.AsObject() : stage;
        target[parts[^1]] = JsonNode.Parse(json);
        var text = manifest.ToJsonString();
        if (json == "\"NaN\"") text = text.Replace("\"NaN\"", "NaN"); // NaN as a bare literal, as a careless writer would put it
        m["manifest.json"] = System.Text.Encoding.UTF8.GetBytes(text);
        Refused(m.Write(NewPath("stage")), check, fragment);
    }

    [TestMethod]
    public void OnnxWithExternalDataIsRefusedBeforeOnnxRuntimeReadsIt()
    {
        var m = Good();
        m.EditOnnx("RobustClassify", model =>
        {
            var t = model.Graph.Initializer[0];
            t.RawData = Google.Protobuf.ByteString.Empty;
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../../../etc/shadow" });
        });
        var e = Refused(m.Write(NewPath("external")), ModelFileCheck.Onnx, "'../../../../etc/shadow'");
        Assert.AreEqual("stage-03.onnx", e.Entry);
    }

    [TestMethod]
    public void OnnxFromAnotherOperatorDomainIsRefused()
    {
        var custom = Good();
        custom.EditOnnx("SuperResolve", model => model.Graph.Node[0].Domain = "com.example.native");
        Refused(custom.Write(NewPath("domain")), ModelFileCheck.Onnx, "operator domain 'com.example.native'");

        var imported = Good();
        imported.EditOnnx("SuperResolve", model => model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 }));
        Refused(imported.Write(NewPath("opset")), ModelFileCheck.Onnx, "imports operator domain 'com.microsoft'");

        var function = Good();
        function.EditOnnx("SuperResolve", model => model.Functions.Add(new FunctionProto { Name = "f", Domain = "" }));
        Refused(function.Write(NewPath("function")), ModelFileCheck.Onnx, "model-local function");
    }

    [TestMethod]
    public void OnnxThatDoesNotFitTheColumnIsRefused()
    {
        var small = Good();
        small.EditOnnx("RobustClassify", model =>
        {
            model.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimValue = 28;
            model.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimValue = 28;
        });
        Refused(small.Write(NewPath("input-shape")), ModelFileCheck.Onnx, "has shape [?, 3, 28, 28], but the column holds 3x32x32 images");

        var grey = Good();
        grey.EditOnnx("SuperResolve", model => model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = 1);
        Refused(grey.Write(NewPath("channels")), ModelFileCheck.Onnx, "[?, 1, 32, 32]");

        var fixedBatch = Good();
        fixedBatch.EditOnnx("RobustClassify", model => model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue = 7);
        Refused(fixedBatch.Write(NewPath("batch")), ModelFileCheck.Onnx, "fixed batch of 7");

        var nan = Good();
        nan.EditOnnx("RobustClassify", model =>
        {
            var t = model.Graph.Initializer.First(i => i.RawData.Length >= 4);
            var bytes = t.RawData.ToByteArray();
            BitConverter.GetBytes(float.NaN).CopyTo(bytes, 0);
            t.RawData = Google.Protobuf.ByteString.CopyFrom(bytes);
        });
        Refused(nan.Write(NewPath("nan-weight")), ModelFileCheck.Onnx, "holds NaN; weights must be finite");

        var notOnnx = Good();
        var manifest = notOnnx.Manifest;
        notOnnx["stage-02.onnx"] = System.Text.Encoding.UTF8.GetBytes("#!/bin/sh\nrm -rf /\n");
        ModelZip.Stage(manifest, "SuperResolve")["ModelSha256"] = Convert.ToHexString(SHA256.HashData(notOnnx["stage-02.onnx"])).ToLowerInvariant();
        notOnnx.Manifest = manifest;
        Refused(notOnnx.Write(NewPath("not-onnx")), ModelFileCheck.Onnx, "not an ONNX model");
    }

    [TestMethod]
    public void MlNetEntriesHoldOnlyTheKindsAPdnnChainHas()
    {
        // A normaliser saved by ML.NET itself, put where the image-loading stages were.
        var ml = new MLContext(seed: 0);
        var rows = ml.Data.LoadFromEnumerable(new[] { new NumberRow { X = 1 }, new NumberRow { X = 3 } });
        var normaliser = ml.Transforms.NormalizeMinMax("X").Fit(rows);
        var saved = Path.Combine(folder, "normaliser.zip");
        ml.Model.Save(normaliser, rows.Schema, saved);
        var m = Good();
        m["stage-00.mlnet.zip"] = File.ReadAllBytes(saved);
        var e = Refused(m.Write(NewPath("normaliser")), ModelFileCheck.MlNet, "Normalizer");
        Assert.AreEqual("stage-00.mlnet.zip", e.Entry);

        var notMlNet = Good();
        notMlNet["input-schema.mlnet.zip"] = notMlNet["manifest.json"];
        Refused(notMlNet.Write(NewPath("not-mlnet")), ModelFileCheck.NotAZipArchive, "the ML.NET model inside");
    }

    sealed class NumberRow { public float X { get; set; } }
}
