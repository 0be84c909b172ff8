using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pdnn.Data;

/// <summary>
/// A decoded data set on disk: one file of header + labels + raw pixel bytes, keyed by a fingerprint of the source files
/// (paths, sizes, modification times) and the decode options, so an epoch never decodes 50,000 JPEGs again and a changed
/// source is decoded afresh. Lives in $PDNN_CACHE_DIR, else $XDG_CACHE_HOME/pdnn, else ~/.cache/pdnn.
/// </summary>
public static class DatasetCache
{
    static readonly byte[] Magic = "PDNNDS01"u8.ToArray();

    public static string Directory
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("PDNN_CACHE_DIR");
            if (!string.IsNullOrEmpty(env)) return env;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "pdnn");
        }
    }

    /// <summary>A fingerprint of the files (name, size, mtime) and the decode options; any change gives a new key.</summary>
    public static string Fingerprint(IEnumerable<string> files, string options)
    {
        var text = new StringBuilder(options).Append('\n');
        foreach (var f in files.Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(f);
            text.Append(Path.GetFullPath(f)).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32].ToLowerInvariant();
    }

    public static string PathFor(string fingerprint) => Path.Combine(Directory, fingerprint + ".pdnnds");

    record Header(string[] ClassNames, int Count, int Channels, int Height, int Width, string Source);

    public static void Save(string file, ImageDataset data)
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var header = JsonSerializer.SerializeToUtf8Bytes(new Header(data.ClassNames.ToArray(), data.Count, data.Channels, data.Height, data.Width, data.Source));
        var temp = file + "." + Environment.ProcessId + ".tmp";
        using (var stream = new BinaryWriter(File.Create(temp)))
        {
            stream.Write(Magic);
            stream.Write(header.Length);
            stream.Write(header);
            foreach (var l in data.Labels) stream.Write(l);
            stream.Write(data.Pixels);
        }
        File.Move(temp, file, overwrite: true); // readers never see a half-written cache
    }

    /// <summary>Loads a cache file; null when it is absent or damaged (the caller then decodes the source again).</summary>
    public static ImageDataset? TryLoad(string file)
    {
        if (!File.Exists(file)) return null;
        try
        {
            using var reader = new BinaryReader(File.OpenRead(file));
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) return null;
            var header = JsonSerializer.Deserialize<Header>(reader.ReadBytes(reader.ReadInt32()))!;
            // Sizes come from the file: check them against its length before allocating anything.
            if (header.Channels > 4 || header.Height > 65_535 || header.Width > 65_535) return null;
            long size0 = (long)header.Count * header.Channels * header.Height * header.Width;
            if (header.Count < 0 || header.Channels < 1 || header.Height < 1 || header.Width < 1 || header.ClassNames == null || size0 > Array.MaxLength
                || reader.BaseStream.Length - reader.BaseStream.Position != 4L * header.Count + size0) return null;
            var labels = new int[header.Count];
            for (int i = 0; i < labels.Length; i++) labels[i] = reader.ReadInt32();
            long size = (long)header.Count * header.Channels * header.Height * header.Width;
            var pixels = reader.ReadBytes((int)size);
            if (pixels.Length != size || reader.BaseStream.Position != reader.BaseStream.Length) return null;
            return new ImageDataset(pixels, labels, header.ClassNames, header.Channels, header.Height, header.Width, header.Source);
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or ArgumentException or IOException)
        {
            return null;
        }
    }
}
