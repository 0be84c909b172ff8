using System.Buffers.Binary;
using System.IO.Compression;
using Pdnn.Data.Readers;
using Pdnn.Data.Tests.FormatWriters;
using Pdnn.Tests;
using SkiaSharp;

namespace Pdnn.Data.Tests;

/// <summary>
/// Data files crafted against the readers (not reachable by random mutation): each is refused with a DataFormatException
/// naming the file, in bounded memory, instead of an unnamed exception, a silently wrong image or a crashed process.
/// </summary>
[TestClass]
public sealed class HostileDataFileTests
{
    static DataFormatException Refused(string file, Action read, string fragment)
    {
        GC.Collect();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.ThrowsExactly<DataFormatException>(read);
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        StringAssert.Contains(e.Message, file);
        StringAssert.Contains(e.Message, fragment);
        Assert.IsLessThan(64L << 20, allocated, $"refusing allocated {allocated:N0} bytes");
        return e;
    }

    [TestMethod]
    public void IdxWithNegativeSizesThatMultiplyToTheDataIsRefused()
    {
        // (-10) x 28 x (-28) = 7,840 bytes: the product fits the data, the shape does not exist.
        var dir = TestPaths.NewTempDir();
        string images = Path.Combine(dir, "t10k-images-idx3-ubyte"), labels = Path.Combine(dir, "t10k-labels-idx1-ubyte");
        IdxWriter.Write(images, [-10, 28, -28], new byte[7840]);
        IdxWriter.Write(labels, [10], new byte[10]);
        Refused(images, () => IdxReader.Read(images, labels), "negative size");
    }

    [TestMethod]
    public void GzipBombInAnIdxFileIsRefusedBeforeItInflates()
    {
        var dir = TestPaths.NewTempDir();
        string images = Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), labels = Path.Combine(dir, "t10k-labels-idx1-ubyte");
        using (var gz = new GZipStream(File.Create(images), CompressionLevel.SmallestSize))   // 125 MB of zeros in ~120 KB
        {
            gz.Write([0, 0, 0x08, 3, .. BitConverter.GetBytes(160_000).Reverse(), 0, 0, 0, 28, 0, 0, 0, 28]);
            var zeros = new byte[784 * 1000];
            for (int i = 0; i < 160; i++) gz.Write(zeros);
        }
        Assert.IsLessThan(200_000L, new FileInfo(images).Length);
        IdxWriter.Write(labels, [160_000], new byte[160_000]);
        Refused(images, () => IdxReader.Read(images, labels), "ReaderLimits.MaxInflateRatio");
    }

    static byte[] Compressed(byte[] element)
    {
        using var m = new MemoryStream();
        using (var z = new ZLibStream(m, CompressionLevel.Fastest, leaveOpen: true)) z.Write(element);
        var body = m.ToArray();
        return [.. BitConverter.GetBytes(15), .. BitConverter.GetBytes(body.Length), .. body];
    }

    [TestMethod]
    public void NestedCompressionInAMatFileIsRefusedNotRecursed()
    {
        // Each layer adds ~20 bytes; some thousands would overflow the stack of a reader that recursed, killing the process.
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        MatWriter.Write(file, compress: false);
        var element = Compressed(Compressed(new byte[16]));
        using (var s = File.Open(file, FileMode.Append)) s.Write(element);
        Refused(file, () => SvhnMatReader.Read(file), "compressed element inside a compressed element");
    }

    [TestMethod]
    public void MatPixelsThatAreNotBytesAreRefusedNotTruncated()
    {
        // X stored as doubles: 300.7 would have become the byte 44.
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        var x = Enumerable.Repeat(300.7, 3072).SelectMany(BitConverter.GetBytes).ToArray();
        MatWriter.Write(file, compress: false, ("X", [32, 32, 3, 1], 6, 9, x), ("y", [1, 1], 6, 9, BitConverter.GetBytes(1.0)));
        Refused(file, () => SvhnMatReader.Read(file), "300.7");
    }

    [TestMethod]
    public void MatMatrixWithoutArrayFlagsIsRefused()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        MatWriter.Write(file, compress: false, ("X", [32, 32, 3, 1], 9, 2, new byte[3072]));
        var bytes = File.ReadAllBytes(file);
        // The matrix's first sub-element (array flags, miUINT32, 8 bytes) declared empty.
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(128 + 8 + 4), 0);
        File.WriteAllBytes(file, bytes);
        Assert.ThrowsExactly<DataFormatException>(() => SvhnMatReader.Read(file));
    }

    [TestMethod]
    public void PngDeclaringAGiantImageIsRefusedFromItsHeader()
    {
        var root = TestPaths.NewTempDir();
        var dir = Directory.CreateDirectory(Path.Combine(root, "cat")).FullName;
        var png = Path.Combine(dir, "giant.png");
        using (var bitmap = new SKBitmap(32, 32))
        using (var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100))
            File.WriteAllBytes(png, encoded.ToArray());
        var bytes = File.ReadAllBytes(png);
        // IHDR at byte 8: length, "IHDR", width, height, ..., CRC over type and data.
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), 60_000);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), 60_000);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(29), Crc32(bytes.AsSpan(12, 17)));
        File.WriteAllBytes(png, bytes);
        Refused(png, () => ImageFolderReader.Read(root, (32, 32)), "60000x60000");
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
