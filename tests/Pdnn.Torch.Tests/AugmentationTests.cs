using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class AugmentationTests
{
    [TestMethod]
    public void BatchedGatherEqualsPerImageCropAndFlip()
    {
        var data = TestData.Test.Subset(Enumerable.Range(0, 16).ToArray());
        using var images = new DeviceImages(data, CPU);
        var x = images.Range(0, 16).Images;

        var augmented = Augmentation.CropAndFlip(x, new Random(7)).data<float>().ToArray();

        // The reference replays the same draws and crops each image naively from a zero-padded copy.
        var random = new Random(7);
        var source = x.data<float>().ToArray();
        int flips = 0, shifts = 0;
        for (int b = 0; b < 16; b++)
        {
            int dy = random.Next(9), dx = random.Next(9);
            bool flip = random.Next(2) == 1;
            flips += flip ? 1 : 0;
            shifts += dx != 4 || dy != 4 ? 1 : 0;
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 32; i++)
                    for (int j = 0; j < 32; j++)
                    {
                        int srcRow = dy + i - 4, srcCol = dx + (flip ? 31 - j : j) - 4;
                        float expected = srcRow is >= 0 and < 32 && srcCol is >= 0 and < 32
                            ? source[((b * 3 + c) * 32 + srcRow) * 32 + srcCol] : 0f;
                        Assert.AreEqual(expected, augmented[((b * 3 + c) * 32 + i) * 32 + j], $"image {b} channel {c} pixel ({i},{j})");
                    }
        }
        Assert.IsTrue(flips is > 0 and < 16 && shifts > 0, "the draws exercised flips, non-flips and shifts");
    }
}
