using Pdnn.Data;
using static TorchSharp.torch;

namespace Pdnn.Torch.Models.Recreation;

/// <summary>
/// The recreations R of the paper as differentiable TorchSharp functions of a batch (N x 3 x H x W in [0,1]): the same
/// arithmetic as the ML.NET stages (SuperResolve, MaskedInpaintAggregate), for evaluation and, later, white-box attacks.
/// </summary>
public static class Recreations
{
    /// <summary>NSR without its noise: the generator, then a bilinear resize back to the input size (half-pixel, no antialiasing).</summary>
    public static Tensor SuperResolve(SrGenerator generator, Tensor x) => SuperResolve(generator.forward, x);

    /// <summary>The same with any generator G (N x 3 x H x W → N x 3 x 4H x 4W), e.g. a bfloat16 copy of it.</summary>
    public static Tensor SuperResolve(Func<Tensor, Tensor> generator, Tensor x) =>
        nn.functional.interpolate(generator(x), [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>The masks as an K x 1 x H x W tensor, 1 where mask k hides the pixel.</summary>
    public static Tensor MaskTensor(MaskSet masks, Device device)
    {
        int plane = masks.Height * masks.Width;
        var values = new float[masks.Count * plane];
        for (int k = 0; k < masks.Count; k++)
            for (int p = 0; p < plane; p++) values[k * plane + p] = masks.Covers(k, p) ? 1f : 0f;
        return tensor(values, [masks.Count, 1, masks.Height, masks.Width]).to(device);
    }

    /// <summary>FIR: Σ_k M_k ⊙ F([x ⊙ (1 − M_k), M_k]) for the K masks, all K x N inputs in one forward pass.</summary>
    public static Tensor InpaintAggregate(Inpainter inpainter, Tensor x, Tensor masks) => InpaintAggregate(inpainter.forward, x, masks);

    /// <summary>The same with any inpainter F taking [x ⊙ (1 − M), M] (N x (C+1) x H x W), e.g. an ONNX graph run by TorchSharp.</summary>
    public static Tensor InpaintAggregate(Func<Tensor, Tensor> inpainter, Tensor x, Tensor masks)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], k = masks.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var m = masks.unsqueeze(0).expand(n, k, 1, h, w);                          // N x K x 1 x H x W
        var hidden = x.unsqueeze(1) * GcSafe.OneMinus(m);                          // N x K x C x H x W
        var filled = inpainter(cat([hidden, m], 2).reshape(n * k, c + 1, h, w)).reshape(n, k, c, h, w);
        return (filled * m).sum(1).MoveToOuterDisposeScope();
    }
}
