using Pdnn.Data.Readers;
using Pdnn.Data.Tests.FormatWriters;
using Pdnn.Tests;

namespace Pdnn.Data.Tests;

[TestClass]
public sealed class SvhnMatReaderTests
{
    static ImageDataset RealImages(int n) => ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "test")).Sample(n, seed: 1);

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void RoundTripsRealImagesAndMapsLabelTenToZero(bool compressed)
    {
        var images = RealImages(40);
        var svhnLabels = Enumerable.Range(0, 40).Select(i => i % 10 + 1).ToArray(); // 1..10, 10 = digit 0
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        MatWriter.WriteSvhn(file, images, svhnLabels, compressed);

        var data = SvhnMatReader.Read(file);

        Assert.AreEqual(40, data.Count);
        CollectionAssert.AreEqual(images.Pixels, data.Pixels, "pixels must come back in channel-major row-major order");
        CollectionAssert.AreEqual(svhnLabels.Select(l => l % 10).ToArray(), data.Labels);
        Assert.AreEqual("0", data.ClassNames[data.Labels[9]]);
    }

    [TestMethod]
    public void LabelOutsideOneToTenIsRefused()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "train_32x32.mat");
        MatWriter.WriteSvhn(file, RealImages(3), [1, 11, 2], compress: true);

        var e = Assert.ThrowsExactly<DataFormatException>(() => SvhnMatReader.Read(file));
        StringAssert.Contains(e.Message, "unknown label 11 for image 1");
    }

    [TestMethod]
    public void Version73HdfFileGetsAClearError()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "train_32x32.mat");
        var header = System.Text.Encoding.ASCII.GetBytes("MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".PadRight(128));
        File.WriteAllBytes(file, header);

        var e = Assert.ThrowsExactly<DataFormatException>(() => SvhnMatReader.Read(file));
        StringAssert.Contains(e.Message, "v7.3");
    }

    [TestMethod]
    public void TruncatedFileIsRefused()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        MatWriter.WriteSvhn(file, RealImages(5), [1, 2, 3, 4, 5], compress: false);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length - 5000)]);

        var e = Assert.ThrowsExactly<DataFormatException>(() => SvhnMatReader.Read(file));
        Assert.AreEqual(file, e.Path);
        StringAssert.Contains(e.Message, "truncated");
    }

    [TestMethod]
    public void MissingLabelsVariableIsNamed()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        MatWriter.Write(file, false, ("X", [32, 32, 3, 1], 9, 2, new byte[3072]));

        var e = Assert.ThrowsExactly<DataFormatException>(() => SvhnMatReader.Read(file));
        StringAssert.Contains(e.Message, "no variable 'y'");
    }
}
