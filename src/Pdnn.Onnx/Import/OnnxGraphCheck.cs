using Onnx;

namespace Pdnn.Onnx.Import;

/// <summary>
/// What <see cref="OnnxTorchGraph"/> checks before it builds anything: the standard operator domain only, no external data,
/// model-local functions or training graphs, every node a supported operator whose inputs exist (in order) and whose
/// attributes mean what the TorchSharp twin computes (symmetric pads, no auto_pad, plain Gemm, the Resize modes TorchSharp's
/// interpolate has, ...). A model that fails here would otherwise run with a silently different meaning, or fail half-way
/// through an attack.
/// </summary>
static class OnnxGraphCheck
{
    public static readonly HashSet<string> Supported =
    [
        "Conv", "ConvTranspose", "BatchNormalization", "Gemm", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "MaxPool",
        "AveragePool", "GlobalAveragePool", "Flatten", "DepthToSpace", "Resize", "Add", "Sub", "Div", "Concat", "Identity",
    ];

    /// <summary>Inputs each operator takes (min, max), as the twin runs it.</summary>
    static (int Min, int Max) Arity(string op) => op switch
    {
        "Conv" or "ConvTranspose" or "Gemm" => (2, 3),
        "BatchNormalization" => (5, 5),
        "PRelu" or "Add" or "Sub" or "Div" => (2, 2),
        "Concat" => (1, 64),
        "Resize" => (1, 4),
        _ => (1, 1),
    };

    public static void Check(ModelProto model, string source)
    {
        var graph = model.Graph;
        Exception Fail(string problem) => new NotSupportedException($"{source}: {problem}");

        if (model.OpsetImport.Any(o => o.Domain is not ("" or "ai.onnx")) || model.Functions.Count > 0 || model.TrainingInfo.Count > 0)
            throw Fail("uses operator domains, functions or training graphs outside standard ONNX; the twin runs standard operators only.");
        foreach (var t in graph.Initializer.Concat(graph.SparseInitializer.Select(s => s.Values)))
            if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
                throw Fail($"initializer '{t.Name}' keeps its data outside the model (external data is refused).");
        if (graph.SparseInitializer.Count > 0) throw Fail("sparse initializers are not supported.");

        var known = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !known.Contains(i.Name)).ToList();
        if (inputs.Count != 1 || graph.Output.Count != 1)
            throw Fail("expected one image input and one output.");
        known.Add(inputs[0].Name);
        var unknown = graph.Node.Select(n => n.OpType).Where(op => !Supported.Contains(op)).Distinct().ToList();
        if (unknown.Count > 0)
            throw Fail($"operator(s) {string.Join(", ", unknown)} have no TorchSharp twin; supported: {string.Join(", ", Supported)}.");

