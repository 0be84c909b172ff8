using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Pdnn.Data.Readers;

/// <summary>
/// SVHN's cropped-digit release (train_32x32.mat, test_32x32.mat): MATLAB 5 MAT-files holding X, a 32x32x3xN uint8
/// array (row, column, channel, image; column-major), and y, N labels in 1..10 where 10 means the digit 0.
/// Reads level-5 files, compressed (miCOMPRESSED) or not; the HDF5-based v7.3 format is refused with a clear error.
/// </summary>
public static class SvhnMatReader
{
    public static readonly IReadOnlyList<string> ClassNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    public static string FileName(Split split) => split == Split.Train ? "train_32x32.mat" : "test_32x32.mat";

    public static ImageDataset Read(string file)
    {
        if (!File.Exists(file)) throw new DataFormatException(file, "file not found.");
        var arrays = MatFile.ReadArrays(file);
        if (!arrays.TryGetValue("X", out var x)) throw new DataFormatException(file, "no variable 'X' (the images).");
        if (!arrays.TryGetValue("y", out var y)) throw new DataFormatException(file, "no variable 'y' (the labels).");
        if (x.Dims.Length != 4 || x.Dims[0] != 32 || x.Dims[1] != 32 || x.Dims[2] != 3)
            throw new DataFormatException(file, $"X has shape {string.Join("x", x.Dims)}, expected 32x32x3xN.");
        int n = x.Dims[3];
        if (y.Length != n)
            throw new DataFormatException(file, $"y holds {y.Length} labels but X holds {n} images.");

        var pixels = new byte[n * 3072L];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                for (int col = 0; col < 32; col++)
                    for (int row = 0; row < 32; row++)
                    {
                        double v = x[row + 32 * (col + 32 * (c + 3L * i))];
                        // A pixel must be a byte: truncating 300.7 to 44 would be a silently wrong image.
                        if (v is < 0 or > 255 || v != Math.Floor(v))
                            throw new DataFormatException(file, $"X holds {v} at pixel (row {row}, column {col}, channel {c}) of image {i}; SVHN pixels are integers 0..255.");
                        pixels[i * 3072L + c * 1024 + row * 32 + col] = (byte)v;
                    }
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            double v = y[i];
            if (v != Math.Floor(v) || v < 1 || v > 10)
                throw new DataFormatException(file, $"unknown label {v} for image {i} (SVHN labels are 1..10, 10 meaning digit 0).");
            labels[i] = (int)v % 10;
        }
        return new ImageDataset(pixels, labels, ClassNames, 3, 32, 32, $"SVHN .mat {file}");
    }
}

/// <summary>Just enough of the MATLAB level-5 MAT-file format to read named numeric arrays.</summary>
static class MatFile
{
    /// <summary>A numeric array kept in its stored element type (X is 225 M bytes for SVHN train; as doubles it would be 1.8 GB).</summary>
    public sealed class NumericArray(int[] dims, int type, byte[] raw)
    {
        public int[] Dims { get; } = dims;
        public long Length => raw.Length / Width(type);
        public double this[long i] => Element(type, raw.AsSpan((int)(i * Width(type)), Width(type)));
    }

    const int miINT8 = 1, miUINT8 = 2, miINT16 = 3, miUINT16 = 4, miINT32 = 5, miUINT32 = 6,
              miSINGLE = 7, miDOUBLE = 9, miINT64 = 12, miUINT64 = 13, miMATRIX = 14, miCOMPRESSED = 15;

    public static Dictionary<string, NumericArray> ReadArrays(string file)
    {
        var bytes = File.ReadAllBytes(file);
        if (bytes.Length < 128)
            throw new DataFormatException(file, $"too short for a MAT-file ({bytes.Length} bytes, the header alone is 128).");
        var text = Encoding.ASCII.GetString(bytes, 0, 116);
        if (text.Contains("MATLAB 7.3"))
            throw new DataFormatException(file, "MATLAB v7.3 (HDF5) MAT-file; resave it with save(..., '-v7') to read it here.");
        if (!text.StartsWith("MATLAB 5.0 MAT-file"))
            throw new DataFormatException(file, "not a MATLAB 5 MAT-file (header does not start with 'MATLAB 5.0 MAT-file').");
        if (bytes[126] != (byte)'I' || bytes[127] != (byte)'M')
            throw new DataFormatException(file, "big-endian MAT-file; only little-endian files are supported.");

        var arrays = new Dictionary<string, NumericArray>();
        ReadElements(file, bytes.AsSpan(128), arrays, compressed: false);
        return arrays;
    }

    static void ReadElements(string file, ReadOnlySpan<byte> data, Dictionary<string, NumericArray> arrays, bool compressed)
    {
        int pos = 0;
        while (pos + 8 <= data.Length)
        {
            var (type, size, headerBytes) = Tag(file, data[pos..]);
            int start = pos + headerBytes;
            if (start + (long)size > data.Length)
                throw new DataFormatException(file, $"truncated: an element of type {type} claims {size} bytes but only {data.Length - start} remain.");
            var body = data.Slice(start, size);
            if (type == miCOMPRESSED)
            {
                // MATLAB never nests compressed elements; a file that does could recurse until the stack overflows.
                if (compressed) throw new DataFormatException(file, "a compressed element inside a compressed element.");
                ReadElements(file, Inflate(file, body), arrays, compressed: true);
            }
            else if (type == miMATRIX)
                ReadMatrix(file, body, arrays);
            // Small elements fill their 8 bytes; others are padded to 8, except compressed ones, which MATLAB writes unpadded.
            pos = start + (headerBytes == 4 ? 4 : type == miCOMPRESSED ? size : Pad8(size));
        }
    }

