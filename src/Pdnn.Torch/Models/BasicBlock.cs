using Pdnn.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pdnn.Torch.Models;

/// <summary>He et al.'s basic residual block: conv3x3-BN-ReLU-conv3x3-BN, plus a shortcut (1x1 conv + BN when the shape changes), then ReLU.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Conv2d conv1, conv2;
    readonly GcSafe.BatchNorm2d bn1, bn2;
    readonly Module<Tensor, Tensor> shortcut;
    readonly long inChannels, stride;

    public BasicBlock(long inChannels, long outChannels, long stride) : base(nameof(BasicBlock))
    {
        conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = new GcSafe.BatchNorm2d(outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false);
        bn2 = new GcSafe.BatchNorm2d(outChannels);
        (this.inChannels, this.stride) = (inChannels, stride);
        shortcut = stride != 1 || inChannels != outChannels
            ? Sequential(Conv2d(inChannels, outChannels, 1, stride: stride, bias: false), new GcSafe.BatchNorm2d(outChannels))
            : Identity();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = functional.relu(bn1.forward(conv1.forward(x)));
        y = bn2.forward(conv2.forward(y));
        return functional.relu(y.add(shortcut.forward(ChannelsLast.ForConvolution(x, 1, stride, inChannels)), GcSafe.One)).MoveToOuterDisposeScope(); // y + shortcut (GcSafe)
    }

    public string ExportOnnx(OnnxGraphBuilder g, string x)
    {
        var y = g.Module(bn2, g.Module(conv2, g.Module(ReLU(), g.Module(bn1, g.Module(conv1, x)))));
        return g.Module(ReLU(), g.Add(y, g.Module(shortcut, x)));
    }
}
