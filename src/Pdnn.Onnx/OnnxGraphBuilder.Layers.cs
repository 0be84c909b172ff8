using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pdnn.Onnx;

/// <summary>The translation of standard TorchSharp layers into ONNX operators, with eval-mode semantics.</summary>
public sealed partial class OnnxGraphBuilder
{
    /// <summary>Exports any supported module: one that exports itself, or a standard layer. Unknown types are named in the error.</summary>
    public string Module(nn.Module module, string x) => module switch
    {
        IOnnxExportable custom => custom.ExportOnnx(this, x),
        Sequential seq => seq.children().Aggregate(x, (value, child) => Module(child, value)),
        Identity => x,
        ConvTranspose2d t => ConvTranspose(t, x),
        Conv2d c => Conv(c, x),
        BatchNorm bn => BatchNorm(bn, x), // TorchSharp's BatchNorm1d/2d/3d and GcSafe.BatchNorm2d
        Linear l => Node("Gemm", l.bias is null ? [x, Initializer("fc_w", l.weight!)] : [x, Initializer("fc_w", l.weight!), Initializer("fc_b", l.bias)], attributes: ("transB", 1L)),
        ReLU => Node("Relu", [x]),
        LeakyReLU lr => Node("LeakyRelu", [x], attributes: ("alpha", lr.negative_slope)),
        PReLU p => Node("PRelu", [x, Initializer("prelu_slope", p.num_parameters == 1 ? p.weight! : p.weight!.reshape(-1, 1, 1))]),
        Sigmoid => Node("Sigmoid", [x]),
        Tanh => Node("Tanh", [x]),
        MaxPool2d mp => Node("MaxPool", [x], attributes: [("kernel_shape", mp.kernel_size), ("strides", mp.stride ?? mp.kernel_size),
            ("pads", Pads(mp.padding ?? [0, 0])), ("dilations", mp.dilation ?? [1, 1]), ("ceil_mode", mp.ceil_mode ? 1L : 0L)]),
        AvgPool2d ap => AvgPool(ap, x),
        AdaptiveAvgPool2d aap when aap.output_size.All(s => s == 1) => Node("GlobalAveragePool", [x]),
        Flatten f when f.start_dim == 1 && f.end_dim == -1 => Node("Flatten", [x], attributes: ("axis", 1L)),
        PixelShuffle ps => Node("DepthToSpace", [x], attributes: [("blocksize", ps.upscale_factor), ("mode", "CRD")]),
        Upsample up => Upsample(up, x),
        _ => throw new NotSupportedException($"ONNX export of {module.GetType().Name} ('{module.GetName()}') is not supported; supported: Conv2d, ConvTranspose2d, BatchNorm2d, Linear, ReLU, LeakyReLU, PReLU, Sigmoid, Tanh, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten(1), PixelShuffle, Upsample, Sequential, Identity, and modules implementing IOnnxExportable."),
    };

    /// <summary>ONNX pads are [top, left, bottom, right]; PyTorch gives symmetric [h, w].</summary>
    static long[] Pads(long[] padding) => padding.Length == 1
        ? [padding[0], padding[0], padding[0], padding[0]]
        : [padding[0], padding[1], padding[0], padding[1]];

    string Conv(Conv2d c, string x)
    {
        RequireZeroPadding(c.padding_mode, c.padding_type, "Conv2d");
        var inputs = new List<string> { x, Initializer("conv_w", c.weight!) };
        if (c.bias is not null) inputs.Add(Initializer("conv_b", c.bias));
        return Node("Conv", [.. inputs], attributes: [("kernel_shape", c.kernel_size), ("strides", c.stride), ("pads", Pads(c.padding ?? [0, 0])),
            ("dilations", c.dilation), ("group", c.groups)]);
    }

    string ConvTranspose(ConvTranspose2d c, string x)
    {
        RequireZeroPadding(c.padding_mode, c.padding_type, "ConvTranspose2d");
        var inputs = new List<string> { x, Initializer("convt_w", c.weight!) };
        if (c.bias is not null) inputs.Add(Initializer("convt_b", c.bias));
        return Node("ConvTranspose", [.. inputs], attributes: [("kernel_shape", c.kernel_size), ("strides", c.stride), ("pads", Pads(c.padding ?? [0, 0])),
            ("dilations", c.dilation), ("group", c.groups), ("output_padding", c.output_padding ?? [0, 0])]);
    }