    static void ReadMatrix(string file, ReadOnlySpan<byte> body, Dictionary<string, NumericArray> arrays)
    {
        var parts = new List<(int Type, byte[] Data)>();
        int pos = 0;
        while (pos + 8 <= body.Length)
        {
            var (type, size, headerBytes) = Tag(file, body[pos..]);
            int start = pos + headerBytes;
            if (start + (long)size > body.Length)
                throw new DataFormatException(file, "truncated matrix element.");
            parts.Add((type, body.Slice(start, size).ToArray()));
            pos = start + (headerBytes == 4 ? 4 : Pad8(size));
        }
        if (parts.Count < 4) return; // not a numeric array (cell, struct, ...): ignored
        if (parts[0].Data.Length == 0) throw new DataFormatException(file, "a matrix without its array flags.");
        int matlabClass = parts[0].Data[0];
        if (matlabClass < 6 || matlabClass > 15) return; // 6..15: double, single, int8..uint64
        Width(file, parts[1].Type);
        Width(file, parts[3].Type);
        var dimsRaw = new NumericArray([parts[1].Data.Length / Width(parts[1].Type)], parts[1].Type, parts[1].Data);
        var dims = Enumerable.Range(0, (int)dimsRaw.Length).Select(i => dimsRaw[i]).Select(d =>
            d is >= 0 and <= int.MaxValue && d == Math.Floor(d) ? (int)d : throw new DataFormatException(file, $"a matrix dimension of {d}.")).ToArray();
        var name = Encoding.ASCII.GetString(parts[2].Data);
        var values = new NumericArray(dims, parts[3].Type, parts[3].Data);
        long expected = dims.Aggregate(1L, (a, d) => a == 0 || d == 0 ? 0 : a > values.Length / d + 1 ? long.MaxValue : a * d);
        if (values.Length != expected)
            throw new DataFormatException(file, $"variable '{name}' has {values.Length} values but its shape {string.Join("x", dims)} needs {expected}.");
        arrays[name] = values;
    }

    /// <summary>An element tag: 8 bytes (type, size), or 4 bytes when the small-data format packs size into the upper half.</summary>
    static (int Type, int Size, int HeaderBytes) Tag(string file, ReadOnlySpan<byte> data)
    {
        uint first = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if ((first >> 16) != 0)
        {
            // The small-data format packs at most 4 bytes beside its 4-byte tag.
            if ((first >> 16) > 4) throw new DataFormatException(file, $"a small data element claims {first >> 16} bytes (at most 4).");
            return ((int)(first & 0xFFFF), (int)(first >> 16), 4);
        }
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (size > int.MaxValue) throw new DataFormatException(file, $"element size {size} too large.");
        return ((int)first, (int)size, 8);
    }

    static int Pad8(int size) => (size + 7) / 8 * 8;

    /// <summary>A compressed element's content: one element, so it inflates to at most its tag's size plus the tag and padding.</summary>
    static byte[] Inflate(string file, ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray(), writable: false);
        var tag = new byte[8];
        try
        {
            using var z = new ZLibStream(input, CompressionMode.Decompress, leaveOpen: true);
            z.ReadAtLeast(tag, 8, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e) { throw new DataFormatException(file, "corrupt compressed element (zlib stream does not inflate).", e); }
        long declared = BinaryPrimitives.ReadUInt32LittleEndian(tag.AsSpan(4));
        input.Position = 0;
        return ReaderLimits.Inflate(file, input, compressed.Length, 16 + declared, s => new ZLibStream(s, CompressionMode.Decompress), "compressed element");
    }

    static int Width(string file, int type) =>
        Width(type) > 0 ? Width(type) : throw new DataFormatException(file, $"unsupported MAT data type {type}.");

    static int Width(int type) => type switch
    {
        miINT8 or miUINT8 => 1,
        miINT16 or miUINT16 => 2,
        miINT32 or miUINT32 or miSINGLE => 4,
        miDOUBLE or miINT64 or miUINT64 => 8,
        _ => 0,
    };

    static double Element(int type, ReadOnlySpan<byte> s) => type switch
    {
        miINT8 => (sbyte)s[0],
        miUINT8 => s[0],
        miINT16 => BinaryPrimitives.ReadInt16LittleEndian(s),
        miUINT16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
        miINT32 => BinaryPrimitives.ReadInt32LittleEndian(s),
        miUINT32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
        miSINGLE => BinaryPrimitives.ReadSingleLittleEndian(s),
        miDOUBLE => BinaryPrimitives.ReadDoubleLittleEndian(s),
        miINT64 => BinaryPrimitives.ReadInt64LittleEndian(s),
        miUINT64 => BinaryPrimitives.ReadUInt64LittleEndian(s),
        _ => throw new InvalidOperationException($"MAT data type {type}"),
    };
}
