using System.Diagnostics;
using Pdnn.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Recreation;

/// <summary>
/// A data set replaced by its recreations, computed once and stored as bytes like any decoded data set. Training a T
/// classifier on these instead of recreating every augmented batch makes an epoch cost what a plain epoch costs: FIR runs
/// its inpainter ten times per image, several times the classifier's own step. Only for a deterministic recreation
/// (FIR's seeded masks); NSR draws fresh noise at every call, which a stored copy would freeze.
/// </summary>
public static class RecreatedOnce
{
    // Floats in [0,1] to bytes at every batch: scalars held for the process (this one and GcSafe's), none made per call
    // (TorchSharp 0.107 can free an implicit one while libtorch still reads it; see GcSafe).
    static readonly Scalar MaxByte = 255f;

    /// <summary>The recreations of every image of <paramref name="data"/> (rounded to 8 bits: 1/510 at most from the
    /// floats the deployed φDNN classifies), in batches of <paramref name="batchSize"/> on <paramref name="device"/>.</summary>
    /// <param name="progress">Called after each batch with the images done so far.</param>
    public static ImageDataset Of(ImageDataset data, Func<Tensor, Tensor> recreate, string recreationName, Device device,
                                  int batchSize = 100, Action<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var images = new DeviceImages(data, device);
        ThrowIfRandom(images, recreate, recreationName);
        var pixels = new byte[data.Pixels.Length];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            int n = Math.Min(batchSize, data.Count - start);
            var (x, _) = images.Range(start, n);
            var bytes = recreate(x).clamp(GcSafe.Zero, GcSafe.One).mul(MaxByte).round().to(ScalarType.Byte).cpu();
            bytes.data<byte>().CopyTo(pixels, start * data.ImageSize);
            progress?.Invoke(start + n);
        }
        return new ImageDataset(pixels, data.Labels, data.ClassNames, data.Channels, data.Height, data.Width,
                                $"{data.Source}, recreated once by {recreationName}");
    }

    /// <summary>Recreates a few images twice: a stored copy of a recreation that differs between calls would train the
    /// classifier on one draw of its randomness and test it on others.</summary>
    static void ThrowIfRandom(DeviceImages images, Func<Tensor, Tensor> recreate, string recreationName)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (x, _) = images.Range(0, Math.Min(4, images.Count));
        if (!recreate(x).eq(recreate(x)).all().item<bool>())
            throw new ArgumentException($"{recreationName} gives different recreations of the same images at each call (NSR draws fresh noise): " +
                                        "recreating the training set once would freeze one draw; train on fresh recreations of every batch instead.");
    }

    /// <summary>Progress as a message every tenth of the set, for observers that only take messages.</summary>
    public static Action<int> Messages(ITrainingObserver observer, string what, int count)
    {
        var clock = Stopwatch.StartNew();
        int reported = 0;
        return done =>
        {
            if (done * 10L / count <= reported && done < count) return;
            reported = (int)(done * 10L / count);
            observer.Message($"recreating {what}: {done:N0} of {count:N0} images ({done / clock.Elapsed.TotalSeconds:F0} images/s)");
        };
    }
}