    static void RequireZeroPadding(PaddingModes mode, Padding? type, string layer)
    {
        if (mode != PaddingModes.Zeros) throw new NotSupportedException($"ONNX export of {layer} with padding mode {mode} is not supported (only zeros).");
        if (type != null) throw new NotSupportedException($"ONNX export of {layer} with padding '{type}' is not supported; give explicit padding.");
    }

    string BatchNorm(BatchNorm bn, string x)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw new NotSupportedException($"ONNX export of {bn.GetType().Name} ('{bn.GetName()}') without running statistics is not supported.");
        long c = bn.num_features;
        var scale = bn.weight is not null ? Initializer("bn_scale", bn.weight) : Floats("bn_scale", Enumerable.Repeat(1f, (int)c).ToArray());
        var bias = bn.bias is not null ? Initializer("bn_bias", bn.bias) : Floats("bn_bias", new float[c]);
        return Node("BatchNormalization", [x, scale, bias, Initializer("bn_mean", bn.running_mean), Initializer("bn_var", bn.running_var)],
                    attributes: ("epsilon", bn.eps));
    }

    string AvgPool(AvgPool2d ap, string x)
    {
        if (ap.divisor_override != null) throw new NotSupportedException("ONNX export of AvgPool2d with divisor_override is not supported.");
        return Node("AveragePool", [x], attributes: [("kernel_shape", ap.kernel_size), ("strides", ap.stride ?? ap.kernel_size),
            ("pads", Pads(ap.padding ?? [0, 0])), ("ceil_mode", ap.ceil_mode ? 1L : 0L), ("count_include_pad", ap.count_include_pad ? 1L : 0L)]);
    }

    string Upsample(Upsample up, string x)
    {
        bool bilinear = up.mode switch
        {
            UpsampleMode.Bilinear => true,
            UpsampleMode.Nearest => false,
            _ => throw new NotSupportedException($"ONNX export of Upsample mode {up.mode} is not supported (nearest, bilinear)."),
        };
        var size = up.size.ToArray();
        var scale = up.scale_factor.ToArray();
        if (size.Length == 2) return ResizeTo(x, size[0], size[1], bilinear, up.align_corners ?? false);
        if (scale.Length is 1 or 2) return ResizeBy(x, scale[0], scale[^1], bilinear, up.align_corners ?? false);
        throw new NotSupportedException("ONNX export of Upsample needs a 2-D size or a scale factor.");
    }

    /// <summary>
    /// Resize matching TorchSharp's interpolate: bilinear with align_corners → "align_corners", without → "pytorch_half_pixel";
    /// nearest → "asymmetric" coordinates with floor rounding. No antialiasing (TorchSharp's default).
    /// </summary>
    public string ResizeTo(string x, long height, long width, bool bilinear, bool alignCorners = false) =>
        Node("Resize", [x, "", "", Int64s("resize_sizes", height, width)], attributes: ResizeAttributes(bilinear, alignCorners));

    public string ResizeBy(string x, double scaleH, double scaleW, bool bilinear, bool alignCorners = false) =>
        Node("Resize", [x, "", Floats("resize_scales", [1f, 1f, (float)scaleH, (float)scaleW])],
             attributes: ResizeAttributes(bilinear, alignCorners).Where(a => a.Name != "axes").ToArray());

    static (string Name, object Value)[] ResizeAttributes(bool bilinear, bool alignCorners) => bilinear
        ? [("mode", "linear"), ("coordinate_transformation_mode", alignCorners ? "align_corners" : "pytorch_half_pixel"), ("axes", new long[] { 2, 3 })]
        : [("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"), ("axes", new long[] { 2, 3 })];

    public string Add(string a, string b) => Node("Add", [a, b]);
    public string Concat(long axis, params string[] values) => Node("Concat", values, attributes: ("axis", axis));

    /// <summary>(x - mean) / std per channel, as [1, C, 1, 1] constants.</summary>
    public string Normalize(string x, Tensor mean, Tensor std) =>
        Node("Div", [Node("Sub", [x, Initializer("norm_mean", mean.reshape(1, -1, 1, 1))]), Initializer("norm_std", std.reshape(1, -1, 1, 1))]);
}
