namespace Pdnn.Onnx;

/// <summary>
/// A module that writes itself into an ONNX graph: given the name of its input value, it adds its nodes and returns the
/// name of its output value. Composite models implement it so their export reads like their forward pass; standard
/// TorchSharp layers are handled by <see cref="OnnxGraphBuilder.Module"/>.
/// </summary>
public interface IOnnxExportable
{
    string ExportOnnx(OnnxGraphBuilder graph, string input);
}
