using Pdnn.Data.Readers;
using Pdnn.Tests;
using SkiaSharp;

namespace Pdnn.Data.Tests;

[TestClass]
public sealed class ImageFolderReaderTests
{
    [TestMethod]
    public void ReadsTheBundledSampleInCifarClassOrder()
    {
        var train = ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "train"));

        Assert.AreEqual(2000, train.Count);
        CollectionAssert.AreEqual(Cifar10.ClassNames.ToArray(), train.ClassNames.ToArray());
        CollectionAssert.AreEqual(Enumerable.Repeat(200, 10).ToArray(), train.CountPerClass());
        // Real photographs: neither blank nor saturated.
        double mean = train.Pixels.Average(b => (double)b);
        Assert.IsTrue(mean is > 80 and < 170, $"mean pixel {mean}");
    }

    [TestMethod]
    public void ReadsTheFullCifar10TestSplit()
    {
        var root = TestPaths.RequireShared("cifar10/test");
        var test = ImageFolderReader.Read(root);

        Assert.AreEqual(10000, test.Count);
        CollectionAssert.AreEqual(Enumerable.Repeat(1000, 10).ToArray(), test.CountPerClass());
        CollectionAssert.AreEqual(Cifar10.ClassNames.ToArray(), test.ClassNames.ToArray());
    }

    [TestMethod]
    public void DecodesExactPixelsChannelMajor()
    {
        var root = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(root, "a"));
        var file = Path.Combine(root, "a", "x.png");
        using (var bitmap = new SKBitmap(new SKImageInfo(3, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++)
                    bitmap.SetPixel(x, y, new SKColor((byte)(10 * x + y), (byte)(100 + x), (byte)(200 + y)));
            using var png = File.Create(file);
            bitmap.Encode(png, SKEncodedImageFormat.Png, 100);
        }

        var data = ImageFolderReader.Read(root);

        // CHW: R plane, then G, then B; each row-major.
        byte[] expected = [0, 10, 20, 1, 11, 21, 100, 101, 102, 100, 101, 102, 200, 200, 200, 201, 201, 201];
        CollectionAssert.AreEqual(expected, data.Pixels);
        Assert.AreEqual((2, 3), (data.Height, data.Width));
    }

    [TestMethod]
    public void GreyscaleImagenetteImagesBecomeRgbAndAreResized()
    {
        var root = TestPaths.RequireShared("imagenette2-160/val");
        // Find a greyscale JPEG among the real files (Imagenette has 242 of them).
        string? grey = null;
        foreach (var f in Directory.EnumerateFiles(root, "*.JPEG", SearchOption.AllDirectories).Take(4000))
        {
            using var codec = SKCodec.Create(f);
            if (codec.Info.ColorType == SKColorType.Gray8) { grey = f; break; }
        }
        if (grey == null) Assert.Inconclusive("no greyscale JPEG among the first 4,000 validation files.");
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "n0"));
        File.Copy(grey!, Path.Combine(dir, "n0", "grey.JPEG"));

        var data = ImageFolderReader.Read(dir, (64, 48));

        Assert.AreEqual((3, 64, 48), (data.Channels, data.Height, data.Width));
        var img = data.Image(0);
        int plane = 64 * 48;
        Assert.IsTrue(img[..plane].SequenceEqual(img.Slice(plane, plane)), "R and G planes differ for a grey image");
        Assert.IsTrue(img[..plane].SequenceEqual(img.Slice(2 * plane, plane)), "R and B planes differ for a grey image");
        Assert.IsGreaterThan(20, img.ToArray().Distinct().Count(), "a real photograph has many grey levels");
    }

    [TestMethod]
    public void CentreCropKeepsTheAspectRatioAndCutsTheSides()
    {
        // A 300x100 image: red 100-pixel bands left and right, blue in the middle. Stretching to 32x32 keeps the red;
        // the centre crop (scale the short side to 32, cut the middle) sees only blue.
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "bands"));
        using (var bitmap = new SKBitmap(300, 100))
        {
            for (int y = 0; y < 100; y++)
                for (int x = 0; x < 300; x++) bitmap.SetPixel(x, y, x is >= 100 and < 200 ? SKColors.Blue : SKColors.Red);
            using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(dir, "bands", "wide.png"), png.ToArray());
        }

        var cropped = ImageFolderReader.Read(dir, (32, 32), mode: ResizeMode.CenterCrop).Image(0).ToArray();
        var stretched = ImageFolderReader.Read(dir, (32, 32)).Image(0).ToArray();

        int plane = 32 * 32;
        Assert.IsTrue(cropped[..plane].All(r => r < 10) && cropped[(2 * plane)..].All(b => b > 245), "the centre crop holds only the blue middle");
        Assert.IsGreaterThan(plane / 2, stretched[..plane].Count(r => r > 245), "stretching keeps the red sides (two thirds of the width)");
        StringAssert.Contains(ImageFolderReader.Read(dir, (32, 32), mode: ResizeMode.CenterCrop).Source, "centre-cropped to 32x32");
    }

    [TestMethod]
    public void CorruptJpegNamesTheFile()
    {
        var root = CopyOfSampleClass(out var classDir);
        var victim = Directory.GetFiles(classDir)[3];
        var bytes = File.ReadAllBytes(victim);
        File.WriteAllBytes(victim, bytes[..(bytes.Length / 2)]); // truncated mid-scan

        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFolderReader.Read(root));
        Assert.AreEqual(victim, e.Path);
        StringAssert.Contains(e.Message, "corrupt");
    }

    [TestMethod]
    public void GarbageFileWithImageExtensionIsRefused()
    {
        var root = CopyOfSampleClass(out var classDir);
        var garbage = Path.Combine(classDir, "zzz.jpg");
        File.WriteAllText(garbage, "this is not a JPEG");

        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFolderReader.Read(root));
        Assert.AreEqual(garbage, e.Path);
    }

    [TestMethod]
    public void EmptyClassFolderIsRefused()
    {
        var root = CopyOfSampleClass(out _);
        var empty = Path.Combine(root, "zebra");
        Directory.CreateDirectory(empty);

        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFolderReader.Read(root));
        Assert.AreEqual(empty, e.Path);
        StringAssert.Contains(e.Message, "empty class folder");
    }

    [TestMethod]
    public void WrongImageSizeIsRefusedUnlessResizing()
    {
        var root = CopyOfSampleClass(out var classDir);
        var big = Path.Combine(classDir, "big.png");
        using (var bitmap = new SKBitmap(40, 40))
        using (var png = File.Create(big))
            bitmap.Encode(png, SKEncodedImageFormat.Png, 100);

        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFolderReader.Read(root));
        Assert.AreEqual(big, e.Path);
        StringAssert.Contains(e.Message, "40x40");
        StringAssert.Contains(e.Message, "expected 32x32");
        Assert.AreEqual(51, ImageFolderReader.Read(root, (32, 32)).Count);
    }

    [TestMethod]
    public void FolderWithoutClassFoldersIsRefused()
    {
        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFolderReader.Read(TestPaths.NewTempDir()));
        StringAssert.Contains(e.Message, "no class folders");
    }

    /// <summary>A fresh ImageFolder with one class: the 50 real test images of "airplane".</summary>
    static string CopyOfSampleClass(out string classDir)
    {
        var root = TestPaths.NewTempDir();
        classDir = Path.Combine(root, "airplane");
        Directory.CreateDirectory(classDir);
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Sample, "test", "airplane")))
            File.Copy(f, Path.Combine(classDir, Path.GetFileName(f)));
        return root;
    }
}
