using Pdnn.Data.Readers;
using Pdnn.Data.Tests.FormatWriters;
using Pdnn.Tests;

namespace Pdnn.Data.Tests;

[TestClass]
public sealed class Cifar10BinaryReaderTests
{
    static ImageDataset SampleTest() => ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "test"));

    [TestMethod]
    public void RoundTripsRealImagesThroughTheBinaryLayout()
    {
        var images = SampleTest();
        var dir = TestPaths.NewTempDir();
        // 500 real images spread over the five training batches and the test batch, as the release does.
        for (int b = 0; b < 5; b++) Cifar10BinaryWriter.Write(Path.Combine(dir, $"data_batch_{b + 1}.bin"), images, b * 100, 100);
        Cifar10BinaryWriter.Write(Path.Combine(dir, "test_batch.bin"), images, 0, 500);

        var train = Cifar10BinaryReader.Read(dir, Split.Train);
        var test = Cifar10BinaryReader.Read(dir, Split.Test);

        Assert.AreEqual(500, train.Count);
        CollectionAssert.AreEqual(images.Pixels, train.Pixels);
        CollectionAssert.AreEqual(images.Labels, train.Labels);
        CollectionAssert.AreEqual(images.Pixels, test.Pixels);
        CollectionAssert.AreEqual(Cifar10.ClassNames.ToArray(), train.ClassNames.ToArray());
        Assert.AreEqual(3, train.Channels);
        Assert.AreEqual(32, train.Height);
    }

    [TestMethod]
    public void TruncatedRecordNamesTheFile()
    {
        var dir = TestPaths.NewTempDir();
        var file = Path.Combine(dir, "test_batch.bin");
        Cifar10BinaryWriter.Write(file, SampleTest(), 0, 3);
        using (var s = File.OpenWrite(file)) s.SetLength(3 * Cifar10BinaryReader.RecordSize - 10);

        var e = Assert.ThrowsExactly<DataFormatException>(() => Cifar10BinaryReader.Read(dir, Split.Test));
        StringAssert.Contains(e.Message, file);
        StringAssert.Contains(e.Message, "truncated record");
        StringAssert.Contains(e.Message, "record 2");
    }

    [TestMethod]
    public void UnknownLabelIsRefused()
    {
        var dir = TestPaths.NewTempDir();
        var file = Path.Combine(dir, "test_batch.bin");
        Cifar10BinaryWriter.Write(file, SampleTest(), 0, 4);
        var bytes = File.ReadAllBytes(file);
        bytes[2 * Cifar10BinaryReader.RecordSize] = 12; // label byte of record 2
        File.WriteAllBytes(file, bytes);

        var e = Assert.ThrowsExactly<DataFormatException>(() => Cifar10BinaryReader.Read(dir, Split.Test));
        StringAssert.Contains(e.Message, "unknown label 12 in record 2");
    }

    [TestMethod]
    public void MissingBatchFilesAreListed()
    {
        var dir = TestPaths.NewTempDir();
        Cifar10BinaryWriter.Write(Path.Combine(dir, "data_batch_1.bin"), SampleTest(), 0, 2);

        var e = Assert.ThrowsExactly<DataFormatException>(() => Cifar10BinaryReader.Read(dir, Split.Train));
        StringAssert.Contains(e.Message, "data_batch_2.bin");
        StringAssert.Contains(e.Message, "data_batch_5.bin");
    }
}
