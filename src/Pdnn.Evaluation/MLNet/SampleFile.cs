using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Pdnn.Evaluation.MLNet;

/// <summary>
/// The sampled images of an evaluation, kept in a temporary file (float32, in sample order) rather than in memory: the
/// sample is drawn uniformly from the input, so the images of one unit of work lie anywhere in it, and reading the input
/// again per unit would cost a pass over every row. The file is deleted when this is disposed (on Unix its name is removed
/// as soon as it is open, so not even a killed process leaves it behind).
/// Memory used: one image at a time to write; to read, the caller's buffer.
/// </summary>
sealed class SampleFile : IDisposable
{
    readonly FileStream file;
    readonly int imageSize;

    public SampleFile(int count, int imageSize)
    {
        this.imageSize = imageSize;
        Count = count;
        var path = Path.Combine(Path.GetTempPath(), $"pdnn-sample-{Guid.NewGuid():N}.f32");
        file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.DeleteOnClose);
        // On Unix the open handle keeps an unlinked file alive, so removing the name now leaves nothing behind even when
        // the process is killed (DeleteOnClose only runs at a normal close; Windows deletes on close itself).
        if (!OperatingSystem.IsWindows()) File.Delete(path);
        file.SetLength((long)count * imageSize * sizeof(float));
    }

    public int Count { get; }
    SafeFileHandle Handle => file.SafeFileHandle;
    long Offset(int position) => (long)position * imageSize * sizeof(float);

    /// <summary>Stores the image at sample position <paramref name="position"/>.</summary>
    public void Write(int position, ReadOnlySpan<float> pixels)
    {
        if (pixels.Length != imageSize) throw new ArgumentException($"{pixels.Length} values for an image of {imageSize}.", nameof(pixels));
        RandomAccess.Write(Handle, MemoryMarshal.AsBytes(pixels), Offset(position));
    }

    /// <summary>Reads the images at sample positions <paramref name="positions"/>, one after another, into <paramref name="pixels"/>.</summary>
    public void Read(ReadOnlySpan<int> positions, Span<float> pixels)
    {
        if (pixels.Length != positions.Length * imageSize)
            throw new ArgumentException($"{pixels.Length} values for {positions.Length} images of {imageSize}.", nameof(pixels));
        for (int i = 0; i < positions.Length; i++)
        {
            var bytes = MemoryMarshal.AsBytes(pixels.Slice(i * imageSize, imageSize));
            if (RandomAccess.Read(Handle, bytes, Offset(positions[i])) != bytes.Length)
                throw new IOException($"{file.Name}: image {positions[i]} was cut short (the temporary file was changed).");
        }
    }

    /// <summary>Every image, in sample order, in chunks of at most <paramref name="chunkImages"/> images, each valid until the next (for hashing).</summary>
    public IEnumerable<ReadOnlyMemory<float>> Chunks(int chunkImages = 256)
    {
        var buffer = new float[Math.Min(chunkImages, Count) * imageSize];
        for (int start = 0; start < Count; start += chunkImages)
        {
            int count = Math.Min(chunkImages, Count - start);
            Read(Enumerable.Range(start, count).ToArray(), buffer.AsSpan(0, count * imageSize));
            yield return buffer.AsMemory(0, count * imageSize);
        }
    }

    public void Dispose() => file.Dispose();
}
