using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.MLNet.Execution;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// Throughput of ML.NET inference over an ONNX classifier on real images: RobustClassify in batches of several sizes,
/// against ML.NET's own ApplyOnnxModel (one ONNX Runtime call per row); optionally with a recreation stage in front.
/// </summary>
static class BenchInferenceCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--classifier") { Description = "ONNX classifier (pdnn export-onnx).", Required = true };
        var data = new Option<string?>("--data") { Description = $"Images (default: the bundled sample's test split, {DemoCommand.SampleFolder})." };
        var batches = new Option<string>("--batch-sizes") { Description = "Comma-separated RobustClassify batch sizes.", DefaultValueFactory = _ => "1,16,64,256" };
        var sr = new Option<string?>("--sr") { Description = "Also time NoisyCorrupt → SuperResolve → RobustClassify with this ONNX generator." };
        var inpainter = new Option<string?>("--inpainter") { Description = "Also time MaskedInpaintAggregate (10 masks) → RobustClassify with this ONNX inpainter." };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes; the median is reported.", DefaultValueFactory = _ => 3 };
        var results = new Option<string?>("--results") { Description = "Append Markdown table rows to this file." };
        var command = new Command("bench-inference", "Images/s of ML.NET inference: batched RobustClassify vs ML.NET's row-at-a-time ApplyOnnxModel, and φDNN chains.")
        {
            model, data, batches, sr, inpainter, repeats, results,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var images = DatasetLoader.Load(r.GetValue(data) ?? DemoCommand.SampleFolder, Split.Test);
            var ml = new MLContext(seed: 0);
            // Cached, so the timed passes measure inference, not the conversion of bytes to floats.
            var view = ml.Data.Cache(ml.Data.LoadFromImageDataset(images));
            var classifier = r.GetValue(model)!;
            var table = new List<(string Name, double ImagesPerSecond)>();

            double Time(ITransformer t, string column)
            {
                var runs = Enumerable.Range(0, Math.Max(1, r.GetValue(repeats))).Select(_ =>
                {
                    var clock = Stopwatch.StartNew();
                    var n = t.Transform(view).GetColumn<VBuffer<float>>(column).Count();
                    return n / clock.Elapsed.TotalSeconds;
                }).Order().ToList();
                return runs[runs.Count / 2];
            }

            foreach (var b in r.GetValue(batches)!.Split(',').Select(int.Parse))
                table.Add(($"RobustClassify, batch {b}", Time(ml.Transforms.RobustClassify(classifier, batchSize: b, device: ExecutionDevice.Cpu).Fit(view), "Score")));
            var native = ml.Transforms.ApplyOnnxModel(["output"], ["input"], classifier,
                    shapeDictionary: new Dictionary<string, int[]> { ["input"] = [1, 3, images.Height, images.Width] }, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100);
            table.Add(("ML.NET ApplyOnnxModel (row at a time)", Time(ml.Transforms.CopyColumns("input", "Image").Append(native).Fit(view), "output")));
            if (r.GetValue(sr) is { } srModel)
                table.Add(("NSR: NoisyCorrupt → SuperResolve → RobustClassify, batch 64", Time(ml.Transforms.NoisyCorrupt("Image", new() { GaussianVariance = 0.01 })
                    .Append(ml.Transforms.SuperResolve("Image", srModel, device: ExecutionDevice.Cpu)).Append(ml.Transforms.RobustClassify(classifier, device: ExecutionDevice.Cpu)).Fit(view), "Score")));
            if (r.GetValue(inpainter) is { } inpainterModel)
                table.Add(("FIR: MaskedInpaintAggregate(10) → RobustClassify, batch 64", Time(ml.Transforms.MaskedInpaintAggregate("Image", inpainterModel, device: ExecutionDevice.Cpu)
                    .Append(ml.Transforms.RobustClassify(classifier, device: ExecutionDevice.Cpu)).Fit(view), "Score")));

            var hardware = Pdnn.Torch.Devices.Hardware.CpuModel() + $", {Environment.ProcessorCount} logical cores";
            foreach (var (name, speed) in table) AnsiConsole.MarkupLineInterpolated($"{name,-62} {speed,10:F1} images/s");
            AnsiConsole.MarkupLineInterpolated($"[grey]{images.Count} images from {images.Source}; ONNX Runtime CPU; {hardware}[/]");
            if (r.GetValue(results) is { } file)
                File.AppendAllLines(file, table.Select(t => string.Create(CultureInfo.InvariantCulture,
                    $"| {DateTime.UtcNow:yyyy-MM-dd} | {Path.GetFileName(classifier)} | {t.Name} | {t.ImagesPerSecond:F1} | {hardware} |")));
            return 0;
        }));
        return command;
    }
}
