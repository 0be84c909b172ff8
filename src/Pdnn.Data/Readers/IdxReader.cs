using System.Buffers.Binary;
using System.IO.Compression;

namespace Pdnn.Data.Readers;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (optionally gzipped): a big-endian magic 0x00 0x00 type ndims, ndims
/// big-endian int32 sizes, then the data. Images are unsigned-byte N x rows x cols; labels unsigned-byte N.
/// </summary>
public static class IdxReader
{
    public static readonly IReadOnlyList<string> FashionMnistClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    const byte UnsignedByte = 0x08;

    /// <summary>The image and label files of a split in an MNIST-style folder (plain or .gz).</summary>
    public static (string Images, string Labels)? Find(string folder, Split split)
    {
        var prefix = split == Split.Train ? "train" : "t10k";
        string? Pick(string stem) => new[] { stem, stem + ".gz" }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
        var images = Pick($"{prefix}-images-idx3-ubyte");
        var labels = Pick($"{prefix}-labels-idx1-ubyte");
        return images != null && labels != null ? (images, labels) : null;
    }

    /// <summary>One-channel images with their labels; class names default to the digits, or Fashion-MNIST's when the path says so.</summary>
    public static ImageDataset Read(string imagesFile, string labelsFile, IReadOnlyList<string>? classNames = null)
    {
        var (imageDims, pixels) = ReadTensor(imagesFile);
        if (imageDims.Length != 3)
            throw new DataFormatException(imagesFile, $"expected a 3-dimensional image file (N x rows x cols), found {imageDims.Length} dimensions.");
        if (imageDims[1] == 0 || imageDims[2] == 0)
            throw new DataFormatException(imagesFile, $"images of {imageDims[1]}x{imageDims[2]} pixels.");
        var (labelDims, labelBytes) = ReadTensor(labelsFile);
        if (labelDims.Length != 1)
            throw new DataFormatException(labelsFile, $"expected a 1-dimensional label file, found {labelDims.Length} dimensions.");
        if (labelDims[0] != imageDims[0])
            throw new DataFormatException(labelsFile, $"{labelDims[0]} labels for {imageDims[0]} images in {imagesFile}.");
        classNames ??= imagesFile.Contains("fashion", StringComparison.OrdinalIgnoreCase)
            ? FashionMnistClassNames : SvhnMatReader.ClassNames;
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labelBytes[i] >= classNames.Count)
                throw new DataFormatException(labelsFile, $"unknown label {labelBytes[i]} for image {i} (expected 0..{classNames.Count - 1}).");
            labels[i] = labelBytes[i];
        }
        return new ImageDataset(pixels, labels, classNames, 1, imageDims[1], imageDims[2], $"IDX {imagesFile}");
    }

    static (int[] Dims, byte[] Data) ReadTensor(string file)
    {
        if (!File.Exists(file)) throw new DataFormatException(file, "file not found.");
        long fileBytes = new FileInfo(file).Length;
        byte[] bytes;
        if (file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var raw = File.OpenRead(file);
            bytes = ReaderLimits.Inflate(file, raw, fileBytes, long.MaxValue, s => new GZipStream(s, CompressionMode.Decompress), "gzip stream");
        }
        else bytes = File.ReadAllBytes(file);
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw new DataFormatException(file, "not an IDX file (the magic number must start with two zero bytes).");
        if (bytes[2] != UnsignedByte)
            throw new DataFormatException(file, $"IDX element type 0x{bytes[2]:X2} is not supported (only unsigned byte, 0x08).");
        int ndims = bytes[3];
        if (bytes.Length < 4 + 4 * ndims)
            throw new DataFormatException(file, "truncated header.");
        var dims = Enumerable.Range(0, ndims).Select(i => BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i))).ToArray();
        if (dims.Any(d => d < 0))
            throw new DataFormatException(file, $"negative size in the header's shape {string.Join("x", dims)}.");
        long actual = bytes.Length - 4 - 4 * ndims;
        // Up to 255 dimensions: the product can exceed a long, so it is computed exactly.
        var expected = dims.Aggregate(System.Numerics.BigInteger.One, (a, d) => a * d);
        if (actual != expected)
            throw new DataFormatException(file, $"truncated or oversized data: the header's shape {string.Join("x", dims)} needs {expected} bytes, the file has {actual}.");
        return (dims, bytes[(4 + 4 * ndims)..]);
    }
}
