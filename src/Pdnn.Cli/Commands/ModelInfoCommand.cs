using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pdnn.Onnx.Import;
using Pdnn.Torch.Models.Recreation;
using TorchSharp;
using Spectre.Console;
using static TorchSharp.torch;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn model-info`: size and cost of every model in a models folder — parameters (from the card) and multiply-accumulates
/// per image (counted on its ONNX graph) — optionally written into the cards.
/// </summary>
static class ModelInfoCommand
{
    public static Command Create()
    {
        var models = new Option<string?>("--models") { Description = "The models folder (default: the repository's models/)." };
        var update = new Option<bool>("--update-cards") { Description = "Write MultiplyAccumulates into each model card." };
        var command = new Command("model-info", "Parameters and multiply-accumulates per image of every model in a models folder.") { models, update };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var dir = r.GetValue(models) ?? Pdnn.MLNet.ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("the models folder was not found; pass --models.");
            var table = new Table().AddColumns("model", "input", "parameters", "MACs / image", "FLOPs / image (≈ 2 MACs)");
            foreach (var card in Directory.GetFiles(dir, "*.card.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var onnx = Path.Combine(Path.GetDirectoryName(card)!, Path.GetFileName(card).Replace(".card.json", ".onnx"));
                if (!File.Exists(onnx)) continue;
                var json = JsonNode.Parse(File.ReadAllText(card))!.AsObject();
                using var graph = OnnxTorchGraph.Load(onnx, CPU);
                long[] shape = json["InputShape"] is JsonArray a ? a.Select(v => (long)v!).ToArray()
                    : json["Kind"]?.ToString() == "inpainter" ? [4, 32, 32] : [3, 32, 32];
                long macs = graph.MultiplyAccumulates(shape);
                long parameters = json["Parameters"]?.GetValue<long>() ?? 0;
                table.AddRow(Path.GetRelativePath(dir, Path.GetDirectoryName(card)!), string.Join("x", shape), parameters.ToString("N0", CultureInfo.InvariantCulture),
                    (macs / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M", (2 * macs / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M");
                if (r.GetValue(update))
                {
                    json["MultiplyAccumulates"] = macs;
                    File.WriteAllText(card, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                }
            }
            // The sizes no model was trained at here (paper size needs a GPU): counted on freshly built modules.
            foreach (var (name, module, shape) in new (string, nn.Module<Tensor, Tensor>, long[])[]
            {
                ("SR generator, paper size (architecture only)", new SrGenerator(SrGeneratorSpec.Paper), [3, 32, 32]),
                ("inpainter, paper size (architecture only)", new Inpainter(InpainterSpec.Paper), [4, 32, 32]),
            })
            {
                module.eval();
                using var graph = new OnnxTorchGraph(Google.Protobuf.MessageExtensions.ToByteArray(Pdnn.Onnx.OnnxExporter.Export(module, shape)), CPU);
                long macs = graph.MultiplyAccumulates(shape);
                table.AddRow(name, string.Join("x", shape), module.parameters().Sum(p => p.numel()).ToString("N0", CultureInfo.InvariantCulture),
                    (macs / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M", (2 * macs / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M");
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