        foreach (var node in graph.Node)
        {
            string name = $"node '{node.Name}' ({node.OpType})";
            if (node.Domain is not ("" or "ai.onnx")) throw Fail($"{name} is in operator domain '{node.Domain}'.");
            var (min, max) = Arity(node.OpType);
            if (node.Input.Count < min || node.Input.Count > max) throw Fail($"{name} has {node.Input.Count} inputs, expected {min}..{max}.");
            for (int i = 0; i < node.Input.Count; i++)
            {
                bool optional = node.OpType == "Resize" ? i > 0 : i >= min;
                if (node.Input[i] == "" && optional) continue;
                if (!known.Contains(node.Input[i])) throw Fail($"{name} reads '{node.Input[i]}', which no earlier node, input or initializer gives.");
            }
            if (node.Output.Count != 1 || node.Output[0] == "") throw Fail($"{name} must have exactly one output.");
            CheckAttributes(node, name, graph, Fail);
            known.Add(node.Output[0]);
        }
        if (!known.Contains(graph.Output[0].Name)) throw Fail($"output '{graph.Output[0].Name}' is given by no node.");
    }

    static void CheckAttributes(NodeProto node, string name, GraphProto graph, Func<string, Exception> fail)
    {
        AttributeProto? A(string a) => node.Attribute.FirstOrDefault(x => x.Name == a);
        string Text(string a, string fallback) => A(a)?.S.ToStringUtf8() ?? fallback;
        long Int(string a, long fallback) => A(a)?.I ?? fallback;
        void Require(bool ok, string problem) { if (!ok) throw fail($"{name}: {problem}"); }
        void Pair(string a, long min)
        {
            if (A(a) is { } x) Require(x.Ints.Count == 2 && x.Ints.All(v => v >= min && v <= 1 << 16), $"'{a}' must be two values >= {min}, got [{string.Join(", ", x.Ints)}].");
        }

        switch (node.OpType)
        {
            case "Conv" or "ConvTranspose" or "MaxPool" or "AveragePool":
                Require(Text("auto_pad", "NOTSET") == "NOTSET", $"auto_pad '{Text("auto_pad", "")}' is not supported; give explicit pads.");
                if (A("pads") is { } pads)
                    Require(pads.Ints.Count == 4 && pads.Ints[0] == pads.Ints[2] && pads.Ints[1] == pads.Ints[3] && pads.Ints.All(p => p >= 0 && p <= 1 << 16),
                            $"pads [{string.Join(", ", pads.Ints)}]: only symmetric, non-negative [top, left, bottom, right] are supported.");
                Pair("strides", 1); Pair("dilations", 1); Pair("kernel_shape", 1); Pair("output_padding", 0);
                Require(Int("group", 1) >= 1, $"group {Int("group", 1)} must be at least 1.");
                Require(node.OpType is not ("MaxPool" or "AveragePool") || A("kernel_shape") is { Ints.Count: 2 }, "kernel_shape must be given, 2-D.");
                Require(Int("storage_order", 0) == 0, "storage_order 1 is not supported.");
                Require(A("output_shape") == null, "output_shape is not supported; give pads.");
                if (node.OpType is "Conv" or "ConvTranspose" && A("kernel_shape") is { } kernel && graph.Initializer.FirstOrDefault(t => t.Name == node.Input[1]) is { } w)
                    Require(w.Dims.Count == 4 && kernel.Ints.SequenceEqual(w.Dims.Skip(2)),
                            $"kernel_shape [{string.Join(", ", kernel.Ints)}] does not match the weight's [{string.Join(", ", w.Dims)}].");
                break;
            case "Gemm":
                Require((A("alpha")?.F ?? 1f) == 1f && (A("beta")?.F ?? 1f) == 1f && Int("transA", 0) == 0, "only alpha = beta = 1 and transA = 0 are supported.");
                break;
            case "BatchNormalization":
                Require(Int("training_mode", 0) == 0, "training_mode is not supported (the twin runs in eval mode).");
                break;
            case "DepthToSpace":
                Require(Text("mode", "DCR") == "CRD", $"mode {Text("mode", "DCR")}: only CRD (PixelShuffle) is supported.");
                Require(Int("blocksize", 0) >= 1, "blocksize must be at least 1.");
                break;
            case "Flatten":
                Require(Int("axis", 1) == 1, "only axis 1 is supported.");
                break;
            case "Concat":
                Require(A("axis") != null, "axis must be given.");
                break;
            case "Resize":
                var mode = Text("mode", "nearest");
                var coordinates = Text("coordinate_transformation_mode", "half_pixel");
                Require(mode == "linear" ? coordinates is "pytorch_half_pixel" or "half_pixel" or "align_corners"
                        : mode == "nearest" && coordinates == "asymmetric" && Text("nearest_mode", "round_prefer_floor") == "floor",
                        $"mode '{mode}' with coordinate_transformation_mode '{coordinates}' and nearest_mode '{Text("nearest_mode", "round_prefer_floor")}' has no exact TorchSharp " +
                        "interpolate (supported: linear with (pytorch_)half_pixel or align_corners; nearest with asymmetric and floor).");
                Require(Int("antialias", 0) == 0 && Int("exclude_outside", 0) == 0, "antialias and exclude_outside are not supported.");
                bool sizes = node.Input.Count > 3 && node.Input[3] != "" && graph.Initializer.Any(t => t.Name == node.Input[3] && t.DataType == (int)TensorProto.Types.DataType.Int64);
                bool scales = node.Input.Count > 2 && node.Input[2] != "" && graph.Initializer.Any(t => t.Name == node.Input[2] && t.DataType == (int)TensorProto.Types.DataType.Float);
                Require(sizes || scales, "needs constant sizes (int64) or scales (float) as an initializer.");
                break;
        }
    }

    /// <summary>The number of values of a tensor of <paramref name="dims"/>; refuses negative dims and overflow.</summary>
    public static long Count(long[] dims, string name, string source)
    {
        long count = 1;
        foreach (var d in dims)
        {
            if (d < 0 || d > int.MaxValue) throw new InvalidDataException($"{source}: initializer '{name}' has dimension {d}.");
            count = d == 0 ? 0 : count > Array.MaxLength / d ? throw new InvalidDataException($"{source}: initializer '{name}' is too large ({string.Join("x", dims)}).") : count * d;
        }
        return count;
    }
}
