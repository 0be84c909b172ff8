using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace Pdnn.Onnx;

/// <summary>
/// Builds an ONNX graph node by node: unique value names, weights as initializers, and helpers for the operators our
/// models need. Layer-level translations (Conv2d → Conv, ...) live in <c>OnnxGraphBuilder.Layers.cs</c>.
/// </summary>
public sealed partial class OnnxGraphBuilder
{
    /// <summary>Opset 18: Resize with antialias and the reduce ops taking axes as inputs.</summary>
    public const long Opset = 18;

    readonly GraphProto graph = new() { Name = "pdnn" };
    readonly Dictionary<string, int> counters = [];

    string Fresh(string stem)
    {
        counters[stem] = counters.GetValueOrDefault(stem) + 1;
        return $"{stem}_{counters[stem]}";
    }

    /// <summary>A float input of shape [N, ...dims] with a dynamic batch dimension N.</summary>
    public string Input(string name, params long[] dims)
    {
        graph.Input.Add(ValueInfo(name, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> a graph output named <paramref name="name"/> ([N, ...dims]).</summary>
    public void Output(string value, string name, params long[] dims)
    {
        if (value != name) Node("Identity", [value], output: name);
        graph.Output.Add(ValueInfo(name, dims));
    }

    static ValueInfoProto ValueInfo(string name, long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>A float constant (weights, statistics) from a TorchSharp tensor, copied to CPU.</summary>
    public string Initializer(string stem, Tensor value)
    {
        using var cpu = value.detach().cpu().to(ScalarType.Float32).contiguous();
        var data = cpu.data<float>().ToArray();
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        var proto = new TensorProto { Name = Fresh(stem), DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        proto.Dims.AddRange(cpu.shape);
        graph.Initializer.Add(proto);
        return proto.Name;
    }

    public string Floats(string stem, float[] values, params long[] dims)
    {
        using var t = tensor(values, dims.Length == 0 ? [values.Length] : dims);
        return Initializer(stem, t);
    }

    public string Int64s(string stem, params long[] values)
    {
        var proto = new TensorProto { Name = Fresh(stem), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>Adds a node; returns the name of its (first) output.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh(opType) };
        node.Input.AddRange(inputs);
        node.Output.Add(output ?? node.Name + "_out");
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        graph.Node.Add(node);
        return node.Output[0];
    }

    static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            default: throw new ArgumentException($"unsupported ONNX attribute type {value.GetType().Name} for '{name}'.");
        }
        return a;
    }

    /// <summary>The finished model, with metadata (class names, input size, value range, data, producer) as metadata_props.</summary>
    public ModelProto Build(string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Pdnn.MLNet",
            ProducerVersion = producerVersion,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }
}
