using System.IO.Compression;
using System.Text;

namespace Pdnn.Data.Tests.FormatWriters;

/// <summary>
/// Writes MATLAB level-5 MAT-files as MATLAB's save(..., '-v7') does for SVHN: a 128-byte header, then one miMATRIX
/// element per variable (optionally wrapped in miCOMPRESSED), arrays stored column-major.
/// </summary>
static class MatWriter
{
    public static void Write(string file, bool compress, params (string Name, int[] Dims, int ClassId, int DataType, byte[] Data)[] variables)
    {
        using var output = File.Create(file);
        var header = Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: pdnn tests".PadRight(116));
        output.Write(header);
        output.Write(new byte[8]);                      // subsystem data offset
        output.Write([0x00, 0x01, (byte)'I', (byte)'M']); // version 0x0100, little-endian marker
        foreach (var v in variables)
        {
            var matrix = Element(14, Matrix(v.Name, v.Dims, v.ClassId, v.DataType, v.Data));
            if (!compress) { output.Write(matrix); continue; }
            using var compressed = new MemoryStream();
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) z.Write(matrix);
            var body = compressed.ToArray();
            output.Write(BitConverter.GetBytes(15));
            output.Write(BitConverter.GetBytes(body.Length));
            output.Write(body); // compressed elements are not padded
        }
    }

    static byte[] Matrix(string name, int[] dims, int classId, int dataType, byte[] data)
    {
        using var m = new MemoryStream();
        m.Write(Element(6, [.. BitConverter.GetBytes(classId), 0, 0, 0, 0]));          // array flags (miUINT32)
        m.Write(Element(5, dims.SelectMany(BitConverter.GetBytes).ToArray()));       // dimensions (miINT32)
        m.Write(Element(1, Encoding.ASCII.GetBytes(name)));                          // name (miINT8)
        m.Write(Element(dataType, data));                                            // real part
        return m.ToArray();
    }

    static byte[] Element(int type, byte[] data)
    {
        var padded = (data.Length + 7) / 8 * 8;
        var e = new byte[8 + padded];
        BitConverter.GetBytes(type).CopyTo(e, 0);
        BitConverter.GetBytes(data.Length).CopyTo(e, 4);
        data.CopyTo(e, 8);
        return e;
    }

    /// <summary>SVHN's X (32x32x3xN uint8, element (row, col, ch, n) at row + 32 col + 1024 ch + 3072 n) and y (N x 1 double).</summary>
    public static void WriteSvhn(string file, ImageDataset data, int[] svhnLabels, bool compress)
    {
        int n = data.Count;
        var x = new byte[3072 * n];
        for (int i = 0; i < n; i++)
        {
            var img = data.Image(i);
            for (int c = 0; c < 3; c++)
                for (int row = 0; row < 32; row++)
                    for (int col = 0; col < 32; col++)
                        x[row + 32 * col + 1024 * c + 3072 * i] = img[c * 1024 + row * 32 + col];
        }
        var y = svhnLabels.SelectMany(l => BitConverter.GetBytes((double)l)).ToArray();
        Write(file, compress, ("X", [32, 32, 3, n], 9 /* mxUINT8_CLASS */, 2 /* miUINT8 */, x),
                              ("y", [n, 1], 6 /* mxDOUBLE_CLASS */, 9 /* miDOUBLE */, y));
    }
}
