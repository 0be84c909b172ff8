using System.Text;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Pdnn.Data;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Persistence;
using Pdnn.MLNet.Transforms;
using Pdnn.Torch.Devices;
using Pdnn.Torch.Models;
using Pdnn.Torch.Storage;
using Pdnn.Torch.Training;

namespace Pdnn.MLNet.Training;

/// <summary>
/// An ML.NET trainer whose Fit trains a CIFAR-style ResNet with TorchSharp (<see cref="ClassifierTrainer"/>: SGD with
/// momentum, cosine or step schedule, crop-and-flip augmentation, seeded) on the image and label columns it receives,
/// exports the network to ONNX and returns the <see cref="RobustClassifyTransformer"/> that RobustClassify would give for
/// that file. At the end of a chain — <c>… NoisyCorrupt → SuperResolve → PdnnImageClassifier</c> — the training images
/// flow through the chain's stages first, so the classifier learns on recreations: the paper's classifier with
/// subscript T. Each training image is recreated once (the chain transforms the training data once, as ML.NET does);
/// <c>pdnn train-classifier --recreation</c> draws fresh noise at every step instead.
/// </summary>
public sealed class PdnnImageClassifierTrainer : IEstimator<RobustClassifyTransformer>
{
    readonly IHost host;
    readonly PdnnImageClassifierOptions options;
    readonly ImageShape shape;

    internal PdnnImageClassifierTrainer(IHostEnvironment environment, PdnnImageClassifierOptions options)
    {
        host = environment.Register(nameof(PdnnImageClassifierTrainer));
        this.options = options;
        shape = Validate(options);
    }

    /// <summary>Checks the options now, so a bad one fails where the pipeline is written, naming it.</summary>
    static ImageShape Validate(PdnnImageClassifierOptions o)
    {
        static ArgumentOutOfRangeException Bad(string option, object? value, string expected) =>
            new(option, $"PdnnImageClassifier option {option} = {value}: {expected}.");
        if (o.ImageHeight <= 0 || o.ImageWidth <= 0) throw Bad("ImageHeight/ImageWidth", $"{o.ImageHeight}x{o.ImageWidth}", "expected positive sizes");
        if (!ResNetSpec.Names.Contains(o.Architecture.ToLowerInvariant())) throw Bad(nameof(o.Architecture), o.Architecture, $"expected one of {string.Join(", ", ResNetSpec.Names)}");
        if (o.Epochs < 1) throw Bad(nameof(o.Epochs), o.Epochs, "expected at least 1");
        if (o.BatchSize < 1) throw Bad(nameof(o.BatchSize), o.BatchSize, "expected at least 1");
        if (o.InferenceBatchSize < 1) throw Bad(nameof(o.InferenceBatchSize), o.InferenceBatchSize, "expected at least 1");
        if (!(o.LearningRate > 0)) throw Bad(nameof(o.LearningRate), o.LearningRate, "expected a positive rate");
        if (o.LabelSmoothing is < 0 or >= 1) throw Bad(nameof(o.LabelSmoothing), o.LabelSmoothing, "expected a value in [0,1)");
        if (o.Sparsity is < 0 or >= 1) throw Bad(nameof(o.Sparsity), o.Sparsity, "expected a fraction in [0,1), e.g. 0.8");
        var device = o.Device.Trim().ToLowerInvariant();
        if (device is not ("auto" or "cpu" or "cuda") && !(device.StartsWith("cuda:") && int.TryParse(device[5..], out var i) && i >= 0))
            throw Bad(nameof(o.Device), o.Device, "expected auto, cpu, cuda or cuda:N");
        if (o.InitialWeights != null && !File.Exists(o.InitialWeights) && !File.Exists(ClassifierFile.CardPath(o.InitialWeights)))
            throw Bad(nameof(o.InitialWeights), o.InitialWeights, "no classifier card there (a folder with classifier.card.json, or a .card.json file)");
        return ImageShape.Rgb(o.ImageHeight, o.ImageWidth);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        if (!inputSchema.Any(c => c.Name == options.LabelColumnName))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{options.LabelColumnName}' not found.");
        return Classify("").GetOutputSchema(inputSchema);
    }

