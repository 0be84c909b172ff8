namespace Pdnn.Torch.Storage;

/// <summary>The model card of a recreation model (SR generator or inpainter), JSON beside its weights and ONNX file.</summary>
public sealed record RecreationCard
{
    public required string Kind { get; init; }                 // "sr-generator" or "inpainter"
    public required string Size { get; init; }                 // "lite" or "paper"
    public required string Architecture { get; init; }
    public long Parameters { get; init; }
    /// <summary>Multiply-accumulates per image (one forward pass), counted on the ONNX graph over Conv/ConvTranspose/Gemm; FLOPs ≈ 2x.</summary>
    public long? MultiplyAccumulates { get; init; }
    public required string TrainData { get; init; }
    public int TrainCount { get; init; }
    public string? Corruption { get; init; }                   // noise (NSR) or masks (FIR) used in training
    public double? GaussianVariance { get; init; }             // NSR's δ
    public double? SaltPepper { get; init; }                   // NSR's δ: probability of white and of black pixels
    public int? Cell { get; init; }                            // FIR's grid cell size g
    public int Epochs { get; init; }
    public int EpochsCompleted { get; init; }
    /// <summary>Training images held out to watch the loss on (not in <see cref="TrainCount"/>); null: none.</summary>
    public int? HeldOut { get; init; }
    /// <summary>Epochs without a lower held-out loss after which the run stopped; null: it ran all its epochs.</summary>
    public int? Patience { get; init; }
    /// <summary>With --lr-drops: how many times the learning rate was halved when the held-out loss stalled.</summary>
    public int? LearningRateDrops { get; init; }
    /// <summary>The epoch whose weights these are (the lowest held-out loss), when images were held out.</summary>
    public int? KeptEpoch { get; init; }
    /// <summary>Why the run ended: "completed", or the held-out loss stopped improving.</summary>
    public string? Stop { get; init; }
    public List<double>? TrainLosses { get; init; }
    public List<double?>? HeldOutLosses { get; init; }
    /// <summary>With --init: the recreation folder whose network started the run, and its weights' SHA-256; null: random start.</summary>
    public string? InitializedFrom { get; init; }
    public string? InitializedFromSha256 { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    public string Loss { get; init; } = "L1 pixel loss";
    public int Seed { get; init; }
    public string? Command { get; init; }
    public string? Hardware { get; init; }
    public double WallSeconds { get; init; }
    public string? TestData { get; init; }
    public int TestCount { get; init; }
    public double? Psnr { get; init; }
    public double? Ssim { get; init; }
    public double? CorruptedPsnr { get; init; }
    public string? ClassifierForAccuracy { get; init; }
    public double? ClassifierAccuracyOnRecreations { get; init; }
    public double? ClassifierAccuracyOnClean { get; init; }
    public Dictionary<string, string> FilesSha256 { get; init; } = [];
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}
