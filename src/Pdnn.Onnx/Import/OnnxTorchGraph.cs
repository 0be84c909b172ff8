using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Onnx.Import;

/// <summary>
/// An ONNX model run as TorchSharp operations, so that it is differentiable: the white-box twin of a deployed ONNX stage,
/// built from the very bytes ONNX Runtime runs (one description, two executions). It covers the operators
/// <see cref="OnnxGraphBuilder"/> writes (Conv, ConvTranspose, BatchNormalization, Gemm, activations, pooling, Flatten,
/// DepthToSpace, Resize, Add/Sub/Div, Concat, Identity) with eval-mode semantics; any other operator is refused by name
/// at load time, not half-way through an attack.
/// </summary>
public sealed class OnnxTorchGraph : IDisposable
{
    static readonly HashSet<string> Supported =
    [
        "Conv", "ConvTranspose", "BatchNormalization", "Gemm", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "MaxPool",
        "AveragePool", "GlobalAveragePool", "Flatten", "DepthToSpace", "Resize", "Add", "Sub", "Div", "Concat", "Identity",
    ];

    readonly GraphProto graph;
    readonly Dictionary<string, Tensor> constants = [];
    readonly Dictionary<string, long[]> integers = [];
    /// <summary>Float initializers also kept on the CPU as numbers (Resize scales), so no forward pass reads a device tensor back.</summary>
    readonly Dictionary<string, double[]> scales = [];

