using System.CommandLine;
using Pdnn.Torch.Storage;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

static class ExportOnnxCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A classifier: its folder (holding classifier.card.json) or its .card.json file.", Required = true };
        var output = new Option<string?>("--out") { Description = "The ONNX file to write (default: classifier.onnx beside the card)." };
        var command = new Command("export-onnx", "Export a trained classifier to ONNX (opset 18, dynamic batch, logits out, class names as metadata) for RobustClassify and ONNX Runtime.")
        {
            model, output,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var (classifier, card) = ClassifierFile.Load(r.GetValue(model)!);
            var cardDir = Directory.Exists(r.GetValue(model)!) ? r.GetValue(model)! : Path.GetDirectoryName(Path.GetFullPath(r.GetValue(model)!))!;
            var path = r.GetValue(output) ?? Path.Combine(cardDir, "classifier.onnx");
            ClassifierOnnx.Export(classifier, card, path);
            AnsiConsole.MarkupLineInterpolated($"wrote {path} ({new FileInfo(path).Length / 1024.0:F0} KiB, {card.Architecture}, {card.ClassNames.Length} classes)");
            return 0;
        }));
        return command;
    }
}
