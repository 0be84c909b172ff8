using Pdnn.Data;

namespace Pdnn.Data.Tests.FormatWriters;

/// <summary>Writes the CIFAR-10 binary release layout: per image, 1 label byte then 3,072 channel-major pixel bytes.</summary>
static class Cifar10BinaryWriter
{
    public static void Write(string file, ImageDataset data, int start, int count)
    {
        using var stream = File.Create(file);
        for (int i = start; i < start + count; i++)
        {
            stream.WriteByte((byte)data.Labels[i]);
            stream.Write(data.Image(i));
        }
    }
}
