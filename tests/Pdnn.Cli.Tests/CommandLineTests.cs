using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pdnn.Tests;

namespace Pdnn.Cli.Tests;

[TestClass]
public sealed class CommandLineTests
{
    [TestMethod]
    [DataRow("train-classifier", "--max-minutes")]
    [DataRow("eval-classifier", "--model")]
    [DataRow("eval-classifier", "--device")]
    [DataRow("bench-train", "--batch-size")]
    [DataRow("data-info", "--image-size")]
    [DataRow("demo", "--epochs")]
    public void EveryCommandHasHelp(string command, string option)
    {
        var result = PdnnProcess.Run(command, "--help");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, option);
    }

    [TestMethod]
    public void TrainThenEvaluateReportTheSameAccuracyOnTheSample()
    {
        var outDir = TestPaths.NewTempDir();
        var train = PdnnProcess.Run("train-classifier", "--data", TestPaths.Sample, "--arch", "tiny", "--epochs", "2",
                                    "--batch-size", "64", "--lr", "0.05", "--device", "cpu", "--out", outDir);
        Assert.AreEqual(0, train.ExitCode, train.ToString());
        StringAssert.Contains(train.Output, "device: cpu");

        var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "classifier.card.json"))).RootElement;
        Assert.AreEqual("tiny", card.GetProperty("Architecture").GetString());
        Assert.AreEqual(2000, card.GetProperty("TrainCount").GetInt32());
        Assert.AreEqual(500, card.GetProperty("TestCount").GetInt32());
        double trainedAccuracy = card.GetProperty("TestAccuracy").GetDouble();
        Assert.HasCount(3, File.ReadAllLines(Path.Combine(outDir, "history.csv")), "header + one line per epoch");

        var eval = PdnnProcess.Run("eval-classifier", "--model", outDir, "--data", TestPaths.Sample, "--device", "cpu");
        Assert.AreEqual(0, eval.ExitCode, eval.ToString());
        var match = Regex.Match(eval.Output, @"accuracy ([\d.]+) % \((\d+)/500\)");
        Assert.IsTrue(match.Success, eval.Output);
        Assert.AreEqual(trainedAccuracy * 500, int.Parse(match.Groups[2].Value), 1e-9, "eval-classifier must agree with the card");
    }

    [TestMethod]
    public void ImagenetteTrainsOnCentreCropsAndEvaluatesThroughItsChain()
    {
        var imagenette = TestPaths.RequireShared("imagenette2-160");
        var noSize = PdnnProcess.Run("data-info", "--data", imagenette, "--center-crop");
        Assert.AreEqual(2, noSize.ExitCode, noSize.ToString());
        StringAssert.Contains(noSize.Output, "--center-crop needs --image-size");

        var outDir = TestPaths.NewTempDir();
        var train = PdnnProcess.Run("train-classifier", "--data", imagenette, "--image-size", "64x64", "--center-crop", "--arch", "tiny",
                                    "--epochs", "1", "--train-limit", "500", "--batch-size", "50", "--device", "cpu", "--test-data", "none", "--out", outDir);
        Assert.AreEqual(0, train.ExitCode, train.ToString());
        var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "classifier.card.json"))).RootElement;
        Assert.AreEqual("3,64,64", string.Join(",", card.GetProperty("InputShape").EnumerateArray().Select(d => d.GetInt32())));
        StringAssert.Contains(card.GetProperty("TrainData").GetString(), "centre-cropped to 64x64");

        // eval-classifier takes the crop from the card.
        var eval = PdnnProcess.Run("eval-classifier", "--model", outDir, "--data", imagenette, "--n", "100", "--device", "cpu");
        Assert.AreEqual(0, eval.ExitCode, eval.ToString());
        StringAssert.Contains(eval.Output, "centre-cropped to 64x64");

        var models = TestPaths.NewTempDir();
        var onnx = Path.Combine(models, "resnet20-imagenette-64", "classifier.onnx");
        Assert.AreEqual(0, PdnnProcess.Run("export-onnx", "--model", outDir, "--out", onnx).ExitCode);
        var evalDir = TestPaths.NewTempDir();
        var evaluate = PdnnProcess.Run("evaluate", "--models", models, "--data", imagenette, "--defense", "none,jpeg", "--n", "8",
                                       "--attacks", "fgsm", "--eps-curve", "", "--device", "cpu", "--out", evalDir);
        Assert.AreEqual(0, evaluate.ExitCode, evaluate.ToString());
        var summary = File.ReadAllText(Path.Combine(evalDir, "summary.md"));
        StringAssert.Contains(summary, "Imagenette");
        StringAssert.Contains(summary, "JPEG (quality 75), Imagenette ResNet-20");

        // Imagenette's FIR ships at g = 1 only: another grid is refused by name, not silently ignored.
        var grid = PdnnProcess.Run("evaluate", "--models", models, "--data", imagenette, "--defense", "none", "--grid", "4", "--n", "8",
                                   "--attacks", "fgsm", "--device", "cpu", "--out", TestPaths.NewTempDir());
        Assert.AreEqual(2, grid.ExitCode, grid.ToString());
        StringAssert.Contains(grid.Output, "--grid '4': on Imagenette FIR ships at g = 1 only");
    }

    [TestMethod]
    public void TimeBudgetExitsWith75AndResumeFinishes()
    {
        var outDir = TestPaths.NewTempDir();
        string[] args = ["train-classifier", "--data", TestPaths.Sample, "--arch", "tiny", "--epochs", "1", "--batch-size", "100",
                         "--device", "cpu", "--out", outDir, "--test-data", "none"];
        var stopped = PdnnProcess.Run([.. args, "--max-minutes", "0.000001"]);
        Assert.AreEqual(75, stopped.ExitCode, stopped.ToString());
        StringAssert.Contains(stopped.Output, "--resume");
        Assert.IsFalse(File.Exists(Path.Combine(outDir, "classifier.card.json")));

        var again = PdnnProcess.Run(args);
        Assert.AreEqual(2, again.ExitCode, "a second run without --resume must refuse, not overwrite");

        var resumed = PdnnProcess.Run([.. args, "--resume"]);
        Assert.AreEqual(0, resumed.ExitCode, resumed.ToString());
        StringAssert.Contains(resumed.Output, "resuming");
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "classifier.card.json")));
    }

    [TestMethod]
    public void SigtermStopsTrainingWithACheckpointThatResumes()
    {
        var outDir = TestPaths.NewTempDir();
        string[] args = ["train-classifier", "--data", TestPaths.Sample, "--arch", "tiny", "--epochs", "30", "--batch-size", "10",
                         "--device", "cpu", "--out", outDir, "--test-data", "none"];
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (var process = PdnnProcess.Start(lines.Enqueue, args))
        {
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (!process.HasExited && !lines.Any(l => l.StartsWith("epoch 1:")) && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.IsFalse(process.HasExited, $"the run ended (exit {(process.HasExited ? process.ExitCode : 0)}) before the signal:\n{string.Join('\n', lines)}");
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
            Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(1)), "SIGTERM did not stop the run within a minute");
            process.WaitForExit();   // drains the output
            var output = string.Join('\n', lines);
            Assert.AreEqual(75, process.ExitCode, output);
            StringAssert.Contains(output, "SIGTERM");
            StringAssert.Contains(output, "interrupted");
        }
        Assert.IsTrue(Directory.Exists(Path.Combine(outDir, "checkpoint")), "no checkpoint after SIGTERM");
        Assert.IsFalse(File.Exists(Path.Combine(outDir, "classifier.card.json")), "an interrupted run must not look finished");

        var resumed = PdnnProcess.Run([.. args, "--resume", "--max-minutes", "0.000001"]);
        Assert.AreEqual(75, resumed.ExitCode, resumed.ToString());
        StringAssert.Contains(resumed.Output, "resuming from");
    }

    [TestMethod]
    public void BadInputGivesOneClearLineAndExitCode2()
    {
        var missing = PdnnProcess.Run("train-classifier", "--data", "/no/such/folder", "--out", TestPaths.NewTempDir(), "--device", "cpu");
        Assert.AreEqual(2, missing.ExitCode, missing.ToString());
        StringAssert.Contains(missing.Output, "/no/such/folder");

        var arch = PdnnProcess.Run("train-classifier", "--data", TestPaths.Sample, "--arch", "vgg", "--out", TestPaths.NewTempDir());
        Assert.AreEqual(2, arch.ExitCode, arch.ToString());
        StringAssert.Contains(arch.Output, "unknown architecture 'vgg'");

        var device = PdnnProcess.Run("eval-classifier", "--model", "/no/model", "--data", TestPaths.Sample, "--device", "gpu");
        Assert.AreEqual(2, device.ExitCode, device.ToString());
        StringAssert.Contains(device.Output, "--device 'gpu'");

        var model = PdnnProcess.Run("eval-classifier", "--model", "/no/model", "--data", TestPaths.Sample, "--device", "cpu");
        Assert.AreEqual(2, model.ExitCode, model.ToString());
        StringAssert.Contains(model.Output, "/no/model");

        var prune = PdnnProcess.Run("train-classifier", "--data", TestPaths.Sample, "--prune", "1.5", "--out", TestPaths.NewTempDir());
        Assert.AreEqual(2, prune.ExitCode, prune.ToString());
        StringAssert.Contains(prune.Output, "--prune 1.5");
    }

    [TestMethod]
    public void PruneThenRetrainWritesTheMeasuredSparsityIntoTheCard()
    {
        var dense = TestPaths.NewTempDir();
        var pruned = TestPaths.NewTempDir();
        string[] common = ["--data", TestPaths.Sample, "--arch", "tiny", "--epochs", "1", "--batch-size", "64", "--lr", "0.05", "--device", "cpu", "--test-data", "none"];
        var first = PdnnProcess.Run(["train-classifier", .. common, "--out", dense]);
        Assert.AreEqual(0, first.ExitCode, first.ToString());
        var second = PdnnProcess.Run(["train-classifier", .. common, "--init", dense, "--prune", "0.8", "--out", pruned]);
        Assert.AreEqual(0, second.ExitCode, second.ToString());

        var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(pruned, "classifier.card.json"))).RootElement;
        Assert.AreEqual(0.8, card.GetProperty("Sparsity").GetDouble(), 0.001);
        var denseCard = JsonDocument.Parse(File.ReadAllText(Path.Combine(dense, "classifier.card.json"))).RootElement;
        Assert.AreEqual(JsonValueKind.Null, denseCard.GetProperty("Sparsity").ValueKind);
    }

    [TestMethod]
    public void DataInfoCountsTheSampleByClass()
    {
        var result = PdnnProcess.Run("data-info", "--data", TestPaths.Sample);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "2000 images");
        StringAssert.Contains(result.Output, "500 images");
        StringAssert.Contains(result.Output, "airplane");
    }
}

