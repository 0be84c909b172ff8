using System.IO.Compression;
using CsCheck;
using Pdnn.Data.Readers;
using Pdnn.Data.Tests.FormatWriters;
using Pdnn.Tests;
using SkiaSharp;

namespace Pdnn.Data.Tests;

/// <summary>
/// Random mutations of real files for every reader (flipped bytes, boundary values written over header fields, truncation,
/// inserted and deleted bytes; half of them aimed at the header). The property: the reader returns exactly what the
/// mutated file says (checked against an independent parse of the format), or throws a DataFormatException naming the
/// file — never another exception, a crash, a hang or a silently wrong label. Cases per property in CI: see each
/// Iterations(...) call; PDNN_FUZZ_ITERATIONS=N for a longer run (tests/README.md).
/// </summary>
[TestClass]
public sealed class ReaderFuzzTests
{
    static readonly Lazy<ImageDataset> sample = new(() => ImageFolderReader.Read(Path.Combine(TestPaths.Sample, "test")).Subset([.. Enumerable.Range(0, 500).Where(i => i % 25 == 0)]));

    /// <summary>Runs <paramref name="read"/>; null expected: it must throw a DataFormatException naming <paramref name="file"/>.</summary>
    static ImageDataset? ReadOrNamedError(string file, Func<ImageDataset> read, bool expectError, string what)
    {
        try
        {
            var data = read();
            if (expectError) Assert.Fail($"{what}: the reader accepted a file the format refuses.");
            return data;
        }
        catch (DataFormatException e)
        {
            if (!expectError) Assert.Fail($"{what}: refused a valid file: {e.Message}");
            StringAssert.Contains(e.Message, Path.GetFileName(file));
            return null;
        }
    }

    static string Describe(Fuzz.Mutation[] m) => string.Join(", ", m.Select(x => x.ToString()));

    [TestMethod]
    public void Cifar10BinaryGivesTheRecordsTheFileHoldsOrNamesIt()
    {
        var file = Path.Combine(TestPaths.NewTempDir(), "test_batch.bin");
        Cifar10BinaryWriter.Write(file, sample.Value, 0, sample.Value.Count);
        var original = File.ReadAllBytes(file);

        Fuzz.Mutations(original.Length, header: 2 * Cifar10BinaryReader.RecordSize).Sample(mutations =>
        {
            var bytes = Fuzz.Apply(original, mutations);
            File.WriteAllBytes(file, bytes);
            // The format: whole 3,073-byte records, each a label 0..9 then 3,072 pixel bytes.
            int n = bytes.Length / Cifar10BinaryReader.RecordSize;
            bool valid = bytes.Length > 0 && bytes.Length % Cifar10BinaryReader.RecordSize == 0
                         && Enumerable.Range(0, n).All(i => bytes[i * Cifar10BinaryReader.RecordSize] < 10);
            var data = ReadOrNamedError(file, () => Cifar10BinaryReader.ReadFiles([file], "fuzz"), !valid, Describe(mutations));
            if (data == null) return;
            for (int i = 0; i < n; i++)
            {
                Assert.AreEqual(bytes[i * Cifar10BinaryReader.RecordSize], data.Labels[i], $"label {i}");
                CollectionAssert.AreEqual(bytes.AsSpan(i * Cifar10BinaryReader.RecordSize + 1, 3072).ToArray(), data.Image(i).ToArray(), $"image {i}");
            }
        }, iter: Fuzz.Iterations(300), threads: 1, seed: Fuzz.Seed, print: Describe);
    }

