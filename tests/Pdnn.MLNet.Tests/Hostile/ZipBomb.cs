using System.Buffers.Binary;
using System.IO.Compression;

namespace Pdnn.MLNet.Tests.Hostile;

/// <summary>Zip bombs: an entry of zeros that inflates ~1000x, honestly declared or with its declared size rewritten.</summary>
static class ZipBomb
{
    /// <summary>Adds (or replaces) <paramref name="name"/> with <paramref name="bytes"/> zero bytes, deflated.</summary>
    public static void Write(string path, ModelZip model, string name, long bytes)
    {
        model.Entries.RemoveAll(e => e.Name == name);
        model.Write(path);
        using var zip = new ZipArchive(File.Open(path, FileMode.Open), ZipArchiveMode.Update);
        using var s = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        var zeros = new byte[1 << 20];
        for (long left = bytes; left > 0; left -= zeros.Length) s.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
    }

    /// <summary>Rewrites the uncompressed size that the local header and the central directory declare for <paramref name="name"/>.</summary>
    public static void Declare(string path, string name, uint uncompressed)
    {
        var bytes = File.ReadAllBytes(path);
        var key = System.Text.Encoding.ASCII.GetBytes(name);
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50 && bytes.AsSpan(i + 30, key.Length).SequenceEqual(key))
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), uncompressed);
            if (signature == 0x02014b50 && bytes.AsSpan(i + 46, key.Length).SequenceEqual(key))
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), uncompressed);
        }
        File.WriteAllBytes(path, bytes);
    }
}
