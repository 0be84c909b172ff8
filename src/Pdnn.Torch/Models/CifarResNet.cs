using Pdnn.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pdnn.Torch.Models;

/// <summary>
/// A CIFAR-style ResNet: normalise → 3x3 conv stem (no max-pool, the images are 32x32) → stages of basic blocks,
/// each after the first halving the resolution → global average pool → linear. Input: RGB in [0,1], N x 3 x H x W.
/// </summary>
public sealed class CifarResNet : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly PixelNormalize normalize;
    readonly Sequential stem, stages;
    readonly AdaptiveAvgPool2d pool;
    readonly Linear fc;

    public CifarResNet(ResNetSpec spec, int numClasses) : base(spec.Name)
    {
        normalize = new PixelNormalize(spec.Mean, spec.Std);
        stem = Sequential(Conv2d(3, spec.Widths[0], 3, padding: 1, bias: false), new GcSafe.BatchNorm2d(spec.Widths[0]), ReLU());
        stages = Sequential();
        long inChannels = spec.Widths[0];
        for (int s = 0; s < spec.Widths.Length; s++)
            for (int b = 0; b < spec.BlocksPerStage[s]; b++)
            {
                long stride = s > 0 && b == 0 ? 2 : 1;
                stages.append($"stage{s + 1}_block{b + 1}", new BasicBlock(inChannels, spec.Widths[s], stride));
                inChannels = spec.Widths[s];
            }
        pool = AdaptiveAvgPool2d(1);
        fc = Linear(inChannels, numClasses);
        RegisterComponents();
    }

    /// <summary>The normalisation statistics of the first layer (the training set's, or those loaded with the weights).</summary>
    public (float[] Mean, float[] Std) Normalization => normalize.Statistics;

    /// <summary>Class logits, N x classes.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var features = stages.forward(stem.forward(ChannelsLast.Of(normalize.forward(x))));
        return fc.forward(pool.forward(features).flatten(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Early features: the stem and the first <paramref name="blocks"/> residual blocks (N x C x H x W). A perceptual
    /// (feature) loss for recreation models uses them where the paper used ImageNet VGG-19 features.
    /// </summary>
    public Tensor Features(Tensor x, int blocks)
    {
        using var scope = NewDisposeScope();
        var features = stem.forward(ChannelsLast.Of(normalize.forward(x)));
        foreach (var block in stages.children().Take(blocks)) features = ((Module<Tensor, Tensor>)block).forward(features);
        return ChannelsLast.Restore(features).MoveToOuterDisposeScope();
    }

    public string ExportOnnx(OnnxGraphBuilder g, string x) =>
        g.Module(fc, g.Module(Flatten(), g.Module(pool, g.Module(stages, g.Module(stem, g.Module(normalize, x))))));
}
