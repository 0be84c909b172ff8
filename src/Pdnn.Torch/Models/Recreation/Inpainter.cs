using Pdnn.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pdnn.Torch.Models.Recreation;

/// <summary>The width of the inpainting autoencoder (channels of its first level; each level down doubles them).</summary>
public sealed record InpainterSpec(string Name, int Channels)
{
    public static InpainterSpec Paper => new("paper", 64);
    public static InpainterSpec Lite => new("lite", 16);
}

/// <summary>
/// FIR's F: a small UNet. Input: the masked image x⊙(1−M) with the mask M as a 4th channel (so it knows which pixels to
/// fill); output: the full image, sigmoid, in [0,1]. Two levels down (stride-2 convs) and two up (transposed convs),
/// with skip connections by concatenation. H and W must be divisible by 4.
/// </summary>
public sealed class Inpainter : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Sequential enc1, enc2, bottleneck, up2, dec2, up1, dec1;

    public Inpainter(InpainterSpec spec) : base("Inpainter")
    {
        int c = spec.Channels;
        enc1 = Sequential(Conv2d(4, c, 3, padding: 1), ReLU(), Conv2d(c, c, 3, padding: 1), ReLU());
        enc2 = Sequential(Conv2d(c, 2 * c, 3, stride: 2, padding: 1), new GcSafe.BatchNorm2d(2 * c), ReLU());
        bottleneck = Sequential(Conv2d(2 * c, 4 * c, 3, stride: 2, padding: 1), new GcSafe.BatchNorm2d(4 * c), ReLU(),
                                Conv2d(4 * c, 4 * c, 3, padding: 1), new GcSafe.BatchNorm2d(4 * c), ReLU());
        up2 = Sequential(ConvTranspose2d(4 * c, 2 * c, 4, stride: 2, padding: 1), ReLU());
        dec2 = Sequential(Conv2d(4 * c, 2 * c, 3, padding: 1), new GcSafe.BatchNorm2d(2 * c), ReLU());
        up1 = Sequential(ConvTranspose2d(2 * c, c, 4, stride: 2, padding: 1), ReLU());
        dec1 = Sequential(Conv2d(2 * c, c, 3, padding: 1), ReLU(), Conv2d(c, 3, 3, padding: 1), Sigmoid());
        RegisterComponents();
    }

    /// <summary>x: N x 4 x H x W (masked RGB, then the mask, 1 where pixels are to be filled).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var e1 = enc1.forward(ChannelsLast.Of(x));
        var e2 = enc2.forward(e1);
        var d2 = dec2.forward(ChannelsLast.Of(cat([up2.forward(bottleneck.forward(e2)), e2], 1)));
        return ChannelsLast.Restore(dec1.forward(ChannelsLast.Of(cat([up1.forward(d2), e1], 1)))).MoveToOuterDisposeScope();
    }

    public string ExportOnnx(OnnxGraphBuilder g, string x)
    {
        var e1 = g.Module(enc1, x);
        var e2 = g.Module(enc2, e1);
        var d2 = g.Module(dec2, g.Concat(1, g.Module(up2, g.Module(bottleneck, e2)), e2));
        return g.Module(dec1, g.Concat(1, g.Module(up1, d2), e1));
    }
}
