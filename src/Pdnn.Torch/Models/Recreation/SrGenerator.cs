using Pdnn.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pdnn.Torch.Models.Recreation;

/// <summary>The size of an SRGAN generator: residual blocks, channels, and the upscale factor (a power of 2).</summary>
public sealed record SrGeneratorSpec(string Name, int ResidualBlocks, int Channels, int Upscale)
{
    /// <summary>Ledig et al. 2017's generator: 16 residual blocks of 64 channels; x4 (32 → 128), as in the paper.</summary>
    public static SrGeneratorSpec Paper => new("paper", 16, 64, 4);
    /// <summary>A small generator for CPU deployment and tests: 2 blocks of 16 channels, x4.</summary>
    public static SrGeneratorSpec Lite => new("lite", 2, 16, 4);
}

/// <summary>
/// SRGAN's generator (Ledig et al. 2017): conv9x9 + PReLU → residual blocks (conv-BN-PReLU-conv-BN + skip) → conv-BN +
/// long skip → x2 upsampling blocks (conv → PixelShuffle → PReLU) → conv9x9 → sigmoid, so outputs stay in [0,1].
/// Input N x 3 x H x W in [0,1]; output N x 3 x (H·Upscale) x (W·Upscale).
/// </summary>
public sealed class SrGenerator : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Sequential head, body, bodyEnd, upsample, tail;

    public SrGenerator(SrGeneratorSpec spec) : base("SrGenerator")
    {
        if (spec.Upscale < 2 || (spec.Upscale & (spec.Upscale - 1)) != 0)
            throw new ArgumentException($"upscale must be a power of 2, got {spec.Upscale}.");
        int c = spec.Channels;
        head = Sequential(Conv2d(3, c, 9, padding: 4), PReLU(c));
        body = Sequential();
        for (int b = 0; b < spec.ResidualBlocks; b++) body.append($"res{b + 1}", new SrResidualBlock(c));
        bodyEnd = Sequential(Conv2d(c, c, 3, padding: 1, bias: false), new GcSafe.BatchNorm2d(c));
        upsample = Sequential();
        for (int u = 1; u < spec.Upscale; u *= 2)
            upsample.append($"up{u * 2}", Sequential(Conv2d(c, 4 * c, 3, padding: 1), PixelShuffle(2), PReLU(c)));
        tail = Sequential(Conv2d(c, 3, 9, padding: 4), Sigmoid());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var features = head.forward(ChannelsLast.Of(x));
        var deep = bodyEnd.forward(body.forward(features)).add(features, GcSafe.One); // + features (GcSafe)
        return ChannelsLast.Restore(tail.forward(upsample.forward(deep))).MoveToOuterDisposeScope();
    }

    public string ExportOnnx(OnnxGraphBuilder g, string x)
    {
        var features = g.Module(head, x);
        var deep = g.Add(g.Module(bodyEnd, g.Module(body, features)), features);
        return g.Module(tail, g.Module(upsample, deep));
    }
}

/// <summary>conv3x3-BN-PReLU-conv3x3-BN plus the identity.</summary>
public sealed class SrResidualBlock : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Sequential residual;

    public SrResidualBlock(int channels) : base("SrResidualBlock")
    {
        residual = Sequential(Conv2d(channels, channels, 3, padding: 1, bias: false), new GcSafe.BatchNorm2d(channels), PReLU(channels),
                              Conv2d(channels, channels, 3, padding: 1, bias: false), new GcSafe.BatchNorm2d(channels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => residual.forward(x).add(x, GcSafe.One); // + x (GcSafe)

    public string ExportOnnx(OnnxGraphBuilder g, string x) => g.Add(g.Module(residual, x), x);
}