[TestClass]
public sealed class RecreationCommandTests
{
    [TestMethod]
    public void TrainInpainterWritesWeightsOnnxCardAndGrid()
    {
        var outDir = TestPaths.NewTempDir();
        var result = PdnnProcess.Run("train-inpainter", "--data", TestPaths.Sample, "--epochs", "2", "--train-limit", "256", "--held-out", "64",
                                     "--patience", "5", "--lr-drops", "1", "--test-count", "50", "--cell", "8", "--device", "cpu", "--out", outDir);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        foreach (var f in new[] { "inpainter.weights.bin", "inpainter.onnx", "inpainter.card.json", "inpainter-grid.png" })
            Assert.IsTrue(File.Exists(Path.Combine(outDir, f)), $"{f} missing");
        var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "inpainter.card.json"))).RootElement;
        Assert.AreEqual(50, card.GetProperty("TestCount").GetInt32());
        Assert.IsTrue(card.GetProperty("Psnr").GetDouble() is > 5 and < 60);
        Assert.AreEqual(64, card.GetProperty("FilesSha256").GetProperty("inpainter.onnx").GetString()!.Length);
        // 64 of the 256 held out: trained on 192, the held-out loss of both epochs recorded, the lower one's weights kept.
        Assert.AreEqual(64, card.GetProperty("HeldOut").GetInt32());
        Assert.AreEqual(192, card.GetProperty("TrainCount").GetInt32());
        var losses = card.GetProperty("HeldOutLosses").EnumerateArray().Select(l => l.GetDouble()).ToList();
        Assert.HasCount(2, losses);
        Assert.AreEqual(losses.IndexOf(losses.Min()) + 1, card.GetProperty("KeptEpoch").GetInt32());
        Assert.AreEqual(5, card.GetProperty("Patience").GetInt32());
        Assert.AreEqual(0, card.GetProperty("LearningRateDrops").GetInt32(), "no drop within 2 epochs at patience 5");
        Assert.AreEqual("completed", card.GetProperty("Stop").GetString());
        StringAssert.Contains(result.Output, "held-out loss");
    }

    [TestMethod]
    public void PatienceWithoutHeldOutImagesIsNamed()
    {
        var result = PdnnProcess.Run("train-inpainter", "--data", TestPaths.Sample, "--patience", "3", "--train-limit", "64", "--epochs", "1",
                                     "--device", "cpu", "--out", TestPaths.NewTempDir());
        Assert.AreEqual(2, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "--held-out");
    }

    [TestMethod]
    public void TrainInpainterCutsPhotographsToTheImageSize()
    {
        // Imagenette's JPEGs differ in size: --image-size with --center-crop gives the 64x64 crops its classifier reads.
        var outDir = TestPaths.NewTempDir();
        var result = PdnnProcess.Run("train-inpainter", "--data", TestPaths.RequireShared("imagenette2-160"), "--image-size", "64x64", "--center-crop",
                                     "--epochs", "1", "--train-limit", "64", "--test-count", "20", "--cell", "1", "--device", "cpu", "--out", outDir);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var card = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "inpainter.card.json"))).RootElement;
        StringAssert.Contains(card.GetProperty("TrainData").GetString(), "centre-cropped to 64x64");
        StringAssert.Contains(card.GetProperty("TestData").GetString(), "centre-cropped to 64x64");
        using var grid = SkiaSharp.SKBitmap.Decode(Path.Combine(outDir, "inpainter-grid.png"));
        Assert.AreEqual(3 * (64 * 4 + 4) + 4, grid.Height, "the grid's three rows are not of 64-pixel images (shown 4x, 4 px apart)");

        var uncut = PdnnProcess.Run("train-inpainter", "--data", TestPaths.RequireShared("imagenette2-160"), "--center-crop", "--epochs", "1",
                                    "--device", "cpu", "--out", TestPaths.NewTempDir());
        Assert.AreEqual(2, uncut.ExitCode, uncut.ToString());
        StringAssert.Contains(uncut.Output, "--center-crop needs --image-size");
    }

    [TestMethod]
    public void UnknownSizeIsNamed()
    {
        var result = PdnnProcess.Run("train-sr", "--data", TestPaths.Sample, "--size", "huge", "--out", TestPaths.NewTempDir(), "--device", "cpu");
        Assert.AreEqual(2, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "--size 'huge'");
    }
}

