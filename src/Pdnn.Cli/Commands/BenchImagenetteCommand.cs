using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Attacks.Attacks;
using Pdnn.Attacks.Twins;
using Pdnn.Data;
using Pdnn.Data.Readers;
using Pdnn.MLNet;
using Pdnn.Torch.Devices;
using Spectre.Console;
using static TorchSharp.torch;

namespace Pdnn.Cli.Commands;

/// <summary>
/// Throughput of the Imagenette chain at its resolution (64x64): the deployed ML.NET chain from JPEG files (decode,
/// resize and crop, pixel extraction, classifier) and from pixels already in memory, and PGD-10 through its twin.
/// </summary>
static class BenchImagenetteCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data("An Imagenette folder (imagenette2-160); its validation images are used.");
        var defense = new Option<string>("--defense") { Description = $"Comma-separated: {string.Join(", ", ImagenetteModels.Defences)}.", DefaultValueFactory = _ => "none" };
        var n = new Option<int>("--n") { Description = "Validation images (uniform sample, seed 0) per timed pass of the chain.", DefaultValueFactory = _ => 500 };
        var pgdN = new Option<int>("--pgd-n") { Description = "Images per timed PGD-10 pass (one batch).", DefaultValueFactory = _ => 100 };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes after one untimed; the median is reported.", DefaultValueFactory = _ => 3 };
        var device = CommonOptions.Device();
        var results = new Option<string?>("--results") { Description = "Append Markdown table rows to this file." };
        var command = new Command("bench-imagenette", "Images/s of the Imagenette ML.NET chain (from JPEG files and from pixels) and of PGD-10 through its twin.")
        {
            data, defense, n, pgdN, repeats, device, results,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var choice = TorchDevice.Resolve(r.GetValue(device)!);
            var models = ShippedModels.Folder();
            const int side = ImagenetteModels.ImageSize;
            var test = ImagenetteModels.WithClassNames(CommonOptions.LoadData(r.GetValue(data)!, Split.Test, (side, side), noCache: false, ResizeMode.CenterCrop));
            var sample = test.Sample(r.GetValue(n), 0);
            var root = Path.Combine(r.GetValue(data)!, "val");
            var files = ImageFolderReader.List(root).SelectMany(c => c.Files).ToList();
            var rng = new Random(0);
            var chosen = files.OrderBy(_ => rng.Next()).Take(r.GetValue(n)).Select(f => new ImagenetteModels.ImageFile { Path = Path.GetFullPath(f) }).ToList();
            var ml = new MLContext(seed: 0);
            var fileView = ml.Data.LoadFromEnumerable(chosen);
            var pixelView = ml.Data.Cache(ml.Data.LoadFromImageDataset(sample));
            var rows = new List<(string Defence, string Measure, double Value)>();

            double Median(Func<double> run)
            {
                run(); // the first pass pays for session creation and thread-pool warm-up
                int k = Math.Max(1, r.GetValue(repeats));
                return Enumerable.Range(0, k).Select(_ => run()).Order().ElementAt(k / 2);
            }
            double Pass(ITransformer model, IDataView view, int count)
            {
                var clock = Stopwatch.StartNew();
                int rowsRead = model.Transform(view).GetColumn<VBuffer<float>>("Score").Count();
                if (rowsRead != count) throw new InvalidOperationException($"the chain gave {rowsRead} scores for {count} images.");
                return count / clock.Elapsed.TotalSeconds;
            }

            foreach (var d in r.GetValue(defense)!.Split(',', StringSplitOptions.TrimEntries))
            {
                var name = ImagenetteModels.Describe(d);
                var fromFiles = ImagenetteModels.Chain(ml, models, d).Fit(fileView);
                rows.Add((name, $"ML.NET chain from JPEG files (LoadImages → ResizeImages → ExtractPixels → …), {chosen.Count} files", Median(() => Pass(fromFiles, fileView, chosen.Count))));
                var fromPixels = ImagenetteModels.Defence(ml, models, d).Fit(pixelView);
                rows.Add((name, $"ML.NET chain from 3x64x64 pixels in memory, {sample.Count} images", Median(() => Pass(fromPixels, pixelView, sample.Count))));

                using var twin = ChainTwin.FromChain(fromPixels, choice.Device);
                var attacked = sample.Sample(Math.Min(r.GetValue(pgdN), sample.Count), 1);
                var pixels = Enumerable.Range(0, attacked.Count).SelectMany(i => attacked.Image(i).ToArray()).Select(b => b / 255f).ToArray();
                using var x = tensor(pixels, [attacked.Count, 3, side, side]).to(choice.Device);
                using var y = tensor(attacked.Labels.Select(l => (long)l).ToArray()).to(choice.Device);
                rows.Add((name, $"PGD-10 (ε = 8/255, step 2/255) through the twin, batches of {attacked.Count}", Median(() =>
                {
                    var clock = Stopwatch.StartNew();
                    using var scope = NewDisposeScope();
                    new Pgd(twin.Logits, 8.0 / 255, 2.0 / 255, 10).Perturb(x, y).cpu();
                    return attacked.Count / clock.Elapsed.TotalSeconds;
                })));
                foreach (var row in rows.Where(row => row.Defence == name))
                    AnsiConsole.MarkupLineInterpolated($"{row.Defence,-42} {row.Measure,-90} {row.Value,8:F1} images/s");
            }
            var hardware = choice.IsCuda ? choice.Description : Hardware.CpuModel() + $", {Environment.ProcessorCount} logical cores";
            AnsiConsole.MarkupLineInterpolated($"[grey]Imagenette-160 validation images at 64x64; TorchSharp on {choice.Description} ({get_num_threads()} threads); {hardware}[/]");
            if (r.GetValue(results) is { } file)
                File.AppendAllLines(file, rows.Select(t => string.Create(CultureInfo.InvariantCulture,
                    $"| {DateTime.UtcNow:yyyy-MM-dd} | {t.Defence} | {t.Measure} | {t.Value:F1} images/s | {hardware} |")));
            return 0;
        }));
        return command;
    }
}
