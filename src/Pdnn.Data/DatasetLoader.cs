using Pdnn.Data.Readers;

namespace Pdnn.Data;

/// <summary>
/// Opens a data set from a path in any supported layout, as RGB, through the decode cache. The layout is recognised from
/// what is there: CIFAR-10 binary batches, SVHN .mat files, MNIST-style IDX files, or ImageFolder
/// (root/train|test|val/&lt;class&gt;/images, or root/&lt;class&gt;/images).
/// </summary>
public static class DatasetLoader
{
    public sealed record Options
    {
        /// <summary>Resize every image to this (height, width); null keeps the files' size (which must then agree).</summary>
        public (int Height, int Width)? Size { get; init; }
        /// <summary>How images of another size reach <see cref="Size"/>: stretched (default) or centre-cropped (ImageFolder only).</summary>
        public ResizeMode Resize { get; init; } = ResizeMode.Stretch;
        public bool UseCache { get; init; } = true;
        /// <summary>Reports the number of images decoded so far (ImageFolder only).</summary>
        public IProgress<int>? Progress { get; init; }
    }

    public sealed record Result(ImageDataset Data, string Format, bool FromCache, string? CacheFile);

    public static ImageDataset Load(string path, Split split, Options? options = null) => Open(path, split, options).Data;

    public static Result Open(string path, Split split, Options? options = null)
    {
        options ??= new Options();
        var (format, files, read) = Recognise(path, split, options);
        if (!options.UseCache) return new Result(read().ToRgb(), format, false, null);

        // Stretch keeps the key it always had, so existing caches stay valid.
        var mode = options.Resize == ResizeMode.Stretch ? "" : $"|{options.Resize}-mlnet";
        var key = DatasetCache.Fingerprint(files, $"{format}|{split}|{options.Size}{mode}|v1");
        var cacheFile = DatasetCache.PathFor(key);
        var cached = DatasetCache.TryLoad(cacheFile);
        if (cached != null) return new Result(cached, format, true, cacheFile);
        var data = read().ToRgb();
        DatasetCache.Save(cacheFile, data);
        return new Result(data, format, false, cacheFile);
    }

    static (string Format, IReadOnlyList<string> Files, Func<ImageDataset> Read) Recognise(string path, Split split, Options options)
    {
        if (File.Exists(path))
        {
            if (path.EndsWith(".mat", StringComparison.OrdinalIgnoreCase))
                return ("svhn-mat", [path], () => SvhnMatReader.Read(path));
            throw new DataFormatException(path, "a single file is read only as an SVHN .mat file; pass the folder for other formats.");
        }
        if (!Directory.Exists(path))
            throw new DataFormatException(path, "data path not found.");

        foreach (var dir in new[] { path, Path.Combine(path, "cifar-10-batches-bin") })
            if (Cifar10BinaryReader.Recognises(dir))
            {
                var files = Cifar10BinaryReader.FileNames(split).Select(f => Path.Combine(dir, f)).Where(File.Exists).ToList();
                return ("cifar10-binary", files, () => Cifar10BinaryReader.Read(dir, split));
            }

        var mat = Path.Combine(path, SvhnMatReader.FileName(split));
        if (File.Exists(mat)) return ("svhn-mat", [mat], () => SvhnMatReader.Read(mat));

        if (IdxReader.Find(path, split) is { } idx)
            return ("idx", [idx.Images, idx.Labels], () => IdxReader.Read(idx.Images, idx.Labels));

        var splitNames = split == Split.Train ? new[] { "train" } : ["test", "val"];
        var root = splitNames.Select(s => Path.Combine(path, s)).FirstOrDefault(Directory.Exists);
        if (root == null && new[] { "train", "test", "val" }.Any(s => Directory.Exists(Path.Combine(path, s))))
            throw new DataFormatException(path, $"has split folders but no '{string.Join("' or '", splitNames)}' folder for the {split.ToString().ToLowerInvariant()} split.");
        root ??= path; // a bare root/<class>/images folder: the same images for either split
        var listing = ImageFolderReader.List(root);
        return ("image-folder", listing.SelectMany(c => c.Files).ToList(),
                () => ImageFolderReader.Read(root, options.Size, options.Progress, options.Resize));
    }
}
