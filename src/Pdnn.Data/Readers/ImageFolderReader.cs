namespace Pdnn.Data.Readers;

/// <summary>
/// The ImageFolder layout: root/&lt;class&gt;/*.jpg|jpeg|png (any case). Class indices follow the ordinal-sorted
/// folder names (CIFAR-10's and Imagenette's standard orders); files are read in sorted order.
/// </summary>
public static class ImageFolderReader
{
    static readonly string[] Extensions = [".jpg", ".jpeg", ".png"];

    public static bool IsImageFile(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The class folders and their image files, in index order. Fails on an empty class folder.</summary>
    public static IReadOnlyList<(string ClassName, IReadOnlyList<string> Files)> List(string root)
    {
        if (!Directory.Exists(root))
            throw new DataFormatException(root, "folder not found.");
        var classes = Directory.GetDirectories(root).OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToList();
        if (classes.Count == 0)
            throw new DataFormatException(root, "no class folders: the ImageFolder layout is root/<class>/<image files>.");
        var listing = new List<(string, IReadOnlyList<string>)>();
        foreach (var dir in classes)
        {
            var files = Directory.GetFiles(dir).Where(IsImageFile).OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0)
                throw new DataFormatException(dir, "empty class folder: no .jpg, .jpeg or .png files.");
            listing.Add((Path.GetFileName(dir), files));
        }
        return listing;
    }

    /// <summary>
    /// Decodes every image (in parallel) into one RGB byte buffer. Without <paramref name="size"/>, all images must
    /// have the size of the first one; with it, each is resized bilinearly to (height, width), stretched or centre-cropped
    /// by <paramref name="mode"/>.
    /// </summary>
    public static ImageDataset Read(string root, (int Height, int Width)? size = null, IProgress<int>? progress = null,
                                    ResizeMode mode = ResizeMode.Stretch)
    {
        var listing = List(root);
        var files = listing.SelectMany((c, label) => c.Files.Select(f => (File: f, Label: label))).ToArray();
        var (height, width) = size ?? FirstSize(files[0].File);
        long imageBytes = 3L * height * width;
        if (files.Length * imageBytes > Array.MaxLength)
            throw new DataFormatException(root, $"{files.Length} images of {height}x{width} need {files.Length * imageBytes:N0} bytes, more than one in-memory data set holds ({Array.MaxLength:N0}); resize them smaller or split the folder.");
        var pixels = new byte[files.Length * imageBytes];
        var labels = files.Select(f => f.Label).ToArray();
        int done = 0;
        try
        {
            Parallel.For(0, files.Length, i =>
            {
                ImageDecoder.DecodeRgb(files[i].File, pixels.AsSpan((int)(i * imageBytes), (int)imageBytes), height, width, resize: size != null, mode);
                int n = Interlocked.Increment(ref done);
                if (n % 1000 == 0 || n == files.Length) progress?.Report(n);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is DataFormatException))
        {
            // Report the first bad file in listing order, so the same folder always gives the same message.
            throw e.InnerExceptions.Cast<DataFormatException>().OrderBy(x => x.Path, StringComparer.Ordinal).First();
        }
        catch (AggregateException e)
        {
            throw new DataFormatException(root, $"decoding failed: {e.InnerExceptions[0].Message}", e.InnerExceptions[0]);
        }
        var resized = size == null ? "" : mode == ResizeMode.CenterCrop ? $", centre-cropped to {height}x{width}" : $", resized to {height}x{width}";
        return new ImageDataset(pixels, labels, listing.Select(c => c.ClassName).ToList(), 3, height, width,
                                $"ImageFolder {root}{resized}");
    }

    static (int, int) FirstSize(string file)
    {
        var (w, h) = ImageDecoder.Size(file);
        return (h, w);
    }
}
