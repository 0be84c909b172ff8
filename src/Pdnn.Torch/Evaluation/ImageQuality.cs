using static TorchSharp.torch;

namespace Pdnn.Torch.Evaluation;

/// <summary>Recreation quality against the clean image, per image, for [0,1] images: PSNR and SSIM.</summary>
public static class ImageQuality
{
    /// <summary>PSNR in dB, per image (N), with peak 1.</summary>
    public static Tensor Psnr(Tensor reference, Tensor image)
    {
        using var scope = NewDisposeScope();
        var mse = (reference - image).pow(2).flatten(1).mean([1]).clamp_min(1e-10);
        return (-10 * mse.log10()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// SSIM (Wang et al. 2004) per image (N): 11x11 Gaussian window with σ 1.5, K1 0.01, K2 0.03, dynamic range 1, computed
    /// per channel over the valid window positions and averaged.
    /// </summary>
    public static Tensor Ssim(Tensor reference, Tensor image)
    {
        using var scope = NewDisposeScope();
        long c = reference.shape[1];
        var g = exp(-(arange(11, dtype: ScalarType.Float32) - 5).pow(2) / (2 * 1.5 * 1.5));
        g /= g.sum();
        var window = g.outer(g).expand(c, 1, 11, 11).contiguous().to(reference.device);
        Tensor Blur(Tensor t) => nn.functional.conv2d(t, window, groups: c);
        var mx = Blur(reference); var my = Blur(image);
        var sxx = Blur(reference * reference) - mx * mx;
        var syy = Blur(image * image) - my * my;
        var sxy = Blur(reference * image) - mx * my;
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        var map = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
        return map.flatten(1).mean([1]).MoveToOuterDisposeScope();
    }
}