[TestClass]
public sealed class DemoCommandTests
{
    [TestMethod]
    public void DemoTrainsThenRunsTheShippedModelsAsMlNetChains()
    {
        var result = PdnnProcess.Run("demo", "--epochs", "1", "--device", "cpu", "--out", TestPaths.NewTempDir(), "--data", TestPaths.Sample);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "test accuracy");
        var line = result.Output.Split('\n').Single(l => l.Contains("ResNet-20, no defence"));
        var accuracy = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsGreaterThan(80, accuracy, $"the shipped ResNet-20 through ML.NET: {line}");
        StringAssert.Contains(result.Output, "FIR (lite inpainter, g=1, 10 masks)");
    }
}

[TestClass]
public sealed class EvaluateCommandTests
{
    [TestMethod]
    public void EvaluateWritesJsonCsvMarkdownAndFiguresForTheShippedModels()
    {
        var outDir = TestPaths.NewTempDir();
        var result = PdnnProcess.Run("evaluate", "--defense", "fs,jpeg", "--models", Path.Combine(TestPaths.RepoRoot, "models"), "--data", TestPaths.Sample,
                                     "--n", "10", "--attacks", "fgsm,pgd,1px", "--steps", "3", "--de-population", "20", "--de-generations", "2",
                                     "--eps-curve", "0,8,64", "--curve-n", "10", "--device", "cpu", "--out", outDir);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "fs", "results.json"))).RootElement;
        Assert.AreEqual(10, json.GetProperty("Count").GetInt32());
        Assert.AreEqual(3, json.GetProperty("Attacks").GetArrayLength());
        Assert.AreEqual(3, json.GetProperty("EpsilonCurve").GetArrayLength());
        Assert.HasCount(1 + 3 * 10, File.ReadAllLines(Path.Combine(outDir, "jpeg", "outcomes.csv")), "header + one row per image and attack");
        // The paper's layout: test acc, 1px, then FGSM, PGD; one row per defence.
        var summary = File.ReadAllText(Path.Combine(outDir, "summary.md"));
        StringAssert.Contains(summary, "| defence | test acc | 1px (DE 20x2) | FGSM | PGD-3 | worst case |");
        StringAssert.Contains(summary, "| FS: 4-bit squeezing | 90.0 [59.6, 98.2] (n=10) |");
        StringAssert.Contains(summary, "| JPEG (quality 75) | ");
        foreach (var png in new[] { "accuracy-vs-eps.png", "clean-vs-worst-case.png", Path.Combine("fs", "examples.png") })
            CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(Path.Combine(outDir, png))[..4], png);
    }

    [TestMethod]
    public void ModelInfoCountsResNet20AtItsPublishedCost()
    {
        // ResNet-20 on 32x32 CIFAR images: 0.27 M parameters and about 41 M multiply-accumulates (He et al. 2016; ptflops).
        var result = PdnnProcess.Run("model-info", "--models", Path.Combine(TestPaths.RepoRoot, "models"));
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var line = result.Output.Split('\n').First(l => l.Contains("resnet20-cifar10 ") || l.Contains("resnet20-cifar10│") || l.Contains("│ resnet20-cifar10 "));
        StringAssert.Contains(line, "272,474");
        StringAssert.Contains(line, "40.81 M");
    }

    [TestMethod]
    public void UnknownAttackIsNamed()
    {
        var result = PdnnProcess.Run("evaluate", "--models", Path.Combine(TestPaths.RepoRoot, "models"), "--data", TestPaths.Sample,
                                     "--n", "5", "--attacks", "cw", "--device", "cpu", "--out", TestPaths.NewTempDir());
        Assert.AreEqual(2, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "unknown attack 'cw'");
    }
}
