namespace Pdnn.Data.Readers;

/// <summary>
/// The CIFAR-10 binary release (cifar-10-batches-bin): data_batch_1..5.bin (train) and test_batch.bin (test),
/// each a run of 3,073-byte records: 1 label byte (0..9) then 1,024 red, 1,024 green, 1,024 blue bytes, row-major.
/// </summary>
public static class Cifar10BinaryReader
{
    public const int RecordSize = 1 + ImageBytes;
    const int ImageBytes = 3 * 32 * 32;

    public static IReadOnlyList<string> FileNames(Split split) => split == Split.Train
        ? ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"]
        : ["test_batch.bin"];

    /// <summary>True when the folder holds the binary release (any of its batch files).</summary>
    public static bool Recognises(string folder) =>
        Directory.Exists(folder) && FileNames(Split.Test).Concat(FileNames(Split.Train)).Any(f => File.Exists(Path.Combine(folder, f)));

    public static ImageDataset Read(string folder, Split split)
    {
        var files = FileNames(split).Select(f => Path.Combine(folder, f)).ToList();
        var missing = files.Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
            throw new DataFormatException(folder, $"CIFAR-10 binary {split.ToString().ToLowerInvariant()} split needs {string.Join(", ", missing.Select(Path.GetFileName))}, not found.");
        return ReadFiles(files, $"CIFAR-10 binary {split.ToString().ToLowerInvariant()} split, {folder}");
    }

    /// <summary>Reads and concatenates the given batch files; any malformed record fails the whole read.</summary>
    public static ImageDataset ReadFiles(IReadOnlyList<string> files, string source)
    {
        // Validate every file's size first, so the pixel buffer is allocated once and nothing is half-read.
        long total = 0;
        foreach (var file in files)
        {
            long length = new FileInfo(file).Length;
            if (length == 0)
                throw new DataFormatException(file, "empty file, expected 3,073-byte CIFAR-10 records.");
            if (length % RecordSize != 0)
                throw new DataFormatException(file,
                    $"truncated record: {length} bytes is not a multiple of the 3,073-byte record " +
                    $"(record {length / RecordSize} has only {length % RecordSize} bytes).");
            total += length / RecordSize;
        }
        if (total * ImageBytes > Array.MaxLength)
            throw new DataFormatException(files[0], $"{total} records are more than one in-memory data set holds ({Array.MaxLength / ImageBytes:N0} images).");
        var pixels = new byte[total * ImageBytes];
        var labels = new int[total];
        int index = 0;
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            for (int i = 0; i < bytes.Length / RecordSize; i++, index++)
            {
                int label = bytes[i * RecordSize];
                if (label >= Cifar10.ClassNames.Count)
                    throw new DataFormatException(file, $"unknown label {label} in record {i} (CIFAR-10 labels are 0..9).");
                labels[index] = label;
                Buffer.BlockCopy(bytes, i * RecordSize + 1, pixels, index * ImageBytes, ImageBytes);
            }
        }
        return new ImageDataset(pixels, labels, Cifar10.ClassNames, 3, 32, 32, source);
    }
}