    /// <summary>Real Fashion-MNIST images (Debian's dataset-fashion-mnist) where installed, else grey versions of the CIFAR sample.</summary>
    static (byte[] Images, byte[] Labels, int Rows) IdxSource()
    {
        const string dir = "/usr/share/datasets/fashion-mnist";
        if (File.Exists(Path.Combine(dir, "t10k-images-idx3-ubyte.gz")))
        {
            var d = IdxReader.Read(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
            return (d.Pixels[..(20 * 784)], d.Labels[..20].Select(l => (byte)l).ToArray(), 28);
        }
        var s = sample.Value;
        return (s.Pixels.Where((_, i) => i % 3072 < 1024).ToArray(), s.Labels.Select(l => (byte)l).ToArray(), 32);
    }

    /// <summary>An independent parse of an IDX file of unsigned bytes: (dims, data), or null where the format refuses it.</summary>
    static (int[] Dims, byte[] Data)? ParseIdx(byte[] b)
    {
        if (b.Length < 4 || b[0] != 0 || b[1] != 0 || b[2] != 8 || b.Length < 4 + 4 * b[3]) return null;
        var dims = Enumerable.Range(0, b[3]).Select(i => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4 + 4 * i))).ToArray();
        if (dims.Any(d => d < 0)) return null;
        var size = dims.Aggregate(System.Numerics.BigInteger.One, (a, d) => a * d);
        return size == b.Length - 4 - 4 * dims.Length ? (dims, b[(4 + 4 * dims.Length)..]) : null;
    }

    static byte[]? Gunzip(byte[] gz)
    {
        try
        {
            using var output = new MemoryStream();
            using (var z = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress)) z.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException) { return null; }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void IdxGivesTheImagesAndLabelsTheFilesHoldOrNamesTheFile(bool gzip)
    {
        var (pixels, labels, rows) = IdxSource();
        var dir = TestPaths.NewTempDir();
        string ext = gzip ? ".gz" : "";
        string imagesFile = Path.Combine(dir, "t10k-images-idx3-ubyte" + ext), labelsFile = Path.Combine(dir, "t10k-labels-idx1-ubyte" + ext);
        IdxWriter.Write(imagesFile, [labels.Length, rows, rows], pixels);
        IdxWriter.Write(labelsFile, [labels.Length], labels);
        var originals = new[] { File.ReadAllBytes(imagesFile), File.ReadAllBytes(labelsFile) };

        Gen.Select(Gen.Int[0, 1], Fuzz.Mutations(originals[0].Length, header: 64)).Sample((which, mutations) =>
        {
            var files = new[] { imagesFile, labelsFile };
            var bytes = Fuzz.Apply(originals[which], mutations);
            File.WriteAllBytes(imagesFile, which == 0 ? bytes : originals[0]);
            File.WriteAllBytes(labelsFile, which == 1 ? bytes : originals[1]);

            var raw = new[] { File.ReadAllBytes(imagesFile), File.ReadAllBytes(labelsFile) }.Select(b => gzip ? Gunzip(b) : b).ToArray();
            var images = raw[0] is { } r0 ? ParseIdx(r0) : null;
            var labelTensor = raw[1] is { } r1 ? ParseIdx(r1) : null;
            bool valid = images is { Dims: [var n, > 0, > 0] } && labelTensor is { Dims: [var m] } && n == m && labelTensor.Value.Data.All(l => l < 10);

            var data = ReadOrNamedError(files[which], () => IdxReader.Read(imagesFile, labelsFile), !valid, $"{files[which]}: {Describe(mutations)}");
            if (data == null) return;
            CollectionAssert.AreEqual(labelTensor!.Value.Data.Select(l => (int)l).ToArray(), data.Labels);
            CollectionAssert.AreEqual(images!.Value.Data, data.Pixels);
            Assert.AreEqual(images.Value.Dims[1], data.Height);
        }, iter: Fuzz.Iterations(200), threads: 1, seed: Fuzz.Seed, print: t => $"file {t.Item1}: {Describe(t.Item2)}");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void SvhnMatGivesTheDigitsTheFileHoldsOrNamesIt(bool compress)
    {
        var data = sample.Value;
        var svhnLabels = data.Labels.Select(l => l == 0 ? 10 : l).ToArray();
        var file = Path.Combine(TestPaths.NewTempDir(), "test_32x32.mat");
        MatWriter.WriteSvhn(file, data, svhnLabels, compress);
        var original = File.ReadAllBytes(file);
        // Where X's pixel bytes and y's doubles lie in the uncompressed file, to know what an in-place edit there means.
        var xBytes = new byte[3072 * data.Count];
        for (int i = 0; i < data.Count; i++)
            for (int c = 0; c < 3; c++)
                for (int row = 0; row < 32; row++)
                    for (int col = 0; col < 32; col++) xBytes[row + 32 * col + 1024 * c + 3072 * i] = data.Image(i)[c * 1024 + row * 32 + col];
        var yBytes = svhnLabels.SelectMany(l => BitConverter.GetBytes((double)l)).ToArray();
        int xAt = compress ? -1 : original.AsSpan().IndexOf(xBytes), yAt = compress ? -1 : original.AsSpan().IndexOf(yBytes);

        Fuzz.Mutations(original.Length, header: compress ? 200 : 300).Sample(mutations =>
        {
            var bytes = Fuzz.Apply(original, mutations);
            File.WriteAllBytes(file, bytes);
            var expectedPixels = data.Pixels;
            var expectedLabels = data.Labels;
            bool? valid = null;   // null: unknown (the edit hit a structural field); then a success must give the original
            // A file of the original length (in-place edits, or an insert and a delete that cancel out) has X's and y's data
            // where they were: a success must give what is there now. The file must be read when every changed byte is inside
            // that data and the labels stay 1..10, and refused when a label does not.
            if (!compress && bytes.Length == original.Length)
            {
                var y = Enumerable.Range(0, data.Count).Select(i => BitConverter.ToDouble(bytes, yAt + 8 * i)).ToArray();
                bool labelsValid = y.All(v => v is >= 1 and <= 10 && v == Math.Floor(v));
                if (labelsValid) expectedLabels = y.Select(v => (int)v % 10).ToArray();
                var x = bytes.AsSpan(xAt, xBytes.Length);
                var pixels = new byte[expectedPixels.Length];
                for (int i = 0; i < data.Count; i++)
                    for (int c = 0; c < 3; c++)
                        for (int row = 0; row < 32; row++)
                            for (int col = 0; col < 32; col++) pixels[i * 3072 + c * 1024 + row * 32 + col] = x[row + 32 * col + 1024 * c + 3072 * i];
                expectedPixels = pixels;
                if (!labelsValid) valid = false;
                else if (Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != original[i])
                         .All(i => Within(i, xAt, xBytes.Length) || Within(i, yAt, yBytes.Length))) valid = true;
            }
            ImageDataset? read;
            try { read = SvhnMatReader.Read(file); }
            catch (DataFormatException e)
            {
                Assert.AreNotEqual(true, valid, $"refused a valid file: {e.Message}");
                StringAssert.Contains(e.Message, file);
                return;
            }
            Assert.AreNotEqual(false, valid, "accepted labels outside 1..10");
            CollectionAssert.AreEqual(expectedLabels, read.Labels, "labels");
            CollectionAssert.AreEqual(expectedPixels, read.Pixels, "pixels");
        }, iter: Fuzz.Iterations(200), threads: 1, seed: Fuzz.Seed, print: Describe);
    }

    static bool Within(int i, int at, int length) => i >= at && i < at + length;

    [TestMethod]
    public void ImageFolderDecodesDamagedJpegAndPngToTheirLabelsOrNamesTheFile()
    {
        var root = TestPaths.NewTempDir();
        var data = sample.Value;
        var files = new List<(string Path, int Label)>();
        string[] classes = ["cat", "dog"];
        var jpegs = Directory.GetFiles(Path.Combine(TestPaths.Sample, "test", "cat"), "*.jpg").Order(StringComparer.Ordinal).Take(2)
            .Concat(Directory.GetFiles(Path.Combine(TestPaths.Sample, "test", "dog"), "*.jpg").Order(StringComparer.Ordinal).Take(2)).ToArray();
        for (int i = 0; i < jpegs.Length; i++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(root, classes[i / 2])).FullName;
            var jpg = Path.Combine(dir, $"{i}.jpg");
            File.Copy(jpegs[i], jpg);
            var png = Path.Combine(dir, $"{i}.png");
            using (var bitmap = SKBitmap.Decode(jpg))
            using (var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100))
                File.WriteAllBytes(png, encoded.ToArray());
            files.Add((jpg, i / 2));
            files.Add((png, i / 2));
        }
        var clean = ImageFolderReader.Read(root);
        var originals = files.Select(f => File.ReadAllBytes(f.Path)).ToArray();

        Gen.Select(Gen.Int[0, files.Count - 1], Fuzz.Mutations(1000, header: 300)).Sample((which, mutations) =>
        {
            var target = files[which].Path;
            File.WriteAllBytes(target, Fuzz.Apply(originals[which], mutations));
            try
            {
                ImageDataset read;
                try { read = ImageFolderReader.Read(root); }
                catch (DataFormatException e)
                {
                    // The damaged file, or (when the damage changed the size the first file sets) a file of another size.
                    Assert.IsTrue(e.Path == target || e.Message.Contains("wrong image size"), e.Message);
                    return;
                }
                CollectionAssert.AreEqual(clean.Labels, read.Labels, "labels");
                var order = ImageFolderReader.List(root).SelectMany(c => c.Files).ToList();
                for (int i = 0; i < order.Count; i++)
                    if (order[i] != target) CollectionAssert.AreEqual(clean.Image(i).ToArray(), read.Image(i).ToArray(), $"undamaged {order[i]}");
            }
            finally { File.WriteAllBytes(target, originals[which]); }
        }, iter: Fuzz.Iterations(150), threads: 1, seed: Fuzz.Seed, print: t => $"{files[t.Item1].Path}: {Describe(t.Item2)}");
    }
}
