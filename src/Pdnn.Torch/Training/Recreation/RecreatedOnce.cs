using System.Diagnostics;
using Pdnn.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Recreation;

/// <summary>
/// A data set replaced by its recreations, computed once and stored as bytes like any decoded data set. Training a T
/// classifier on these instead of recreating every augmented batch makes an epoch cost what a plain epoch costs: FIR runs
/// its inpainter ten times per image, several times the classifier's own step. <see cref="Of"/> is for a deterministic
/// recreation (FIR's seeded masks): NSR draws fresh noise at every call, which one stored copy would freeze.
/// <see cref="AugmentedCopies"/> stores several copies, each augmented before it is recreated (as the deployed chain sees
/// an image, with the masks' seams where a test image has them) and, for NSR, with its own noise draw.
/// </summary>
public static class RecreatedOnce
{
    // Floats in [0,1] to bytes at every batch: scalars held for the process (this one and GcSafe's), none made per call
    // (TorchSharp 0.107 can free an implicit one while libtorch still reads it; see GcSafe).
    static readonly Scalar MaxByte = 255f;

    /// <summary>The recreations of every image of <paramref name="data"/> (rounded to 8 bits: 1/510 at most from the
    /// floats the deployed φDNN classifies), in batches of <paramref name="batchSize"/> on <paramref name="device"/>.</summary>
    /// <param name="progress">Called after each batch with the images done so far.</param>
    /// <param name="cancel">Checked before each batch: a long recreation stops within one batch when asked.</param>
    /// <param name="drawSeed">For a random recreation: seeds each batch's draw, so that one reproducible draw per image is
    /// stored (a test set to watch training by; what the deployed chain draws differs). null: the recreation must be
    /// deterministic, and is checked to be.</param>
    public static ImageDataset Of(ImageDataset data, Func<Tensor, Tensor> recreate, string recreationName, Device device,
                                  int batchSize = 100, Action<int>? progress = null, int? drawSeed = null, CancellationToken cancel = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var images = new DeviceImages(data, device);
        if (drawSeed == null) ThrowIfRandom(images, recreate, recreationName);
        var pixels = new byte[data.Pixels.Length];
        Recreate(images, recreate, pixels, 0, batchSize, drawSeed, augment: null, done => progress?.Invoke(done), cancel);
        return new ImageDataset(pixels, data.Labels, data.ClassNames, data.Channels, data.Height, data.Width,
                                $"{data.Source}, recreated once by {recreationName}");
    }

    /// <summary>
    /// <paramref name="copies"/> recreations of every image of <paramref name="data"/>, each of an independently cropped
    /// and flipped copy (<see cref="Augmentation.CropAndFlip"/> with <paramref name="padding"/>; null: not augmented) and each
    /// with its own draw of the recreation's randomness, all seeded by <paramref name="seed"/>: one data set of copies x N
    /// images, copy k at [k N, (k + 1) N). Training epoch e on copy e mod K sees what recreating every augmented batch
    /// shows, with K draws per image instead of one per epoch.
    /// </summary>
    public static ImageDataset AugmentedCopies(ImageDataset data, Func<Tensor, Tensor> recreate, string recreationName, Device device,
                                               int copies, int seed, int? padding, int batchSize = 100, Action<int>? progress = null,
                                               CancellationToken cancel = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(copies, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        long size = (long)copies * data.Pixels.Length;
        if (size > Array.MaxLength)
            throw new ArgumentException($"{copies} recreated copies of {data.Count:N0} images are {size / (1 << 20):N0} MiB, more than one array holds " +
                                        $"({Array.MaxLength / (1 << 20):N0} MiB); store at most {Array.MaxLength / data.Pixels.Length}.", nameof(copies));
        using var images = new DeviceImages(data, device);
        var pixels = new byte[size];
        for (int k = 0; k < copies; k++)
        {
            int copy = k;
            Recreate(images, recreate, pixels, (long)copy * data.Pixels.Length, batchSize, Seeds.Derive(seed, Seeds.CopyStream, copy),
                     augment: padding is { } p ? (x, start) => Augmentation.CropAndFlip(x, new Random(Seeds.Derive(seed, Seeds.CopyStream, copy, start)), p) : null,
                     done => progress?.Invoke(copy * data.Count + done), cancel);
        }
        var labels = Enumerable.Repeat(data.Labels, copies).SelectMany(l => l).ToArray();
        return new ImageDataset(pixels, labels, data.ClassNames, data.Channels, data.Height, data.Width,
                                $"{data.Source}, {copies} augmented copies recreated once by {recreationName}");
    }

    /// <summary>Recreates every image of <paramref name="images"/> batch by batch into <paramref name="pixels"/> from
    /// <paramref name="offset"/>, each batch first augmented when asked and its random draws seeded when asked.</summary>
    static void Recreate(DeviceImages images, Func<Tensor, Tensor> recreate, byte[] pixels, long offset, int batchSize, int? drawSeed,
                         Func<Tensor, int, Tensor>? augment, Action<int> progress, CancellationToken cancel)
    {
        int imageSize = images.Data.ImageSize;
        for (int start = 0; start < images.Count; start += batchSize)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            int n = Math.Min(batchSize, images.Count - start);
            var (x, _) = images.Range(start, n);
            if (augment != null) x = augment(x, start);
            if (drawSeed is { } s) manual_seed(Seeds.Derive(s, Seeds.NoiseStream, start));
            var bytes = recreate(x).clamp(GcSafe.Zero, GcSafe.One).mul(MaxByte).round().to(ScalarType.Byte).cpu();
            bytes.data<byte>().CopyTo(pixels, checked((int)(offset + (long)start * imageSize)));
            progress(start + n);
        }
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
