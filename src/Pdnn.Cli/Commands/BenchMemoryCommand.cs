using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Data;
using Pdnn.Evaluation.MLNet;
using Pdnn.MLNet;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>
/// Peak resident memory of a deployed chain over many rows, or of an evaluation of many images: rows come from a source
/// that makes them as they are read (the bundled test images, cycled), so whatever grows with the row count is the
/// pipeline's. Run once per size, in a fresh process each (peak RSS is per process): <c>scripts/bench-memory.sh</c>.
/// </summary>
static class BenchMemoryCommand
{
    sealed class Row
    {
        public float[] Image { get; set; } = [];
        public string Label { get; set; } = "";
    }

    public static Command Create()
    {
        var rows = new Option<int>("--rows") { Description = "Rows in the input.", Required = true };
        var defence = new Option<string>("--defence") { Description = $"The chain ({string.Join(", ", ShippedModels.Defences)}).", DefaultValueFactory = _ => "fs" };
        var evaluate = new Option<int?>("--evaluate") { Description = "Instead of transforming every row, evaluate this many sampled images (AttackEvaluator, FGSM)." };
        var models = new Option<string?>("--models") { Description = "The models folder (default: the repository's models/)." };
        var results = new Option<string?>("--results") { Description = "Append a Markdown table row to this file." };
        var command = new Command("bench-memory", "Peak resident memory of a chain over N rows (or an evaluation of N sampled images), to show it does not grow with N.")
        {
            rows, defence, evaluate, models, results,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            int n = r.GetValue(rows);
            if (n < 1) throw new ArgumentException($"--rows must be at least 1, got {n}.");
            var folder = r.GetValue(models) ?? ShippedModels.FindFolder() ?? throw new ArgumentException("models folder not found; pass --models.");
            var images = DatasetLoader.Load(DemoCommand.SampleFolder, Split.Test);
            var ml = new MLContext(seed: 0);
            var source = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i =>
            {
                int k = i % images.Count;
                return new Row { Image = images.Image(k).ToArray().Select(b => b / 255f).ToArray(), Label = images.ClassNames[images.Labels[k]] };
            }), Schema(images.ImageSize));
            var chain = ShippedModels.Chain(ml, folder, r.GetValue(defence)!).Fit(source);

            var clock = Stopwatch.StartNew();
            string what;
            if (r.GetValue(evaluate) is int m)
            {
                using var evaluator = ml.Transforms.EvaluateRobustness(chain, new AttackEvaluatorOptions { Attacks = ["fgsm"], SampleSize = m, Device = "cpu" });
                var report = evaluator.Evaluate(source);
                what = $"evaluate {report.Count:N0} sampled images (FGSM) of {n:N0} rows: clean {report.Clean.Accuracy:P1}, FGSM {report.Attacks[0].Accuracy:P1}";
            }
            else
            {
                var scored = chain.Transform(source);
                long count = 0, correct = 0;
                using (var cursor = scored.GetRowCursor([scored.Schema["PredictedLabel"], scored.Schema["Label"]]))
                {
                    var predicted = cursor.GetGetter<uint>(scored.Schema["PredictedLabel"]);
                    var label = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["Label"]);
                    var names = default(VBuffer<ReadOnlyMemory<char>>);
                    scored.Schema["PredictedLabel"].GetKeyValues(ref names);
                    var classes = names.DenseValues().Select(v => v.ToString()).ToArray();
                    uint p = 0;
                    ReadOnlyMemory<char> l = default;
                    while (cursor.MoveNext())
                    {
                        predicted(ref p); label(ref l);
                        count++;
                        if (p > 0 && classes[p - 1] == l.ToString()) correct++;
                    }
                }
                what = $"transform {count:N0} rows: accuracy {(double)correct / count:P1}";
            }
            var seconds = clock.Elapsed.TotalSeconds;
            long peak = PeakResidentBytes();
            var hardware = Pdnn.Torch.Devices.Hardware.CpuModel() + $", {Environment.ProcessorCount} logical cores";
            AnsiConsole.MarkupLineInterpolated($"{r.GetValue(defence)}: {what}; {seconds:F1} s; peak RSS {peak / 1048576.0:F0} MiB ({hardware})");
            if (r.GetValue(results) is { } file)
                File.AppendAllLines(file, [string.Create(CultureInfo.InvariantCulture,
                    $"| {DateTime.UtcNow:yyyy-MM-dd} | {r.GetValue(defence)} | {(r.GetValue(evaluate) is int e ? $"evaluate {e:N0} (FGSM)" : "transform all")} | {n:N0} | {peak / 1048576.0:F0} | {seconds:F1} | {hardware} |")]);
            return 0;
        }));
        return command;
    }

    static SchemaDefinition Schema(int size)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        return schema;
    }

    /// <summary>VmHWM of /proc/self/status: the process's peak resident set, in bytes (Linux).</summary>
    static long PeakResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:"))
            ?? throw new InvalidOperationException("no VmHWM in /proc/self/status (peak RSS is read on Linux only).");
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
