namespace Pdnn.Torch.Storage;

/// <summary>
/// What a trained classifier is and how it came to be, stored as JSON beside its weights. The weights' SHA-256 is
/// checked on every load, so a file that was altered or swapped is refused rather than silently used.
/// </summary>
public sealed record ModelCard
{
    public required string Architecture { get; init; }
    public required string[] ClassNames { get; init; }
    public required int[] InputShape { get; init; }          // C, H, W
    public string ValueRange { get; init; } = "[0,1] RGB, channel-major; normalisation is inside the model";
    /// <summary>The model's normalisation statistics; <see cref="ClassifierFile.Save"/> fills them in from the model.</summary>
    public float[] NormalizeMean { get; init; } = [];
    public float[] NormalizeStd { get; init; } = [];
    public long Parameters { get; init; }
    /// <summary>Multiply-accumulates per image (one forward pass), counted on the ONNX graph over Conv/ConvTranspose/Gemm; FLOPs ≈ 2x.</summary>
    public long? MultiplyAccumulates { get; init; }
    public required string TrainData { get; init; }
    public int TrainCount { get; init; }
    public string? TestData { get; init; }
    public int TestCount { get; init; }
    public double? TestAccuracy { get; init; }
    public int Epochs { get; init; }
    public int EpochsCompleted { get; init; }
    /// <summary>Set when the run was ended at its time or step budget before its last epoch (--on-budget finish): how far it got.</summary>
    public string? FinishedAtBudget { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    public string? Schedule { get; init; }
    /// <summary>Set when the schedule ran over a time budget rather than over the epochs (--schedule-minutes): its minutes.</summary>
    public double? ScheduleMinutes { get; init; }
    /// <summary>Set when the saved weights are an exponential moving average of the steps' weights (--ema): its decay.</summary>
    public double? WeightAverageDecay { get; init; }
    public double LabelSmoothing { get; init; }
    public bool Augment { get; init; }
    public int Seed { get; init; }
    /// <summary>The recreation the classifier was trained and tested on (the paper's subscript T), if any.</summary>
    public string? Recreation { get; init; }
    /// <summary>True when the training images were recreated once and the recreations augmented (--recreate-once); null:
    /// every augmented batch was recreated.</summary>
    public bool? RecreatedOnce { get; init; }
    /// <summary>With --recreated-copies: how many augmented copies of each training image were recreated and stored;
    /// null: one, augmented after the recreation (or none stored).</summary>
    public int? RecreatedCopies { get; init; }
    public string? InitialWeights { get; init; }
    /// <summary>Magnitude pruning: the fraction of conv/linear weights that are zero (measured on the saved weights), if pruned.</summary>
    public double? Sparsity { get; init; }
    /// <summary>"bfloat16" when the training steps ran in bfloat16 (mixed precision, float32 weights); null: float32.</summary>
    public string? TrainingPrecision { get; init; }
    /// <summary>How the classifier was adversarially trained, if it was.</summary>
    public AdversarialTrainingCard? AdversarialTraining { get; init; }
    public string? Command { get; init; }
    public string? Hardware { get; init; }
    public double WallSeconds { get; init; }
    public string? TorchSharpVersion { get; init; }
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
    public required string WeightsFile { get; init; }
    public required string WeightsSha256 { get; init; }
}

/// <summary>The adversarial-training part of a card: the recipe, the held-out checks, collapse and the kept epoch.</summary>
public sealed record AdversarialTrainingCard
{
    /// <summary>fgsm, fgsm-rs, pgd or trades.</summary>
    public required string Kind { get; init; }
    public required string Recipe { get; init; }        // human summary, e.g. "PGD-7 ε=8/255 α=2.86/255"
    public double Epsilon { get; init; }
    public int Steps { get; init; }
    public double StepSize { get; init; }
    public double CleanWeight { get; init; }
    public double? TradesBeta { get; init; }
    /// <summary>phi-dnn (the whole φDNN, fresh randomness at each step) or classifier (C alone), when trained on recreations.</summary>
    public string? CraftThrough { get; init; }
    public int HeldOutImages { get; init; }
    /// <summary>last or best-robust.</summary>
    public required string Keep { get; init; }
    public int KeptEpoch { get; init; }
    /// <summary>Held-out clean / FGSM / PGD-10 accuracy of the kept epoch.</summary>
    public double? HeldOutClean { get; init; }
    public double? HeldOutFgsm { get; init; }
    public double? HeldOutPgd10 { get; init; }
    /// <summary>Every collapse the detector named, in order; empty for a healthy run.</summary>
    public string[] Collapses { get; init; } = [];
    public bool StoppedOnCollapse { get; init; }
}
