namespace Pdnn.MLNet.Persistence;

/// <summary>What a stage is, in data: enough to rebuild it, with its ONNX model (if any) stored beside the description.</summary>
public sealed record StageDescription
{
    public required string Kind { get; init; }
    public required string InputColumn { get; init; }
    public string[] OutputColumns { get; init; } = [];
    public required int[] Shape { get; init; }            // C, H, W
    public int BatchSize { get; init; }
    public Dictionary<string, double> Parameters { get; init; } = [];
    public string[]? ClassNames { get; init; }
    /// <summary>At save time the ONNX file in use; inside a saved model, the zip entry holding it.</summary>
    public string? Model { get; init; }
    public string? ModelSha256 { get; init; }
}