    /// <summary>Reads the training rows, trains, exports to ONNX, and returns the RobustClassify stage over it.</summary>
    public RobustClassifyTransformer Fit(IDataView input)
    {
        using var channel = host.Start("Training");
        var observer = new TeeObserver(new TextTrainingObserver(new ChannelWriter(channel)), options.Observer);
        var train = LabeledImages.Read(input, options.FeatureColumnName, options.LabelColumnName, shape);
        if (train.Count < options.BatchSize)
            throw new ArgumentOutOfRangeException(nameof(input), $"The training data has {train.Count} rows, fewer than one batch (PdnnImageClassifier option BatchSize = {options.BatchSize}).");
        var (initial, initialCard) = options.InitialWeights != null ? ClassifierFile.Load(options.InitialWeights) : (null, null);
        using (initial)
        {
            if (initialCard != null && (initialCard.Architecture != options.Architecture.ToLowerInvariant() || initialCard.ClassNames.Length != train.ClassNames.Count))
                throw new ArgumentException($"PdnnImageClassifier option InitialWeights = {options.InitialWeights}: a {initialCard.Architecture} with {initialCard.ClassNames.Length} classes, " +
                                            $"but Architecture = {options.Architecture} and the label column '{options.LabelColumnName}' has {train.ClassNames.Count} classes.");
            var device = TorchDevice.Resolve(options.Device);
            var run = options.ToTrainOptions();
            observer.Message($"PdnnImageClassifier: training {run.Architecture} on {train.Count} images of {train.ClassNames.Count} classes ({shape}) " +
                             $"for {run.Epochs} epochs, batch {run.BatchSize}, lr {run.LearningRate} ({run.Schedule}), seed {run.Seed}, on {device.Description}");
            var result = new ClassifierTrainer(run, device.Device, observer).Run(train, null, null, false, initial: initial);
            using var model = result.Model;
            var onnx = Export(model, Card(run, train, result, device), options.ModelFolder);
            observer.Message($"PdnnImageClassifier: trained in {result.State.ElapsedSeconds:F1} s; ONNX model {onnx}");
            return Classify(onnx, train.ClassNames).Fit(input);
        }
    }

    RobustClassifyEstimator Classify(string onnx, IReadOnlyList<string>? classNames = null) =>
        new(options.FeatureColumnName, onnx, shape, classNames, options.InferenceBatchSize, options.InferenceDevice,
            options.ScoreColumnName, options.PredictedLabelColumnName);

    static ModelCard Card(TrainOptions run, ImageDataset train, TrainResult result, DeviceChoice device) =>
        TrainingCard.Describe(run, train, result, Hardware.Describe(device), "ML.NET: MulticlassClassification.Trainers.PdnnImageClassifier");

    /// <summary>
    /// Into <paramref name="folder"/>: the weights, the card and classifier.onnx (a model folder as pdnn writes it). Without a
    /// folder: the ONNX file alone, into the cache, named by its SHA-256.
    /// </summary>
    static string Export(CifarResNet model, ModelCard card, string? folder)
    {
        if (folder != null)
        {
            var cardPath = ClassifierFile.Save(folder, "classifier", model, card);
            var path = Path.Combine(folder, "classifier.onnx");
            ClassifierOnnx.Export(model, ClassifierFile.ReadCard(cardPath), path);
            return path;
        }
        var temp = Path.Combine(Path.GetTempPath(), $"pdnn-classifier-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            ClassifierOnnx.Export(model, card, temp);
            return PdnnModelFile.CacheOnnx(File.ReadAllBytes(temp));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Every report to both observers: ML.NET's channel (as lines) and the caller's.</summary>
    sealed class TeeObserver(ITrainingObserver first, ITrainingObserver? second) : ITrainingObserver
    {
        public void Message(string text) { first.Message(text); second?.Message(text); }
        public void EpochStarted(int epoch, int epochs, int stepsPerEpoch, int firstStep)
        {
            first.EpochStarted(epoch, epochs, stepsPerEpoch, firstStep);
            second?.EpochStarted(epoch, epochs, stepsPerEpoch, firstStep);
        }
        public void Step(StepProgress progress) { first.Step(progress); second?.Step(progress); }
        public void EpochEnded(EpochSummary summary) { first.EpochEnded(summary); second?.EpochEnded(summary); }
    }

    /// <summary>Lines written to it become Info messages of an ML.NET channel, which MLContext.Log raises.</summary>
    sealed class ChannelWriter(IChannel channel) : TextWriter
    {
        readonly StringBuilder line = new();
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value)
        {
            if (value == '\n')
            {
                channel.Info(MessageSensitivity.None, line.ToString());
                line.Clear();
            }
            else if (value != '\r') line.Append(value);
        }
    }
}
