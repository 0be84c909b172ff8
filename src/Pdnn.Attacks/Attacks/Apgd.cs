using Pdnn.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

public enum ApgdLoss { CrossEntropy, Dlr }

/// <summary>
/// APGD (Croce &amp; Hein 2020), L∞: PGD with momentum (α = 0.75) and a step size that starts at 2ε and halves, per image,
/// at checkpoints where progress stalled (fewer than 75% of the steps since the last checkpoint raised the loss, or
/// neither the step size nor the best loss changed). Returns, per image, the first adversarial point found, else the
/// point of highest loss. The DLR loss, −(z_y − max_{i≠y} z_i)/(z_π1 − z_π3), is invariant to the logits' scale, which
/// defeats defences that merely flatten the cross-entropy.
/// </summary>
public sealed class Apgd(Func<Tensor, Tensor> model, double epsilon, int steps, ApgdLoss loss = ApgdLoss.CrossEntropy, int seed = 0)
    : Attack(model, epsilon)
{
    public int Steps { get; } = steps;
    public ApgdLoss Loss { get; } = loss;

    /// <summary>The iterations at which the step size is reconsidered: p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06).</summary>
    public static SortedSet<int> Checkpoints(int steps)
    {
        var p = new List<double> { 0, 0.22 };
        while (p[^1] < 1) p.Add(p[^1] + Math.Max(p[^1] - p[^2] - 0.03, 0.06));
        return new SortedSet<int>(p.Where(v => v <= 1).Select(v => (int)Math.Ceiling(v * steps - 1e-9)).Where(w => w > 0));
    }

    Tensor PerImageLoss(Tensor logits, Tensor labels)
    {
        if (Loss == ApgdLoss.CrossEntropy) return nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
        var sorted = logits.sort(1, descending: true).Values;
        var trueLogit = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        using var tiny = 1e-12.ToScalar();
        var others = logits.scatter(1, labels.unsqueeze(1), full_like(logits, minusInfinity));
        return -(trueLogit - others.amax([1])) / (sorted[.., 0] - sorted[.., 2]).add(tiny, GcSafe.One);
    }

    (Tensor Loss, Tensor Gradient, Tensor Wrong) Evaluate(Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var input = x.detach().requires_grad_(true);
        var logits = Model(input);
        var losses = PerImageLoss(logits, labels);
        var gradient = autograd.grad([losses.sum()], [input])[0];
        return (losses.detach().MoveToOuterDisposeScope(), gradient.detach().MoveToOuterDisposeScope(),
                (logits.argmax(1) != labels).detach().MoveToOuterDisposeScope());
    }

    public override Tensor Perturb(Tensor images, Tensor labels, long[] ids)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0];
        var x = RandomStart(images, ids, seed, 0);
        using var initialStep = (2 * Epsilon).ToScalar();
        using var momentum = 0.75.ToScalar();
        using var previousWeight = 0.25.ToScalar();
        using var two = 2.ToScalar();
        var eta = full([n, 1, 1, 1], initialStep, device: images.device);
        var (f, g, wrong) = Evaluate(x, labels);
        var best = x.clone(); var bestLoss = f.clone();
        var adversarial = where(wrong.reshape(-1, 1, 1, 1), x, images); var found = wrong.clone();
        var previous = x.clone();
        var improvements = zeros([n], device: images.device);
        var etaAtCheckpoint = eta.clone(); var bestAtCheckpoint = bestLoss.clone();
        var checkpoints = Checkpoints(Steps);
        int lastCheckpoint = 0;
        for (int k = 0; k < Steps; k++)
        {
            var z = Project(x.add(eta * g.sign(), GcSafe.One), images);
            // x + 0.75 (z − x) + 0.25 (x − previous)
            var next = k == 0 ? z : Project(x.add((z - x).mul(momentum), GcSafe.One).add((x - previous).mul(previousWeight), GcSafe.One), images);
            previous = x; x = next.detach();
            var (fNew, gNew, wrongNew) = Evaluate(x, labels);
            improvements = improvements.add((fNew > f).to(ScalarType.Float32), GcSafe.One);
            var better = fNew > bestLoss;
            best = where(better.reshape(-1, 1, 1, 1), x, best); bestLoss = where(better, fNew, bestLoss);
            var newlyFound = wrongNew & ~found;
            adversarial = where(newlyFound.reshape(-1, 1, 1, 1), x, adversarial); found |= wrongNew;
            f = fNew; g = gNew;
            if (checkpoints.Contains(k + 1))
            {
                // Halve the step where progress stalled, and restart from the best point.
                using var needed = (0.75 * (k + 1 - lastCheckpoint)).ToScalar();
                var tooFewImprovements = improvements < needed;
                var stuck = (eta.flatten() == etaAtCheckpoint.flatten()) & (bestLoss == bestAtCheckpoint);
                var halve = (tooFewImprovements | stuck).reshape(-1, 1, 1, 1);
                eta = where(halve, eta.div(two), eta);
                x = where(halve, best, x); previous = where(halve, best, previous);
                if (halve.any().item<bool>()) (f, g, _) = Evaluate(x, labels);
                improvements = zeros_like(improvements); etaAtCheckpoint = eta.clone(); bestAtCheckpoint = bestLoss.clone();
                lastCheckpoint = k + 1;
            }
            scope.DisposeEverythingBut(Kept(x, previous, eta, f, g, best, bestLoss, adversarial, found, improvements, etaAtCheckpoint, bestAtCheckpoint));
            Progress?.Invoke((k + 1) / (double)Steps);
        }
        return where(found.reshape(-1, 1, 1, 1), adversarial, best).detach().MoveToOuterDisposeScope();
    }
}
