using Microsoft.ML.OnnxRuntime;

namespace Pdnn.Cli.Commands;

/// <summary>
/// The baseline of bench-inference: the chain's ONNX models run with plain ONNX Runtime sessions (default session
/// options, as the stages use) on batches of the same images, through the OrtValue API with the inputs pinned in place.
/// Only the models run: no noise, no resize, no mask composition, no ML.NET: the most a chain of these models can do.
/// </summary>
sealed class RawOnnxRuntime : IDisposable
{
    readonly List<(InferenceSession Session, string Input, string Output, int Multiplier, int Channels)> models = [];
    readonly RunOptions run = new();
    readonly int height, width;

    public RawOnnxRuntime(int height, int width) { this.height = height; this.width = width; }

    /// <summary>Adds a model run on every batch: on <paramref name="multiplier"/> inputs per image (FIR: one per mask).</summary>
    public RawOnnxRuntime Add(string path, int multiplier = 1)
    {
        var session = new InferenceSession(path);
        var input = session.InputMetadata.Keys.First();
        models.Add((session, input, session.OutputMetadata.Keys.First(), multiplier, session.InputMetadata[input].Dimensions[1]));
        return this;
    }

    /// <summary>Runs every model on each batch of <paramref name="count"/> images (C·H·W floats each); returns the images processed.</summary>
    public int Pass(float[] images, int count, int batchSize)
    {
        int size = 3 * height * width;
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            foreach (var m in models)
            {
                int rows = n * m.Multiplier, rowSize = m.Channels * height * width;
                // The model's input: the batch's own pixels where they fit (3-channel models, one input per image), else
                // the first pixels of the set (FIR's masked 4-channel inputs); values do not change the arithmetic.
                var data = m.Multiplier == 1 && m.Channels == 3 ? images.AsMemory(start * size, rows * rowSize) : Inputs(images, rows * rowSize);
                using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, [rows, m.Channels, height, width]);
                using var outputs = m.Session.Run(run, [m.Input], [input], [m.Output]);
                _ = outputs[0].GetTensorDataAsSpan<float>()[0];
            }
        }
        return count;
    }

    float[]? large;
    Memory<float> Inputs(float[] images, int length)
    {
        if (large == null || large.Length < length)
        {
            large = new float[length];
            for (int i = 0; i < length; i += images.Length) images.AsSpan(0, Math.Min(images.Length, length - i)).CopyTo(large.AsSpan(i));
        }
        return large.AsMemory(0, length);
    }

    public void Dispose()
    {
        foreach (var m in models) m.Session.Dispose();
        run.Dispose();
    }
}
