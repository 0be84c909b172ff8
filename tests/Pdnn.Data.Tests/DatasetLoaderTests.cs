using Pdnn.Data.Readers;
using Pdnn.Data.Tests.FormatWriters;
using Pdnn.Tests;

namespace Pdnn.Data.Tests;

[TestClass]
public sealed class DatasetLoaderTests
{
    string cacheDir = "";

    [TestInitialize]
    public void UseFreshCache()
    {
        cacheDir = TestPaths.NewTempDir();
        Environment.SetEnvironmentVariable("PDNN_CACHE_DIR", cacheDir);
    }

    [TestCleanup]
    public void Restore() => Environment.SetEnvironmentVariable("PDNN_CACHE_DIR", null);

    [TestMethod]
    public void SecondLoadComesFromTheCacheWithIdenticalContent()
    {
        var first = DatasetLoader.Open(TestPaths.Sample, Split.Test);
        var second = DatasetLoader.Open(TestPaths.Sample, Split.Test);

        Assert.IsFalse(first.FromCache);
        Assert.IsTrue(second.FromCache);
        Assert.AreEqual("image-folder", second.Format);
        CollectionAssert.AreEqual(first.Data.Pixels, second.Data.Pixels);
        CollectionAssert.AreEqual(first.Data.Labels, second.Data.Labels);
        CollectionAssert.AreEqual(first.Data.ClassNames.ToArray(), second.Data.ClassNames.ToArray());
        Assert.AreEqual(first.Data.Source, second.Data.Source);
    }

    [TestMethod]
    public void ChangedSourceFileIsDecodedAgain()
    {
        var root = CopySample();
        DatasetLoader.Open(root, Split.Test);
        var file = Directory.GetFiles(Path.Combine(root, "test", "cat"))[0];
        File.Copy(Directory.GetFiles(Path.Combine(root, "test", "dog"))[0], file, overwrite: true);
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(5));

        var again = DatasetLoader.Open(root, Split.Test);

        Assert.IsFalse(again.FromCache, "a changed file must invalidate the cache");
    }

    [TestMethod]
    public void DamagedCacheFileIsIgnoredAndRewritten()
    {
        var first = DatasetLoader.Open(TestPaths.Sample, Split.Test);
        File.WriteAllBytes(first.CacheFile!, File.ReadAllBytes(first.CacheFile!)[..1000]);

        var again = DatasetLoader.Open(TestPaths.Sample, Split.Test);

        Assert.IsFalse(again.FromCache);
        CollectionAssert.AreEqual(first.Data.Pixels, again.Data.Pixels);
        Assert.IsTrue(DatasetLoader.Open(TestPaths.Sample, Split.Test).FromCache);
    }

    [TestMethod]
    public void HoldOutSplitsIntoTwoDisjointPartsTheSameWayForTheSameSeed()
    {
        var images = ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "test")).Sample(100, seed: 3);
        var (train, heldOut) = images.HoldOut(30, seed: 7);
        var (_, again) = images.HoldOut(30, seed: 7);
        var (_, otherSeed) = images.HoldOut(30, seed: 8);

        Assert.AreEqual(70, train.Count);
        Assert.AreEqual(30, heldOut.Count);
        // Every image lands in exactly one part: the images (pixels and label) of both parts are the original's, as a multiset.
        static string Key(ImageDataset d, int i) => Convert.ToHexString(d.Image(i)) + d.Labels[i];
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 100).Select(i => Key(images, i)).ToList(),
            Enumerable.Range(0, 70).Select(i => Key(train, i)).Concat(Enumerable.Range(0, 30).Select(i => Key(heldOut, i))).ToList());
        CollectionAssert.AreEqual(heldOut.Pixels, again.Pixels);
        CollectionAssert.AreNotEqual(heldOut.Pixels, otherSeed.Pixels);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => images.HoldOut(100, 7)).Message, "--held-out 100 leaves no training images");
    }

    [TestMethod]
    public void RecognisesEachLayout()
    {
        var images = ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "test")).Sample(20, seed: 3);
        var cifar = TestPaths.NewTempDir();
        Cifar10BinaryWriter.Write(Path.Combine(cifar, "test_batch.bin"), images, 0, 20);
        var svhn = TestPaths.NewTempDir();
        MatWriter.WriteSvhn(Path.Combine(svhn, "test_32x32.mat"), images, images.Labels.Select(l => l + 1).ToArray(), compress: true);
        var idx = TestPaths.NewTempDir();
        IdxWriter.Write(Path.Combine(idx, "t10k-images-idx3-ubyte.gz"), [20, 32, 32], new byte[20 * 1024]);
        IdxWriter.Write(Path.Combine(idx, "t10k-labels-idx1-ubyte.gz"), [20], new byte[20]);

        Assert.AreEqual("cifar10-binary", DatasetLoader.Open(cifar, Split.Test).Format);
        Assert.AreEqual("svhn-mat", DatasetLoader.Open(svhn, Split.Test).Format);
        Assert.AreEqual("idx", DatasetLoader.Open(idx, Split.Test).Format);
        Assert.AreEqual(3, DatasetLoader.Open(idx, Split.Test).Data.Channels, "IDX grey images are returned as RGB");
        Assert.AreEqual("image-folder", DatasetLoader.Open(TestPaths.Sample, Split.Train).Format);
        CollectionAssert.AreEqual(images.Pixels, DatasetLoader.Load(cifar, Split.Test).Pixels);
    }

    [TestMethod]
    public void ImagenetteValFolderServesAsTheTestSplit()
    {
        var root = TestPaths.RequireShared("imagenette2-160");
        var listing = ImageFolderReader.List(Path.Combine(root, "val"));

        Assert.HasCount(10, listing);
        Assert.AreEqual("n01440764", listing[0].ClassName);
        Assert.AreEqual(3925, listing.Sum(c => c.Files.Count));
    }

    [TestMethod]
    public void MissingPathIsNamed()
    {
        var e = Assert.ThrowsExactly<DataFormatException>(() => DatasetLoader.Load("/no/such/data", Split.Train));
        StringAssert.Contains(e.Message, "/no/such/data");
    }

    static string CopySample()
    {
        var root = TestPaths.NewTempDir();
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Sample, "test"), "*.jpg", SearchOption.AllDirectories))
        {
            var target = Path.Combine(root, "test", Path.GetRelativePath(Path.Combine(TestPaths.Sample, "test"), f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return root;
    }
}
