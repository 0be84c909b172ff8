using Pdnn.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Models;

/// <summary>
/// (x - mean) / std per channel, as the model's first layer: the model takes RGB in [0,1], so attacks and
/// pre-processing defences work in pixel space and never see normalised values. Mean and std are buffers, saved with the weights.
/// </summary>
public sealed class PixelNormalize : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Tensor mean, std;

    public PixelNormalize(float[] mean, float[] std) : base(nameof(PixelNormalize))
    {
        this.mean = tensor(mean).reshape(1, mean.Length, 1, 1);
        this.std = tensor(std).reshape(1, std.Length, 1, 1);
        register_buffer("mean", this.mean);
        register_buffer("std", this.std);
    }

    public override Tensor forward(Tensor x) => (x - mean) / std;

    /// <summary>The per-channel mean and standard deviation this layer uses (after loading: the saved ones).</summary>
    public (float[] Mean, float[] Std) Statistics => (mean.cpu().data<float>().ToArray(), std.cpu().data<float>().ToArray());

    public string ExportOnnx(OnnxGraphBuilder graph, string x) => graph.Normalize(x, mean, std);
}
