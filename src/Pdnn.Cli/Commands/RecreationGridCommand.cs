using System.CommandLine;
using Microsoft.ML;
using Pdnn.Attacks.Twins;
using Pdnn.Data;
using Pdnn.Figures;
using Pdnn.MLNet;
using Pdnn.MLNet.Transforms;
using Pdnn.Torch.Models.Recreation;
using Spectre.Console;
using static TorchSharp.torch;

namespace Pdnn.Cli.Commands;

/// <summary>
/// `pdnn recreation-grid`: a PNG of what a shipped recreation does — clean, corrupted (NSR: the noise δ; FIR: the first
/// of its 10 masks applied) and recreated — for one test image of each class, through the deployed chain's twin.
/// </summary>
static class RecreationGridCommand
{
    public static Command Create()
    {
        var defense = new Option<string>("--defense") { Description = "nsr or fir.", Required = true };
        var grid = new Option<int>("--grid") { Description = "FIR's grid cell size g.", DefaultValueFactory = _ => 4 };
        var models = new Option<string?>("--models") { Description = "The models folder (default: the repository's models/)." };
        var data = new Option<string?>("--data") { Description = $"Test data (default: the bundled sample, {DemoCommand.SampleFolder})." };
        var output = new Option<string>("--out") { Description = "The PNG to write.", Required = true };
        var command = new Command("recreation-grid", "Clean / corrupted / recreated images, one per class, for a shipped recreation.") { defense, grid, models, data, output };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var d = r.GetValue(defense)!;
            if (d is not ("nsr" or "fir")) throw new ArgumentException($"--defense '{d}': expected nsr or fir.");
            var dir = r.GetValue(models) ?? ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("the models folder was not found; pass --models.");
            var test = CommonOptions.LoadData(r.GetValue(data) ?? DemoCommand.FindSample(), Split.Test, null, noCache: false);
            // The first test image of each class.
            var labels = test.Labels.ToArray();
            var picks = Enumerable.Range(0, test.ClassNames.Count).Select(c => Array.IndexOf(labels, (byte)c)).Where(i => i >= 0).ToArray();
            var images = test.Subset(picks, test.Source);
            var ml = new MLContext(seed: 0);
            var view = ml.Data.LoadFromImageDataset(images);
            var model = ShippedModels.Chain(ml, dir, d, r.GetValue(grid)).Fit(view);
            using var twin = ChainTwin.FromChain(model, CPU);
            using var noGrad = no_grad();
            manual_seed(0);
            var x = tensor(Enumerable.Range(0, images.Count).SelectMany(i => images.Image(i).ToArray()).Select(b => b / 255f).ToArray(), [images.Count, 3, images.Height, images.Width]);
            Tensor corrupted, recreated;
            if (d == "nsr")
            {
                corrupted = twin.Stages[0].Forward(x);
                recreated = twin.Stages[1].Forward(corrupted);
            }
            else
            {
                var fir = ((IEnumerable<ITransformer>)model).OfType<MaskedInpaintAggregateTransformer>().Single();
                corrupted = x * (1 - Recreations.MaskTensor(fir.Masks, CPU)[0]);
                recreated = twin.Recreate(x);
            }
            float[][] Row(Tensor t) => Enumerable.Range(0, images.Count).Select(i => t[i].contiguous().data<float>().ToArray()).ToArray();
            ImageGrid.SavePng(r.GetValue(output)!, [("clean", Row(x)), (d == "nsr" ? "corrupted (δ)" : "masked (1 of 10)", Row(corrupted)), ("recreated", Row(recreated.clamp(0, 1)))],
                images.Height, images.Width);
            AnsiConsole.MarkupLineInterpolated($"wrote {r.GetValue(output)} ({twin.Description}; columns: {string.Join(", ", images.ClassNames)})");
            return 0;
        }));
        return command;
    }
}
