using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.MLNet;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// Throughput of the deployed ML.NET chains (ResNet-20, NSR, FIR over the shipped models) against the same ONNX models
/// run by plain ONNX Runtime sessions on the same images, batch size and (default) thread settings; the ratio says what
/// the chain's own work (ML.NET plumbing, copies, checks, and the stages' non-model work: noise, resize, masks) costs.
/// </summary>
static class BenchInferenceCommand
{
    public static Command Create()
    {
        var models = new Option<string?>("--models") { Description = "The models folder (default: the repository's models/)." };
        var data = new Option<string?>("--data") { Description = $"Images (default: the bundled sample's test split, {DemoCommand.SampleFolder})." };
        var batches = new Option<string>("--batch-sizes") { Description = "Comma-separated batch sizes for ResNet-20 (chain and raw ONNX Runtime alike).", DefaultValueFactory = _ => "1,64" };
        var chains = new Option<string>("--chains") { Description = "Comma-separated: resnet20, applyonnx (ML.NET's ApplyOnnxModel, row at a time), nsr, fir.", DefaultValueFactory = _ => "resnet20,applyonnx,nsr,fir" };
        var repeats = new Option<int>("--repeats") { Description = "Timed measurements of each side, interleaved; the medians are reported.", DefaultValueFactory = _ => 5 };
        var seconds = new Option<double>("--min-seconds") { Description = "Each measurement repeats passes over the data until this long.", DefaultValueFactory = _ => 2 };
        var results = new Option<string?>("--results") { Description = "Append Markdown table rows to this file." };
        var command = new Command("bench-inference", "Images/s of the ML.NET chains (ResNet-20, NSR, FIR) against plain ONNX Runtime sessions on the same models, and their ratio.")
        {
            models, data, batches, chains, repeats, seconds, results,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var modelsDir = r.GetValue(models) ?? ShippedModels.FindFolder() ?? throw new DirectoryNotFoundException("the models folder was not found; pass --models.");
            var images = DatasetLoader.Load(r.GetValue(data) ?? DemoCommand.FindSample(), Split.Test);
            var ml = new MLContext(seed: 0);
            // Cached, so the timed passes measure inference, not the conversion of bytes to floats.
            var view = ml.Data.Cache(ml.Data.LoadFromImageDataset(images));
            var pixels = new float[images.Count * images.ImageSize];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = images.Pixels[i] / 255f;
            var wanted = r.GetValue(chains)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            var unknown = wanted.Except(["resnet20", "applyonnx", "nsr", "fir"]).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"--chains: unknown '{string.Join(", ", unknown)}' (known: resnet20, applyonnx, nsr, fir).");
            int n = Math.Max(1, r.GetValue(repeats));
            double minSeconds = r.GetValue(seconds);
            var rows = new List<Row>();

            // Images/s of one measurement: whole passes over the data until minSeconds have gone.
            double Speed(Func<int> pass)
            {
                var clock = Stopwatch.StartNew();
                long done = 0;
                do done += pass(); while (clock.Elapsed.TotalSeconds < minSeconds);
                return done / clock.Elapsed.TotalSeconds;
            }

            void Compare(string name, int batch, ITransformer chain, string column, RawOnnxRuntime raw)
            {
                using (raw)
                {
                    int ChainPass() => chain.Transform(view).GetColumn<VBuffer<float>>(column).Count();
                    int RawPass() => raw.Pass(pixels, images.Count, batch);
                    ChainPass(); RawPass(); // warm-up: sessions' first runs, JIT
                    var chainRuns = new List<double>();
                    var rawRuns = new List<double>();
                    for (int i = 0; i < n; i++) { chainRuns.Add(Speed(ChainPass)); rawRuns.Add(Speed(RawPass)); }
                    var row = new Row(name, batch, Median(chainRuns), Median(rawRuns), chainRuns, rawRuns);
                    rows.Add(row);
                    AnsiConsole.MarkupLineInterpolated($"{name,-58} batch {batch,3}: ML.NET {row.Chain,8:F1}  raw ORT {row.Raw,8:F1} images/s  ratio {row.Ratio:F2}");
                }
            }

            var classifier = Path.Combine(modelsDir, "resnet20-cifar10", "classifier.onnx");
            RawOnnxRuntime Raw() => new(images.Height, images.Width);
            if (wanted.Contains("resnet20"))
                foreach (var b in r.GetValue(batches)!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
                    Compare("ResNet-20: RobustClassify", b, ml.Transforms.RobustClassify(classifier, batchSize: b, device: ExecutionDevice.Cpu).Fit(view), "Score", Raw().Add(classifier));
            if (wanted.Contains("applyonnx"))
            {
                var native = ml.Transforms.ApplyOnnxModel(["output"], ["input"], classifier,
                    shapeDictionary: new Dictionary<string, int[]> { ["input"] = [1, 3, images.Height, images.Width] }, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100);
                Compare("ResNet-20: ML.NET ApplyOnnxModel (row at a time)", 1, ml.Transforms.CopyColumns("input", "Image").Append(native).Fit(view), "output", Raw().Add(classifier));
            }
            foreach (var (defence, name) in new[] { ("nsr", "NSR: NoisyCorrupt → SuperResolve → RobustClassify"), ("fir", "FIR g=4: MaskedInpaintAggregate(10) → RobustClassify") })
            {
                if (!wanted.Contains(defence)) continue;
                var chain = ShippedModels.Chain(ml, modelsDir, defence, grid: 4).Fit(view);
                var raw = Raw();
                foreach (var stage in Stages(chain).OfType<BatchedImageTransformer>())
                    if (stage.Describe().Model is { } model)
                        raw.Add(model, stage is MaskedInpaintAggregateTransformer fir ? fir.MaskCount : 1);
                Compare(name, PdnnCatalog.DefaultBatchSize, chain, "Score", raw);
            }

            var hardware = Pdnn.Torch.Devices.Hardware.CpuModel() + $", {Environment.ProcessorCount} logical cores";
            AnsiConsole.MarkupLineInterpolated($"[grey]{images.Count} images from {images.Source}; ONNX Runtime CPU, default session options; medians of {n}; {hardware}[/]");
            if (r.GetValue(results) is { } file)
                File.AppendAllLines(file, rows.Select(t => string.Create(CultureInfo.InvariantCulture,
                    $"| {DateTime.UtcNow:yyyy-MM-dd} | {t.Name} | {t.Batch} | {t.Chain:F1} | {t.Raw:F1} | **{t.Ratio:F2}** | {string.Join(" ", t.ChainRuns.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} / {string.Join(" ", t.RawRuns.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} | {hardware} |")));
            return 0;
        }));
        return command;
    }

    sealed record Row(string Name, int Batch, double Chain, double Raw, List<double> ChainRuns, List<double> RawRuns)
    {
        /// <summary>The median of the paired ratios (each chain measurement over the raw one taken right after it): on a
        /// shared machine whose load drifts during a run, pairs taken together compare like with like.</summary>
        public double Ratio => Median(ChainRuns.Zip(RawRuns, (c, r) => c / r).ToList());
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    static IEnumerable<ITransformer> Stages(ITransformer t) => t is IEnumerable<ITransformer> chain ? chain.SelectMany(Stages) : [t];
}
