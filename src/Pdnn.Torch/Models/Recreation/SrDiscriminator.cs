using Pdnn.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pdnn.Torch.Models.Recreation;

/// <summary>
/// SRGAN's discriminator (Ledig et al. 2017): conv3x3 + LeakyReLU(0.2), then seven conv-BN-LeakyReLU blocks alternating
/// stride 2 and doubling channels (c, c, 2c, 2c, 4c, 4c, 8c, 8c), then a "dense" head as 1x1 convolutions over a global
/// average pool (16c → LeakyReLU → 1), so it accepts any image size. Output: one logit per image (real vs generated).
/// </summary>
public sealed class SrDiscriminator : Module<Tensor, Tensor>
{
    readonly Sequential features, head;

    public SrDiscriminator(int channels) : base("SrDiscriminator")
    {
        int c = channels;
        features = Sequential(Conv2d(3, c, 3, padding: 1), new GcSafe.LeakyReLU(0.2));
        var widths = new[] { c, 2 * c, 2 * c, 4 * c, 4 * c, 8 * c, 8 * c };
        int inChannels = c;
        for (int i = 0; i < widths.Length; i++)
        {
            int stride = i % 2 == 0 ? 2 : 1;
            features.append($"block{i + 1}", Sequential(Conv2d(inChannels, widths[i], 3, stride: stride, padding: 1, bias: false), new GcSafe.BatchNorm2d(widths[i]), new GcSafe.LeakyReLU(0.2)));
            inChannels = widths[i];
        }
        head = Sequential(AdaptiveAvgPool2d(1), Conv2d(inChannels, 2 * inChannels, 1), new GcSafe.LeakyReLU(0.2), Conv2d(2 * inChannels, 1, 1));
        RegisterComponents();
    }

    /// <summary>Real-vs-generated logits, N.</summary>
    public override Tensor forward(Tensor x) => head.forward(features.forward(ChannelsLast.Of(x))).flatten();
}

/// <summary>The generator and its discriminator trained together: one module, so one checkpoint holds both.</summary>
public sealed class SrGan : Module<Tensor, Tensor>
{
    readonly SrGenerator generator;
    readonly SrDiscriminator discriminator;

    public SrGan(SrGeneratorSpec spec) : base("SrGan")
    {
        generator = new SrGenerator(spec);
        discriminator = new SrDiscriminator(spec.Channels);
        RegisterComponents();
    }

    public SrGenerator Generator => generator;
    public SrDiscriminator Discriminator => discriminator;

    public override Tensor forward(Tensor x) => generator.forward(x);
}
