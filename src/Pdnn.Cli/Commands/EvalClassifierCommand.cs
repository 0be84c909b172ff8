using System.CommandLine;
using Pdnn.Data;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

static class EvalClassifierCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A classifier: its folder (holding classifier.card.json) or its .card.json file.", Required = true };
        var data = CommonOptions.Data("Data to evaluate on (any supported layout; see train-classifier --help).");
        var split = new Option<Split>("--split") { Description = "Which split of --data: Test or Train.", DefaultValueFactory = _ => Split.Test };
        var n = new Option<int?>("--n") { Description = "Evaluate on n uniformly random images (seeded) instead of all." };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass.", DefaultValueFactory = _ => 500 };
        var noCache = CommonOptions.NoCache();
        var centerCrop = CommonOptions.CenterCrop();

        var command = new Command("eval-classifier", "Test accuracy (overall and per class) of a trained classifier.")
        {
            model, data, split, n, seed, device, batch, noCache, centerCrop,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var deviceChoice = TorchDevice.Resolve(r.GetValue(device)!);
            AnsiConsole.MarkupLineInterpolated($"[grey]device:[/] {deviceChoice.Description}");
            var (classifier, card) = ClassifierFile.Load(r.GetValue(model)!, deviceChoice.Device);
            var size = (card.InputShape[1], card.InputShape[2]);
            var dataset = CommonOptions.LoadData(r.GetValue(data)!, r.GetValue(split), size, r.GetValue(noCache),
                CommonOptions.Mode(r.GetValue(centerCrop) || TrainedOnCentreCrops(card)));
            if (!dataset.ClassNames.SequenceEqual(card.ClassNames))
                throw new ArgumentException($"the data's classes ({string.Join(", ", dataset.ClassNames)}) differ from the model's ({string.Join(", ", card.ClassNames)}).");
            if (r.GetValue(n) is { } count) dataset = dataset.Sample(count, r.GetValue(seed));
            using var images = new DeviceImages(dataset, deviceChoice.Device);
            var result = ClassifierEvaluator.Evaluate(classifier, images, r.GetValue(batch));

            var table = new Table().AddColumns("class", "accuracy");
            for (int k = 0; k < card.ClassNames.Length; k++)
                table.AddRow(card.ClassNames[k], double.IsNaN(result.PerClassAccuracy[k]) ? "-" : result.PerClassAccuracy[k].ToString("P1"));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"[green]accuracy {result.Accuracy:P2}[/] ({result.Correct}/{result.Count}), mean loss {result.Loss:F4}, {card.Architecture} on {dataset.Source}");
            return 0;
        }));
        return command;
    }

    /// <summary>A classifier trained on centre crops (its card's training data says so) is tested on centre crops too.</summary>
    static bool TrainedOnCentreCrops(ModelCard card) => card.TrainData.Contains(", centre-cropped to ", StringComparison.Ordinal);
}
