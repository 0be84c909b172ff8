using Microsoft.ML;
using Pdnn.Data;
using Pdnn.Data.Readers;

namespace Pdnn.MLNet.Tests;

[TestClass]
public sealed class ImageAnalyticsInteropTests
{
    [TestMethod]
    public void ExtractPixelsGivesTheChannelMajorRgbLayoutTheModelsExpect()
    {
        var ml = new MLContext(seed: 0);
        var images = RealImages.Images(RealImages.Load(ml));
        var ours = RealImages.Files.Select(f =>
        {
            var bytes = new byte[3072];
            ImageDecoder.DecodeRgb(f, bytes, 32, 32, resize: false);
            return bytes;
        }).ToArray();

        for (int i = 0; i < images.Length; i++)
        {
            Assert.HasCount(3072, images[i]);
            for (int j = 0; j < 3072; j++)
                Assert.AreEqual(ours[i][j] / 255f, images[i][j], 1.01f / 255f, $"image {i} value {j}: ImageAnalytics and Pdnn.Data disagree");
        }
    }
}
