using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace Pdnn.MLNet.Persistence;

/// <summary>
/// A zip archive read under <see cref="PdnnLoadOptions"/>: the entry count and central-directory size are read from the
/// end record before .NET parses the directory; then every name is checked (plain names only, no duplicates), every size
/// and compression ratio is checked from the directory before anything inflates, and an entry is inflated into a buffer of
/// exactly its declared size, so a bomb costs at most what its declaration was allowed. Used for the model file and for
/// the ML.NET models inside it.
/// </summary>
sealed partial class BoundedZip : IDisposable
{
    readonly ZipArchive zip;
    readonly string path;
    readonly string? container;   // the outer entry, when this is a zip inside the model file

    BoundedZip(ZipArchive zip, string path, string? container, Dictionary<string, ZipArchiveEntry> entries)
    {
        this.zip = zip; this.path = path; this.container = container; Entries = entries;
    }

    public IReadOnlyDictionary<string, ZipArchiveEntry> Entries { get; }

    /// <summary>Opens <paramref name="stream"/>; <paramref name="nestedNames"/>: names may be relative paths (ML.NET's own layout).</summary>
    public static BoundedZip Open(Stream stream, string path, PdnnLoadOptions options, bool nestedNames, string? container = null)
    {
        // An entry's problem is told without its name, which the message gives (or, inside an ML.NET model, the problem).
        PdnnModelFileException Fail(ModelFileCheck check, string problem, string? entry = null, Exception? inner = null) =>
            new(path, check, container == null ? problem : $"the ML.NET model inside: {(entry != null ? $"entry '{Printable(entry)}' " : "")}{problem}", container ?? entry, inner);

        var (count, directoryBytes) = EndRecord(stream) ?? throw Fail(ModelFileCheck.NotAZipArchive,
            "not a zip archive, or a truncated one (no end-of-central-directory record).");
        if (count > options.MaxEntries)
            throw Fail(ModelFileCheck.Limit, $"{count} entries, over the {options.MaxEntries} allowed (PdnnLoadOptions.MaxEntries).");
        if (directoryBytes > (count + 1) * 1024L)
            throw Fail(ModelFileCheck.Limit, $"a {directoryBytes}-byte central directory for {count} entries (at most 1 KiB each).");

        ZipArchive zip;
        try { zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e) { throw Fail(ModelFileCheck.NotAZipArchive, $"not a zip archive, or a corrupt one ({e.Message})", inner: e); }
        try
        {
            var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            long total = 0;
            foreach (var e in zip.Entries)
            {
                var name = e.FullName;
                if (!(nestedNames ? NestedName().IsMatch(name) : PlainName().IsMatch(name)))
                    throw Fail(ModelFileCheck.EntryName, $"the name is not a plain file name{(nestedNames ? " path" : "")}; a Pdnn model file has no folders, absolute paths or '..'.", name);
                if (!entries.TryAdd(name, e))
                    throw Fail(ModelFileCheck.EntryName, $"appears twice; which one would be read is up to the reader.", name);
                if (e.IsEncrypted)
                    throw Fail(ModelFileCheck.NotAZipArchive, "is encrypted.", name);
                if (e.Length < 0 || e.CompressedLength < 0)
                    throw Fail(ModelFileCheck.NotAZipArchive, "declares a negative size.", name);
                if (e.Length > options.MaxEntryBytes)
                    throw Fail(ModelFileCheck.Limit, $"inflates to {e.Length:N0} bytes, over the {options.MaxEntryBytes:N0} allowed (PdnnLoadOptions.MaxEntryBytes).", name);
                if (e.Length >= options.CompressionRatioFloorBytes && e.Length > options.MaxCompressionRatio * Math.Max(1, e.CompressedLength))
                    throw Fail(ModelFileCheck.CompressionRatio, $"inflates {e.Length:N0} bytes from {e.CompressedLength:N0} ({(double)e.Length / Math.Max(1, e.CompressedLength):N0}x), over the {options.MaxCompressionRatio}x allowed (PdnnLoadOptions.MaxCompressionRatio): a zip bomb?", name);
                total += e.Length;
            }
            if (total > options.MaxTotalBytes)
                throw Fail(ModelFileCheck.Limit, $"entries inflate to {total:N0} bytes in all, over the {options.MaxTotalBytes:N0} allowed (PdnnLoadOptions.MaxTotalBytes).");
            return new BoundedZip(zip, path, container, entries);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>The entry <paramref name="name"/>, inflated: exactly its declared size, or refused.</summary>
    public byte[] Read(string name)
    {
        string where = container != null ? $"the ML.NET model inside: entry '{name}'" : "it";
        var e = Entries.TryGetValue(name, out var found) ? found
            : throw new PdnnModelFileException(path, ModelFileCheck.MissingEntry, $"{where} is named by the manifest but not in the file.", container ?? name);
        var buffer = new byte[e.Length];
        try
        {
            using var s = e.Open();
            int n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (n < buffer.Length)
                throw new PdnnModelFileException(path, ModelFileCheck.CompressionRatio, $"{where} inflates to {n:N0} bytes, not the {e.Length:N0} it declares.", container ?? name);
            Span<byte> one = stackalloc byte[1];
            if (s.Read(one) > 0)
                throw new PdnnModelFileException(path, ModelFileCheck.CompressionRatio, $"{where} inflates to more than the {e.Length:N0} bytes it declares: a zip bomb?", container ?? name);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw new PdnnModelFileException(path, ModelFileCheck.NotAZipArchive, $"{where} is corrupt ({ex.Message})", container ?? name, ex);
        }
        return buffer;
    }

    /// <summary>(entries, central directory bytes) from the end-of-central-directory record (zip64 too); null when there is none.</summary>
    static (long Count, long DirectoryBytes)? EndRecord(Stream stream)
    {
        long length = stream.Length;
        if (length < 22) return null;
        int tail = (int)Math.Min(length, 22 + 65_535);
        var buffer = new byte[tail];
        stream.Position = length - tail;
        stream.ReadExactly(buffer);
        stream.Position = 0;
        for (int i = tail - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i)) != 0x06054b50) continue;
            long count = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(i + 10));
            long size = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i + 12));
            if (count != 0xFFFF && size != 0xFFFFFFFF) return (count, size);
            // Zip64: the locator sits just before the end record and points at the zip64 end record.
            if (i < 20 || BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i - 20)) != 0x07064b50) return null;
            long at = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(i - 12));
            if (at < 0 || at > length - 56) return null;
            var zip64 = new byte[56];
            stream.Position = at;
            stream.ReadExactly(zip64);
            stream.Position = 0;
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip64) != 0x06064b50) return null;
            return (BinaryPrimitives.ReadInt64LittleEndian(zip64.AsSpan(32)), BinaryPrimitives.ReadInt64LittleEndian(zip64.AsSpan(40)));
        }
        return null;
    }

    internal static string Printable(string text) =>
        new(text.Take(120).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\z")]
    private static partial Regex PlainName();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}){0,15}\z")]
    private static partial Regex NestedName();

    public void Dispose() => zip.Dispose();
}
