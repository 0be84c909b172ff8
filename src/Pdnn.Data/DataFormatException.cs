namespace Pdnn.Data;

/// <summary>A data file or folder that cannot be read as the format it claims; the message names it and says what was wrong.</summary>
public sealed class DataFormatException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}
