using System.Buffers.Binary;
using System.IO.Compression;

namespace Pdnn.Data.Tests.FormatWriters;

/// <summary>Writes IDX files (magic 0 0 0x08 ndims, big-endian int32 sizes, unsigned bytes), plain or gzipped.</summary>
static class IdxWriter
{
    public static void Write(string file, int[] dims, byte[] data)
    {
        using var raw = File.Create(file);
        using Stream output = file.EndsWith(".gz") ? new GZipStream(raw, CompressionLevel.Fastest) : raw;
        output.Write([0, 0, 0x08, (byte)dims.Length]);
        var size = new byte[4];
        foreach (var d in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(size, d);
            output.Write(size);
        }
        output.Write(data);
    }
}
