using Microsoft.ML;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Transforms;

/// <summary>
/// NSR's p and μ: the super-resolution generator (an ONNX model, e.g. 32 → 128) predicts a high-resolution image, which is
/// resized back to the input resolution bilinearly (R in the paper; half-pixel, no antialiasing, as TorchSharp's interpolate).
/// </summary>
public sealed class SuperResolveTransformer : ImageToImageTransformer, IDisposable
{
    readonly OnnxModelSession session;

    internal SuperResolveTransformer(string input, string output, ImageShape shape, string modelPath, int batchSize, ExecutionDevice device)
        : base(input, output, shape, batchSize)
    {
        session = OnnxModelSession.Open(modelPath, shape, device);
    }

    public string Device => session.Device;

    public override Persistence.StageDescription Describe() => Description("SuperResolve", OutputColumn) with { Model = session.Source };

    protected internal override void ComputeBatch(float[] images, int count, Array[] outputs, RowKey first)
    {
        var high = session.Run(images, count, Shape);
        int perImage = high.Length / count;
        if (perImage % Shape.Channels != 0)
            throw new InvalidDataException($"ONNX model '{session.Source}' gave {perImage} values per image, not a whole number of {Shape.Channels}-channel pixels.");
        int side = (int)Math.Round(Math.Sqrt(perImage / Shape.Channels * (double)Shape.Height / Shape.Width));
        int highH = side, highW = perImage / Shape.Channels / side;
        if (highH * highW * Shape.Channels != perImage)
            throw new InvalidDataException($"ONNX model '{session.Source}' output is not an image with the input's aspect ratio ({perImage} values per image).");
        var output = (float[])outputs[0];
        for (int i = 0; i < count; i++)
            Bilinear.Resize(high.AsSpan(i * perImage, perImage), Shape.Channels, highH, highW, output.AsSpan(i * Shape.Size, Shape.Size), Shape.Height, Shape.Width);
    }

    public void Dispose() => session.Dispose();
}