    public OnnxTorchGraph(byte[] onnx, Device device, string source = "ONNX model")
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        graph = model.Graph;
        var unknown = graph.Node.Select(n => n.OpType).Where(op => !Supported.Contains(op)).Distinct().ToList();
        if (unknown.Count > 0)
            throw new NotSupportedException($"{source}: operator(s) {string.Join(", ", unknown)} have no TorchSharp twin; supported: {string.Join(", ", Supported)}.");
        if (graph.Input.Count(i => graph.Initializer.All(t => t.Name != i.Name)) != 1 || graph.Output.Count != 1)
            throw new NotSupportedException($"{source}: expected one image input and one output.");
        foreach (var t in graph.Initializer)
        {
            if (t.DataType == (int)TensorProto.Types.DataType.Int64) { integers[t.Name] = [.. t.Int64Data]; continue; }
            if (t.DataType != (int)TensorProto.Types.DataType.Float)
                throw new NotSupportedException($"{source}: initializer '{t.Name}' has data type {t.DataType}; only float and int64 are supported.");
            var values = t.RawData.Length > 0 ? FromRaw(t.RawData.ToByteArray()) : [.. t.FloatData];
            constants[t.Name] = tensor(values, [.. t.Dims]).to(device).DetachFromDisposeScope();
            if (values.Length <= 4) scales[t.Name] = values.Select(v => (double)v).ToArray();
        }
        InputName = graph.Input.First(i => !constants.ContainsKey(i.Name) && !integers.ContainsKey(i.Name)).Name;
        OutputName = graph.Output[0].Name;
    }

    public static OnnxTorchGraph Load(string path, Device device) => new(File.ReadAllBytes(path), device, path);

    public string InputName { get; }
    public string OutputName { get; }

    static float[] FromRaw(byte[] raw)
    {
        var values = new float[raw.Length / 4];
        Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
        return values;
    }

    /// <summary>Runs the graph on <paramref name="x"/> (N x ...), differentiably.</summary>
    public Tensor Forward(Tensor x)
    {
        var values = new Dictionary<string, Tensor>(constants) { [InputName] = x };
        foreach (var node in graph.Node)
            values[node.Output[0]] = Run(node, values);
        return values[OutputName];
    }

    /// <summary>
    /// Multiply-accumulates of one forward pass on one input of shape <paramref name="inputShape"/> (without the batch
    /// dimension), counted over Conv, ConvTranspose and Gemm (everything else is a rounding error); FLOPs ≈ 2 x MACs.
    /// </summary>
    public long MultiplyAccumulates(params long[] inputShape)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = constants.Values.FirstOrDefault()?.device ?? CPU;
        var values = new Dictionary<string, Tensor>(constants) { [InputName] = zeros([1, .. inputShape], device: device) };
        long macs = 0;
        foreach (var node in graph.Node)
        {
            var output = values[node.Output[0]] = Run(node, values);
            if (node.OpType is "Conv" or "Gemm")
            {
                var w = values[node.Input[1]];
                long perOutput = node.OpType == "Gemm" ? w.shape[1] : w.shape[1] * w.shape[2] * w.shape[3]; // weight: [out, in/groups, kh, kw]
                macs += output.numel() * perOutput;
            }
            else if (node.OpType == "ConvTranspose")
            {
                var w = values[node.Input[1]];                                                                 // weight: [in, out/groups, kh, kw]
                macs += values[node.Input[0]].numel() * w.shape[1] * w.shape[2] * w.shape[3];
            }
        }
        return macs;
    }

    Tensor Run(NodeProto node, Dictionary<string, Tensor> values)
    {
        Tensor In(int i) => values[node.Input[i]];
        bool Has(int i) => node.Input.Count > i && node.Input[i] != "";
        long[] Ints(string name, long[] fallback) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? [.. a.Ints] : fallback;
        long Int(string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;
        float Float(string name, float fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.F ?? fallback;
        string Text(string name, string fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.S.ToStringUtf8() ?? fallback;
        // ONNX pads are [top, left, bottom, right]; the exporter only writes symmetric ones, which TorchSharp takes as [h, w].
        long[] Padding() { var p = Ints("pads", [0, 0, 0, 0]); return [p[0], p[1]]; }

        switch (node.OpType)
        {
            case "Conv":
                return nn.functional.conv2d(In(0), In(1), Has(2) ? In(2) : null, Ints("strides", [1, 1]), Padding(), Ints("dilations", [1, 1]), Int("group", 1));
            case "ConvTranspose":
                return nn.functional.conv_transpose2d(In(0), In(1), Has(2) ? In(2) : null, Ints("strides", [1, 1]), Padding(),
                    Ints("output_padding", [0, 0]), Ints("dilations", [1, 1]), Int("group", 1));
            case "BatchNormalization":
                return nn.functional.batch_norm(In(0), In(3), In(4), In(1), In(2), training: false, eps: Float("epsilon", 1e-5f));
            case "Gemm":
                return nn.functional.linear(In(0), Int("transB", 0) == 1 ? In(1) : In(1).t(), Has(2) ? In(2) : null);
            case "Relu": return nn.functional.relu(In(0));
            case "LeakyRelu": return nn.functional.leaky_relu(In(0), Float("alpha", 0.01f));
            case "PRelu": return where(In(0) >= 0, In(0), In(0) * In(1));
            case "Sigmoid": return In(0).sigmoid();
            case "Tanh": return In(0).tanh();
            case "MaxPool":
                return nn.functional.max_pool2d(In(0), Ints("kernel_shape", []), Ints("strides", [1, 1]), Padding(), Ints("dilations", [1, 1]), Int("ceil_mode", 0) == 1);
            case "AveragePool":
                return nn.functional.avg_pool2d(In(0), Ints("kernel_shape", []), Ints("strides", [1, 1]), Padding(), Int("ceil_mode", 0) == 1, Int("count_include_pad", 0) == 1);
            case "GlobalAveragePool": return In(0).mean([2, 3], keepdim: true);
            case "Flatten": return In(0).flatten(Int("axis", 1));
            case "DepthToSpace":
                if (Text("mode", "DCR") != "CRD") throw new NotSupportedException($"DepthToSpace mode {Text("mode", "DCR")}: only CRD (PixelShuffle) is supported.");
                return nn.functional.pixel_shuffle(In(0), Int("blocksize", 1));
            case "Resize": return Resize(node, In(0), Text);
            case "Add": return In(0) + In(1);
            case "Sub": return In(0) - In(1);
            case "Div": return In(0) / In(1);
            case "Concat": return cat(node.Input.Select(i => values[i]).ToList(), Int("axis", 0));
            case "Identity": return In(0);
            default: throw new NotSupportedException($"operator {node.OpType}");
        }
    }

    /// <summary>Resize as the exporter writes it: linear with pytorch_half_pixel / align_corners, or nearest asymmetric floor.</summary>
    Tensor Resize(NodeProto node, Tensor x, Func<string, string, string> text)
    {
        bool linear = text("mode", "nearest") == "linear";
        bool alignCorners = text("coordinate_transformation_mode", "half_pixel") == "align_corners";
        long[]? size = node.Input.Count > 3 && integers.TryGetValue(node.Input[3], out var s) ? s[^2..] : null;
        double[]? scale = size == null && node.Input.Count > 2 && scales.TryGetValue(node.Input[2], out var sc) ? sc[^2..] : null;
        var mode = linear ? InterpolationMode.Bilinear : InterpolationMode.Nearest;
        return nn.functional.interpolate(x, size, scale, mode, linear ? alignCorners : null);
    }

    public void Dispose()
    {
        foreach (var t in constants.Values) t.Dispose();
    }
}
