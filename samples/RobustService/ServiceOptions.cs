namespace RobustService;

/// <summary>The service's settings: section "Pdnn" of the configuration, or the command-line switches in <see cref="Switches"/>.</summary>
public sealed class ServiceOptions
{
    /// <summary>A chain saved with SavePdnn. When the file does not exist, the chain of <see cref="Defence"/> is built from the
    /// shipped models, saved there, and loaded back: the service always runs what LoadPdnn reads.</summary>
    public string? Model { get; set; }
    /// <summary>For a built chain: none, nsr, fir, fs, ss, jpeg or ls (ShippedModels.Defences).</summary>
    public string Defence { get; set; } = "nsr";
    /// <summary>For a built chain: the shipped models folder (default: found above the working folder).</summary>
    public string? ModelsFolder { get; set; }
    public int Grid { get; set; } = 4;
    public int Seed { get; set; }
    /// <summary>pool: a pool of PredictionEngines, one request per engine call; batch: one queue whose waiting requests run as one batch.</summary>
    public string Engine { get; set; } = "pool";
    /// <summary>pool engine: the most predictions at once (default: the processor count).</summary>
    public int MaxConcurrency { get; set; } = Environment.ProcessorCount;
    /// <summary>batch engine: the most requests in one batch.</summary>
    public int MaxBatch { get; set; } = 32;
    /// <summary>Uploads larger than this are refused (413).</summary>
    public long MaxUploadBytes { get; set; } = 8 << 20;
    /// <summary>Images wider or taller than this are refused (400) before they are decoded: a small file can hold a huge image.</summary>
    public int MaxImageSide { get; set; } = 4096;

    public string ModelPath => Model ?? $"served-{Defence}.pdnn.zip";

    public static readonly Dictionary<string, string> Switches = new()
    {
        ["--model"] = "Pdnn:Model", ["--defence"] = "Pdnn:Defence", ["--models"] = "Pdnn:ModelsFolder", ["--grid"] = "Pdnn:Grid",
        ["--seed"] = "Pdnn:Seed", ["--engine"] = "Pdnn:Engine", ["--max-batch"] = "Pdnn:MaxBatch", ["--max-concurrency"] = "Pdnn:MaxConcurrency",
        ["--max-upload-bytes"] = "Pdnn:MaxUploadBytes", ["--max-image-side"] = "Pdnn:MaxImageSide",
    };

    public void Validate()
    {
        if (Engine is not ("pool" or "batch")) throw new ArgumentException($"--engine '{Engine}': expected pool or batch.");
        if (MaxBatch < 1) throw new ArgumentException($"--max-batch {MaxBatch}: must be at least 1.");
        if (MaxConcurrency < 1) throw new ArgumentException($"--max-concurrency {MaxConcurrency}: must be at least 1.");
        if (MaxUploadBytes < 1 || MaxImageSide < 1) throw new ArgumentException("--max-upload-bytes and --max-image-side must be positive.");
    }
}
