using System.Globalization;
using System.Text.Json;
using Pdnn.Onnx;
using Pdnn.Torch.Models;

namespace Pdnn.Torch.Storage;

/// <summary>Exports a trained classifier to ONNX (logits out), with its card's facts as ONNX metadata.</summary>
public static class ClassifierOnnx
{
    public static void Export(CifarResNet model, ModelCard card, string path)
    {
        var metadata = new Dictionary<string, string>
        {
            ["class_names"] = JsonSerializer.Serialize(card.ClassNames),
            ["input_shape"] = string.Join(",", card.InputShape),
            ["value_range"] = "[0,1] RGB, channel-major; normalisation inside the model",
            ["output"] = "logits",
            ["architecture"] = card.Architecture,
            ["train_data"] = card.TrainData,
            ["test_accuracy"] = card.TestAccuracy?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["weights_sha256"] = card.WeightsSha256,
        };
        OnnxExporter.Save(OnnxExporter.Export(model, card.InputShape.Select(d => (long)d).ToArray(), metadata), path);
    }
}
