using Pdnn.Torch.Evaluation;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class ImageQualityTests
{
    [TestMethod]
    public void PsnrFollowsFromTheMeanSquaredError()
    {
        var x = full([2, 3, 8, 8], 0.5f);
        var y = x + 0.1f; // MSE 0.01 → 20 dB
        CollectionAssert.AreEqual(new[] { 20f, 20f }, Psnr(x, y).Select(v => MathF.Round(v, 3)).ToArray());
    }

    static float[] Psnr(Tensor a, Tensor b) => ImageQuality.Psnr(a, b).data<float>().ToArray();

    [TestMethod]
    public void SsimIsOneForIdenticalImagesAndFallsWithNoiseOnRealImages()
    {
        using var images = new DeviceImages(TestData.Test.Sample(8, 0), CPU);
        var x = images.Range(0, 8).Images;
        manual_seed(0);
        var slightly = (x + randn_like(x) * 0.02).clamp(0, 1);
        var badly = (x + randn_like(x) * 0.2).clamp(0, 1);

        var same = ImageQuality.Ssim(x, x).data<float>();
        var a = ImageQuality.Ssim(x, slightly).mean().item<float>();
        var b = ImageQuality.Ssim(x, badly).mean().item<float>();
        Assert.IsTrue(same.All(v => Math.Abs(v - 1) < 1e-4));
        Assert.IsTrue(a is < 1 and > 0.8f, $"SSIM with σ 0.02 noise {a}");
        Assert.IsLessThan(a - 0.3, b, $"SSIM with σ 0.2 noise {b} vs {a}");
        Assert.AreEqual(a, ImageQuality.Ssim(slightly, x).mean().item<float>(), 1e-5, "SSIM is symmetric");
    }
}
