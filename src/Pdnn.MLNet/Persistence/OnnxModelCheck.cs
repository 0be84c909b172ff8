using Google.Protobuf;
using Onnx;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Persistence;

/// <summary>
/// Looks at an ONNX model from a model file before ONNX Runtime gets its bytes: it must parse as a ModelProto, use only the
/// allowed operator domains (no model-local functions, no training graphs), keep every tensor inside the file (external
/// data would make ONNX Runtime open files named by the model), take one float image input that fits the stage's column
/// (N x C x H x W, batch dynamic) and give a float output of the shape the stage reads.
/// </summary>
static class OnnxModelCheck
{
    /// <param name="inputChannels">the channel counts the stage accepts (the inpainter: C + 1 with its mask, or C).</param>
    /// <param name="classCount">for a classifier, the number of class names: a static output width must equal it.</param>
    public static void Check(byte[] bytes, string path, string entry, string stage, ImageShape shape, int[] inputChannels,
                             int? classCount, PdnnLoadOptions options)
    {
        PdnnModelFileException Fail(string problem, Exception? inner = null) =>
            new(path, ModelFileCheck.Onnx, $"ONNX model of stage {stage}: {problem}", entry, inner);

        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw Fail($"not an ONNX model ({e.Message}).", e); }
        if (model.Graph == null) throw Fail("no graph.");
        foreach (var opset in model.OpsetImport)
            if (!options.AllowedOnnxDomains.Contains(opset.Domain))
                throw Fail($"imports operator domain '{BoundedZip.Printable(opset.Domain)}', outside the allowed {Domains(options)} (PdnnLoadOptions.AllowedOnnxDomains).");
        if (model.Functions.Count > 0) throw Fail($"defines {model.Functions.Count} model-local function(s); a Pdnn stage's model needs none.");
        if (model.TrainingInfo.Count > 0) throw Fail("carries training graphs; a Pdnn stage's model needs none.");
        CheckGraph(model.Graph, depth: 0, Fail, options);

        var graph = model.Graph;
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Count != 1) throw Fail($"{inputs.Count} inputs; a stage feeds exactly one image tensor.");
        var input = Dims(inputs[0], "input", Fail);
        string expected = $"[N, {string.Join(" or ", inputChannels)}, {shape.Height}, {shape.Width}]";
        if (input.Length != 4 || input[1] is not { } c || !inputChannels.Contains((int)c) || input[2] != shape.Height || input[3] != shape.Width)
            throw Fail($"input '{inputs[0].Name}' has shape {Show(input)}, but the column holds {shape} images (expected {expected}).");
        if (input[0] is { } batch && batch != 1)
            throw Fail($"input '{inputs[0].Name}' has a fixed batch of {batch}; a stage sends batches of any size up to its batch size.");

        if (graph.Output.Count < 1) throw Fail("no output.");
        var output = Dims(graph.Output[0], "output", Fail, shapeRequired: false);
        if (output.Length == 0) return; // no declared shape: the stage checks what the model gives at run time
        if (classCount is int k)
        {
            if (output.Length != 2 || output[1] is { } width && width != k)
                throw Fail($"output '{graph.Output[0].Name}' has shape {Show(output)}; the stage has {k} class names (expected [N, {k}]).");
        }
        else if (output.Length != 4 || output[1] is { } oc && oc != shape.Channels)
            throw Fail($"output '{graph.Output[0].Name}' has shape {Show(output)}; the stage expects {shape.Channels}-channel images [N, {shape.Channels}, H, W].");
    }

    static string Domains(PdnnLoadOptions o) => string.Join(", ", o.AllowedOnnxDomains.Select(d => d == "" ? "'' (standard)" : $"'{d}'"));

    static void CheckGraph(GraphProto graph, int depth, Func<string, Exception?, PdnnModelFileException> fail, PdnnLoadOptions options)
    {
        if (depth > 8) throw fail("subgraphs nested more than 8 deep.", null);
        foreach (var t in graph.Initializer) { CheckTensor(t, fail); CheckFinite(t, fail); }
        foreach (var s in graph.SparseInitializer) { CheckTensor(s.Values, fail); CheckTensor(s.Indices, fail); }
        foreach (var node in graph.Node)
        {
            if (!options.AllowedOnnxDomains.Contains(node.Domain))
                throw fail($"node '{BoundedZip.Printable(node.Name)}' ({BoundedZip.Printable(node.OpType)}) is in operator domain '{BoundedZip.Printable(node.Domain)}', outside the allowed {Domains(options)} (PdnnLoadOptions.AllowedOnnxDomains).", null);
            foreach (var a in node.Attribute)
            {
                if (a.T != null) CheckTensor(a.T, fail);
                foreach (var t in a.Tensors) CheckTensor(t, fail);
                if (a.SparseTensor != null) { CheckTensor(a.SparseTensor.Values, fail); CheckTensor(a.SparseTensor.Indices, fail); }
                foreach (var s in a.SparseTensors) { CheckTensor(s.Values, fail); CheckTensor(s.Indices, fail); }
                if (a.G != null) CheckGraph(a.G, depth + 1, fail, options);
                foreach (var g in a.Graphs) CheckGraph(g, depth + 1, fail, options);
            }
        }
    }

    static void CheckTensor(TensorProto? t, Func<string, Exception?, PdnnModelFileException> fail)
    {
        if (t == null) return;
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            var location = t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "(no location)";
            throw fail($"tensor '{BoundedZip.Printable(t.Name)}' keeps its data outside the model, in '{BoundedZip.Printable(location)}'; external data is refused (ONNX Runtime would read that file).", null);
        }
    }

    /// <summary>A float initializer must hold finite numbers: a NaN or ∞ weight poisons every output it reaches.</summary>
    static void CheckFinite(TensorProto t, Func<string, Exception?, PdnnModelFileException> fail)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float) return;
        var raw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span[..(t.RawData.Length / 4 * 4)]);
        foreach (var v in raw) if (!float.IsFinite(v)) throw fail($"initializer '{BoundedZip.Printable(t.Name)}' holds {v}; weights must be finite.", null);
        foreach (var v in t.FloatData) if (!float.IsFinite(v)) throw fail($"initializer '{BoundedZip.Printable(t.Name)}' holds {v}; weights must be finite.", null);
    }

    /// <summary>The dims of a float tensor value: a number where static, null where symbolic or absent.</summary>
    static long?[] Dims(ValueInfoProto value, string what, Func<string, Exception?, PdnnModelFileException> fail, bool shapeRequired = true)
    {
        var tensor = value.Type?.TensorType;
        if (tensor == null || tensor.ElemType != (int)TensorProto.Types.DataType.Float)
            throw fail($"{what} '{BoundedZip.Printable(value.Name)}' is not a float tensor.", null);
        if (tensor.Shape == null && !shapeRequired) return [];
        if (tensor.Shape == null) throw fail($"{what} '{BoundedZip.Printable(value.Name)}' has no shape.", null);
        return tensor.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : (long?)null).ToArray();
    }

    static string Show(long?[] dims) => $"[{string.Join(", ", dims.Select(d => d?.ToString() ?? "?"))}]";
}
