using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Pdnn.MLNet.Training;

namespace Pdnn.MLNet;

/// <summary>The Pdnn trainers on <c>mlContext.MulticlassClassification.Trainers</c>.</summary>
public static class PdnnTrainersCatalog
{
    /// <summary>
    /// Trains a CIFAR-style ResNet with TorchSharp in Fit on the image column it receives (3 x H x W in [0,1]) and the
    /// label column, and returns the RobustClassify stage over the trained network (exported to ONNX): Score and
    /// PredictedLabel, saved by SavePdnn like any other chain.
    /// </summary>
    public static PdnnImageClassifierTrainer PdnnImageClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
                                                                 PdnnImageClassifierOptions? options = null) =>
        new(EnvironmentOf(catalog), options ?? new PdnnImageClassifierOptions());

    /// <summary>The same, with the common options as arguments.</summary>
    public static PdnnImageClassifierTrainer PdnnImageClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName, string featureColumnName = "Image", string architecture = "resnet20", int epochs = 30, int batchSize = 128,
        double learningRate = 0.1, int seed = 0, string device = "auto") =>
        catalog.PdnnImageClassifier(new PdnnImageClassifierOptions
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, Architecture = architecture, Epochs = epochs,
            BatchSize = batchSize, LearningRate = learningRate, Seed = seed, Device = device,
        });

    // The MLContext behind a catalog is internal to ML.NET (IInternalCatalog.Environment, for its "best friends"); its
    // channels are what MLContext.Log reports, so the trainer reaches it by reflection. Checked at first use, with a
    // clear error should a future ML.NET rename it.
    static readonly PropertyInfo EnvironmentProperty =
        typeof(MLContext).Assembly.GetType("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment")
        ?? typeof(TrainCatalogBase).Assembly.GetType("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment")
        ?? throw new MissingMemberException($"IInternalCatalog.Environment not found in ML.NET {typeof(TrainCatalogBase).Assembly.GetName().Version}; Pdnn.MLNet.Training needs updating.");

    static IHostEnvironment EnvironmentOf(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog) =>
        EnvironmentProperty.GetValue(catalog) as IHostEnvironment
        ?? throw new InvalidOperationException("the trainers catalog has no ML.NET environment.");
}
