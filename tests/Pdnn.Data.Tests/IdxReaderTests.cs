using Pdnn.Data.Readers;
using Pdnn.Data.Tests.FormatWriters;
using Pdnn.Tests;

namespace Pdnn.Data.Tests;

[TestClass]
public sealed class IdxReaderTests
{
    [TestMethod]
    [DataRow("")]
    [DataRow(".gz")]
    public void RoundTripsImagesAndLabels(string suffix)
    {
        var dir = TestPaths.NewTempDir();
        // Real pixels: the red planes of 30 sample images as 32x32 grey images.
        var real = ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "test")).Sample(30, seed: 2);
        var grey = Enumerable.Range(0, 30).SelectMany(i => real.Image(i)[..1024].ToArray()).ToArray();
        var labels = real.Labels.Select(l => (byte)l).ToArray();
        IdxWriter.Write(Path.Combine(dir, "t10k-images-idx3-ubyte" + suffix), [30, 32, 32], grey);
        IdxWriter.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte" + suffix), [30], labels);

        var found = IdxReader.Find(dir, Split.Test)!.Value;
        var data = IdxReader.Read(found.Images, found.Labels);

        Assert.AreEqual((1, 32, 32), (data.Channels, data.Height, data.Width));
        CollectionAssert.AreEqual(grey, data.Pixels);
        CollectionAssert.AreEqual(real.Labels, data.Labels);
        var rgb = data.ToRgb();
        CollectionAssert.AreEqual(grey[..1024], rgb.Image(0)[1024..2048].ToArray(), "grey is replicated into G");
    }

    [TestMethod]
    public void TruncatedDataIsRefused()
    {
        var dir = TestPaths.NewTempDir();
        var images = Path.Combine(dir, "train-images-idx3-ubyte");
        IdxWriter.Write(images, [3, 28, 28], new byte[2 * 784 + 100]);
        IdxWriter.Write(Path.Combine(dir, "train-labels-idx1-ubyte"), [3], [0, 1, 2]);

        var e = Assert.ThrowsExactly<DataFormatException>(() => IdxReader.Read(images, Path.Combine(dir, "train-labels-idx1-ubyte")));
        Assert.AreEqual(images, e.Path);
        StringAssert.Contains(e.Message, "needs 2352 bytes, the file has 1668");
    }

    [TestMethod]
    public void LabelCountMustMatchImageCount()
    {
        var dir = TestPaths.NewTempDir();
        var images = Path.Combine(dir, "train-images-idx3-ubyte");
        var labels = Path.Combine(dir, "train-labels-idx1-ubyte");
        IdxWriter.Write(images, [3, 2, 2], new byte[12]);
        IdxWriter.Write(labels, [2], [0, 1]);

        var e = Assert.ThrowsExactly<DataFormatException>(() => IdxReader.Read(images, labels));
        StringAssert.Contains(e.Message, "2 labels for 3 images");
    }

    [TestMethod]
    public void ReadsRealFashionMnist()
    {
        const string dir = "/usr/share/datasets/fashion-mnist";
        if (IdxReader.Find(dir, Split.Train) == null)
            Assert.Inconclusive($"Fashion-MNIST not installed ({dir}; apt-get install dataset-fashion-mnist).");

        var train = DatasetLoader.Load(dir, Split.Train, new DatasetLoader.Options { UseCache = false });
        var test = DatasetLoader.Load(dir, Split.Test, new DatasetLoader.Options { UseCache = false });

        Assert.AreEqual(60000, train.Count);
        Assert.AreEqual(10000, test.Count);
        Assert.AreEqual((3, 28, 28), (train.Channels, train.Height, train.Width));
        CollectionAssert.AreEqual(Enumerable.Repeat(6000, 10).ToArray(), train.CountPerClass());
        Assert.AreEqual("Ankle boot", train.ClassNames[9]);
    }
}
