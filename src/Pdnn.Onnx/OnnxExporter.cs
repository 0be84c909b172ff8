using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace Pdnn.Onnx;

/// <summary>Exports a TorchSharp model taking N x C x H x W floats to an ONNX file with a dynamic batch dimension.</summary>
public static class OnnxExporter
{
    public const string InputName = "input";
    public const string OutputName = "output";

    public static string ProducerVersion => typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>
    /// Writes <paramref name="model"/> (in eval mode; its weights are read, not copied by reference) as ONNX. The output's
    /// shape is found by running the model once on zeros of the input shape.
    /// </summary>
    public static ModelProto Export(nn.Module<Tensor, Tensor> model, long[] inputShape, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (inputShape.Length != 3) throw new ArgumentException($"input shape must be C, H, W; got {inputShape.Length} dimensions.");
        bool wasTraining = model.training;
        model.eval();
        try
        {
            long[] outputShape;
            using (no_grad())
            using (var probe = zeros([1, .. inputShape]))
            using (var probeOut = model.forward(probe))
                outputShape = probeOut.shape[1..];
            var graph = new OnnxGraphBuilder();
            var output = graph.Module(model, graph.Input(InputName, inputShape));
            graph.Output(output, OutputName, outputShape);
            return graph.Build(ProducerVersion, metadata);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    public static void Save(ModelProto model, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, model.ToByteArray());
    }
}
