using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training;

/// <summary>
/// The standard CIFAR augmentation, random crop with zero padding 4 (an eighth of the side at other sizes) plus random horizontal flip, done for a whole batch
/// as one gather on the device. The random draws come from a seeded System.Random, so a step's augmentation is the
/// same whether the run was interrupted or not.
/// </summary>
public static class Augmentation
{
    /// <summary>The crop's padding for images of this height: an eighth of the side (CIFAR's 4 at 32x32, 8 at 64x64).</summary>
    public static int Padding(int height) => Math.Max(1, height / 8);

    public static Tensor CropAndFlip(Tensor images, Random random, int padding = 4)
    {
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        long paddedW = w + 2 * padding;
        // For image b, output pixel (i, j) reads padded pixel (dy_b + i, dx_b + j), or (dy_b + i, dx_b + w - 1 - j) when flipped.
        var rows = new long[n * h];
        var cols = new long[n * w];
        for (long b = 0; b < n; b++)
        {
            int dy = random.Next(2 * padding + 1), dx = random.Next(2 * padding + 1);
            bool flip = random.Next(2) == 1;
            for (long i = 0; i < h; i++) rows[b * h + i] = dy + i;
            for (long j = 0; j < w; j++) cols[b * w + j] = dx + (flip ? w - 1 - j : j);
        }
        using var scope = NewDisposeScope();
        var r = tensor(rows, [n, h, 1]).to(images.device);
        var col = tensor(cols, [n, 1, w]).to(images.device);
        using var rowLength = paddedW.ToScalar(); // held during the calls (GcSafe)
        var index = r.mul(rowLength).add(col, GcSafe.One).reshape(n, 1, h * w).expand(n, c, h * w);
        var padded = nn.functional.pad(images, [padding, padding, padding, padding]);
        return padded.flatten(2).gather(2, index).reshape(n, c, h, w).MoveToOuterDisposeScope();
    }
}
