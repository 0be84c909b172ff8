using System.Security.Cryptography;
using System.Text.Json;
using Pdnn.Torch.Models;
using TorchSharp;

namespace Pdnn.Torch.Storage;

/// <summary>
/// A trained classifier on disk: &lt;name&gt;.weights.bin (TorchSharp format) and &lt;name&gt;.card.json (<see cref="ModelCard"/>).
/// </summary>
public static class ClassifierFile
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string CardPath(string dir, string name = "classifier") => Path.Combine(dir, name + ".card.json");

    /// <summary>Saves the weights, fills in their file name, hash and the model's normalisation, writes the card; returns the card's path.</summary>
    public static string Save(string dir, string name, CifarResNet model, ModelCard card)
    {
        Directory.CreateDirectory(dir);
        var weightsFile = name + ".weights.bin";
        var weightsPath = Path.Combine(dir, weightsFile);
        model.save(weightsPath);
        var cardPath = CardPath(dir, name);
        File.WriteAllText(cardPath, JsonSerializer.Serialize(card with
        {
            WeightsFile = weightsFile, WeightsSha256 = Sha256(weightsPath),
            NormalizeMean = model.Normalization.Mean, NormalizeStd = model.Normalization.Std,
        }, Json));
        return cardPath;
    }

    public static ModelCard ReadCard(string cardPath)
    {
        if (!File.Exists(cardPath)) throw new FileNotFoundException($"{cardPath}: model card not found.", cardPath);
        try
        {
            return JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(cardPath))
                   ?? throw new InvalidDataException($"{cardPath}: empty model card.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{cardPath}: not a valid model card ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Loads a classifier from its card (a .card.json path, or a folder holding classifier.card.json), after checking the
    /// weights' SHA-256 against the card. Returns it in eval mode on <paramref name="device"/>.
    /// </summary>
    public static (CifarResNet Model, ModelCard Card) Load(string path, torch.Device? device = null)
    {
        var cardPath = Directory.Exists(path) ? CardPath(path) : path;
        var card = ReadCard(cardPath);
        var weightsPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(cardPath))!, card.WeightsFile);
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"{weightsPath}: weights named by {cardPath} not found.", weightsPath);
        var actual = Sha256(weightsPath);
        if (!string.Equals(actual, card.WeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{weightsPath}: SHA-256 {actual} does not match {card.WeightsSha256} in {cardPath}; the weights were altered or belong to another model.");
        var spec = ResNetSpec.FromName(card.Architecture) with { Mean = card.NormalizeMean, Std = card.NormalizeStd };
        var model = new CifarResNet(spec, card.ClassNames.Length);
        model.load(weightsPath);
        if (device != null) model.to(device);
        model.eval();
        return (model, card);
    }

    public static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
