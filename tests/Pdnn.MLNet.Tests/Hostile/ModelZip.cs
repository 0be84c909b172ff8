using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Onnx;

namespace Pdnn.MLNet.Tests.Hostile;

/// <summary>
/// A model file taken apart into its entries, to be edited as an attacker would (names, bytes, manifest, ONNX graphs) and
/// written back as a zip; duplicate and path-like names are written as given.
/// </summary>
sealed class ModelZip
{
    public List<(string Name, byte[] Bytes)> Entries { get; } = [];

    public static ModelZip Read(string path)
    {
        var m = new ModelZip();
        using var zip = ZipFile.OpenRead(path);
        foreach (var e in zip.Entries)
        {
            using var s = e.Open();
            var bytes = new MemoryStream();
            s.CopyTo(bytes);
            m.Entries.Add((e.FullName, bytes.ToArray()));
        }
        return m;
    }

    public byte[] this[string name]
    {
        get => Entries.Single(e => e.Name == name).Bytes;
        set => Entries[Entries.FindIndex(e => e.Name == name)] = (name, value);
    }

    public JsonObject Manifest
    {
        get => JsonNode.Parse(this["manifest.json"])!.AsObject();
        set => this["manifest.json"] = System.Text.Encoding.UTF8.GetBytes(value.ToJsonString());
    }

    /// <summary>The description of the first stage of <paramref name="kind"/>.</summary>
    public static JsonObject Stage(JsonObject manifest, string kind) =>
        manifest["Stages"]!.AsArray().Select(s => s!["Stage"]).OfType<JsonObject>().First(s => (string?)s["Kind"] == kind);

    /// <summary>Edits the ONNX model of the first stage of <paramref name="kind"/> and re-signs it in the manifest (an attacker edits both).</summary>
    public void EditOnnx(string kind, Action<ModelProto> edit)
    {
        var manifest = Manifest;
        var stage = Stage(manifest, kind);
        var entry = (string)stage["Model"]!;
        var model = ModelProto.Parser.ParseFrom(this[entry]);
        edit(model);
        this[entry] = model.ToByteArray();
        stage["ModelSha256"] = Convert.ToHexString(SHA256.HashData(this[entry])).ToLowerInvariant();
        Manifest = manifest;
    }

    public string Write(string path, CompressionLevel level = CompressionLevel.Fastest)
    {
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
            foreach (var (name, bytes) in Entries)
            {
                using var s = zip.CreateEntry(name, level).Open();
                s.Write(bytes);
            }
        return path;
    }
}
