using Pdnn.Data;
using Pdnn.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// The Square attack (Andriushchenko et al. 2020), L∞, query-only: start from vertical stripes of ±ε; then, at every
/// iteration, change one random square window of each image to a random corner of the ε-box (±ε per channel) and keep
/// the change where it lowers the margin z_y − max_{i≠y} z_i. The window's share of the image starts at
/// <see cref="InitialFraction"/> and halves on the paper's schedule (scaled to <see cref="Queries"/>). Images already
/// misclassified are left alone. Needs no gradient, so gradient masking does not stop it.
/// </summary>
public sealed class Square(Func<Tensor, Tensor> model, double epsilon, int queries = 1000, double initialFraction = 0.05, int seed = 0)
    : Attack(model, epsilon)
{
    public int Queries { get; } = queries;
    public double InitialFraction { get; } = initialFraction;
    /// <summary>Model queries per image by the last call of <see cref="Perturb"/> (an image stops costing once misclassified).</summary>
    public long[] QueriesPerImage { get; private set; } = [];

    Tensor Margin(Tensor x, Tensor labels)
    {
        using var noGrad = no_grad();
        var logits = Model(x);
        var trueLogit = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        var others = logits.scatter(1, labels.unsqueeze(1), full_like(logits, minusInfinity)).amax([1]);
        return trueLogit - others;
    }

    double Fraction(int iteration)
    {
        int i = (int)(iteration * 10000.0 / Queries);
        int halvings = new[] { 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 }.Count(t => i > t);
        return InitialFraction / Math.Pow(2, halvings);
    }

    public override Tensor Perturb(Tensor images, Tensor labels, long[] ids)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        // One generator per image, seeded by its id: an image's squares do not depend on the other images of the batch.
        var random = ids.Select(id => new Random(Seeds.Derive(seed, AttackStreams.Square, id))).ToArray();
        var stripes = tensor(Enumerable.Range(0, (int)n).SelectMany(i => Enumerable.Range(0, (int)(c * w)).Select(_ => random[i].Next(2) == 0 ? -1f : 1f)).ToArray(), [n, c, 1, w]).to(images.device);
        var x = Project(Step(images, stripes, Epsilon), images);                   // stripes are ±1: their sign
        var margin = Margin(x, labels);
        var queries = Enumerable.Repeat(1L, (int)n).ToArray();
        // The windows' offsets are built on the CPU and applied in one tensor operation: per-pixel tensor arithmetic with
        // float operands made ~n·c implicit TorchSharp Scalars per iteration, and one of them was once freed by the
        // finalizer while libtorch still read it (a crash in Scalar::toFloat during a 100-image FIRadv run).
        // One pair of buffers for all iterations (each is ~1 MB for 100 CIFAR images).
        var offset = new float[n * c * h * w];
        var inWindow = new bool[offset.Length];
        long[] shape = [n, c, h, w];
        for (int iteration = 1; iteration < Queries; iteration++)
        {
            var active = (margin > GcSafe.Zero).nonzero().flatten().cpu().data<long>().ToArray();
            if (active.Length == 0) break;
            foreach (var i in active) queries[i]++;
            int side = (int)Math.Clamp(Math.Round(Math.Sqrt(Fraction(iteration) * h * w)), 1, h - 1);
            Array.Clear(offset);
            Array.Clear(inWindow);
            foreach (var i in active)
            {
                int row = random[i].Next((int)h - side + 1), col = random[i].Next((int)w - side + 1);
                for (int ch = 0; ch < c; ch++)
                {
                    float delta = (float)(random[i].Next(2) == 0 ? -Epsilon : Epsilon);
                    for (int r = row; r < row + side; r++)
                    {
                        long start = ((i * c + ch) * h + r) * w + col;
                        Array.Fill(offset, delta, (int)start, side);
                        Array.Fill(inWindow, true, (int)start, side);
                    }
                }
            }
            var candidate = where(tensor(inWindow, shape).to(images.device), images.add(tensor(offset, shape).to(images.device), GcSafe.One).clamp_(GcSafe.Zero, GcSafe.One), x);
            var candidateMargin = Margin(candidate, labels);
            var better = (candidateMargin < margin) & (margin > GcSafe.Zero);
            x = where(better.reshape(-1, 1, 1, 1), candidate, x);
            margin = where(better, candidateMargin, margin);
            scope.DisposeEverythingBut(Kept(x, margin));
            Progress?.Invoke((iteration + 1) / (double)Queries);
        }
        QueriesPerImage = queries;
        return Project(x, images).detach().MoveToOuterDisposeScope();
    }
}
