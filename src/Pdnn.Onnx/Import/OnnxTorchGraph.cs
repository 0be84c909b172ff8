using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Onnx.Import;

/// <summary>
/// An ONNX model run as TorchSharp operations, so that it is differentiable: the white-box twin of a deployed ONNX stage,
/// built from the very bytes ONNX Runtime runs (one description, two executions). It covers the operators
/// <see cref="OnnxGraphBuilder"/> writes (Conv, ConvTranspose, BatchNormalization, Gemm, activations, pooling, Flatten,
/// DepthToSpace, Resize, Add/Sub/Div, Concat, Identity) with eval-mode semantics; any other operator, and any attribute
/// whose meaning the twin would not reproduce, is refused by name at load time (<see cref="OnnxGraphCheck"/>), not half-way
/// through an attack.
/// </summary>
public sealed class OnnxTorchGraph : IDisposable
{
    readonly GraphProto graph;
    readonly Dictionary<string, Tensor> constants = [];
    readonly Dictionary<string, long[]> integers = [];
    /// <summary>Float initializers also kept on the CPU as numbers (Resize scales), so no forward pass reads a device tensor back.</summary>
    readonly Dictionary<string, double[]> scales = [];

    public OnnxTorchGraph(byte[] onnx, Device device, string source = "ONNX model")
    {
        Source = source;
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(onnx); }
        catch (Google.Protobuf.InvalidProtocolBufferException e) { throw new InvalidDataException($"{source}: not an ONNX model ({e.Message}).", e); }
        graph = model.Graph ?? throw new InvalidDataException($"{source}: an ONNX model without a graph.");
        OnnxGraphCheck.Check(model, source);
        foreach (var t in graph.Initializer)
        {
            var dims = t.Dims.ToArray();
            long count = OnnxGraphCheck.Count(dims, t.Name, source);
            if (t.DataType == (int)TensorProto.Types.DataType.Int64)
            {
                integers[t.Name] = t.RawData.Length > 0 ? FromRaw<long>(t.RawData.Span, count, t.Name) : [.. t.Int64Data];
                if (integers[t.Name].Length != count) throw Mismatch(t.Name, integers[t.Name].Length, dims);
                continue;
            }
            if (t.DataType != (int)TensorProto.Types.DataType.Float)
                throw new NotSupportedException($"{source}: initializer '{t.Name}' has data type {t.DataType}; only float and int64 are supported.");
            var values = t.RawData.Length > 0 ? FromRaw<float>(t.RawData.Span, count, t.Name) : [.. t.FloatData];
            if (values.Length != count) throw Mismatch(t.Name, values.Length, dims);
            // NaN and ∞ weights make a twin that disagrees with ONNX Runtime (whose Relu and Max may drop a NaN): refused.
            if (Array.FindIndex(values, v => !float.IsFinite(v)) is var bad and >= 0)
                throw new InvalidDataException($"{source}: initializer '{t.Name}' holds {values[bad]} at {bad}; weights must be finite.");
            constants[t.Name] = tensor(values, dims).to(device).DetachFromDisposeScope();
            if (values.Length <= 4) scales[t.Name] = values.Select(v => (double)v).ToArray();
        }
        InputName = graph.Input.First(i => !constants.ContainsKey(i.Name) && !integers.ContainsKey(i.Name)).Name;
        OutputName = graph.Output[0].Name;
    }

    InvalidDataException Mismatch(string name, long values, long[] dims) =>
        new($"{Source}: initializer '{name}' holds {values} values, its dims [{string.Join(", ", dims)}] need {dims.Aggregate(1L, (a, d) => a * d)}.");

    /// <summary>Where the model came from (a file name), for error messages.</summary>
    public string Source { get; }

    public static OnnxTorchGraph Load(string path, Device device) => new(File.ReadAllBytes(path), device, path);

    public string InputName { get; }
    public string OutputName { get; }

    /// <summary>Little-endian raw data as values; its length must be exactly <paramref name="count"/> values.</summary>
    T[] FromRaw<T>(ReadOnlySpan<byte> raw, long count, string name) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (raw.Length != count * size)
            throw new InvalidDataException($"{Source}: initializer '{name}' has {raw.Length} bytes of raw data, its dims need {count} values of {size} bytes.");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(raw).ToArray();
    }

    /// <summary>Runs the graph on <paramref name="x"/> (N x ...), differentiably.</summary>
    public Tensor Forward(Tensor x)
    {
        var values = new Dictionary<string, Tensor>(constants) { [InputName] = x };
        foreach (var node in graph.Node)
            values[node.Output[0]] = RunNamed(node, values);
        return ChannelsLast.Restore(values[OutputName]);
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
            var output = values[node.Output[0]] = RunNamed(node, values);
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

    /// <summary>Runs one node; TorchSharp's errors (shapes that do not fit) come out naming the model and the node.</summary>
    Tensor RunNamed(NodeProto node, Dictionary<string, Tensor> values)
    {
        try { return Run(node, values); }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"{Source}: node '{node.Name}' ({node.OpType}) cannot run on its inputs: {e.Message.Split('\n')[0]}", e);
        }
    }

    // The twin runs many times per attack step: it passes no scalar made by implicit conversion (TorchSharp's a + b is
    // a.add(b, 1) with a scalar nothing holds, which another thread's garbage collection can free while libtorch reads
    // it; see GcSafe in Pdnn.Torch). These two live as long as the process.
    static readonly Scalar One = 1, Zero = 0;

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
                return nn.functional.conv2d(ChannelsLast.ForConvolution(In(0), In(1).shape[3], Ints("strides", [1, 1]).Max(), In(1).shape[1], Int("group", 1)), In(1), Has(2) ? In(2) : null, Ints("strides", [1, 1]), Padding(), Ints("dilations", [1, 1]), Int("group", 1));
            case "ConvTranspose":
                return nn.functional.conv_transpose2d(Int("group", 1) > 1 ? In(0) : ChannelsLast.Of(In(0)), In(1), Has(2) ? In(2) : null, Ints("strides", [1, 1]), Padding(),
                    Ints("output_padding", [0, 0]), Ints("dilations", [1, 1]), Int("group", 1));
            case "BatchNormalization":
                return nn.functional.batch_norm(In(0), In(3), In(4), In(1), In(2), training: false, eps: Float("epsilon", 1e-5f));
            case "Gemm":
                return nn.functional.linear(In(0), Int("transB", 0) == 1 ? In(1) : In(1).t(), Has(2) ? In(2) : null);
            case "Relu": return nn.functional.relu(In(0));
            case "LeakyRelu":
                using (var slope = ((double)Float("alpha", 0.01f)).ToScalar()) return In(0).leaky_relu(slope);
            case "PRelu": return where(In(0).ge(Zero), In(0), In(0) * In(1));
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
            case "Add": return In(0).add(In(1), One);
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
