using Pdnn.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// PGD (Madry et al. 2018): steps of size α along the gradient sign, each projected back into the ε-ball and [0,1],
/// from a uniform random start in the ball (drawn per image from its id); with restarts, each image keeps the first adversarial example found (or, if
/// none misleads the model, the one of highest loss).
/// </summary>
public class Pgd(Func<Tensor, Tensor> model, double epsilon, double stepSize, int steps, bool randomStart = true, int restarts = 1, int seed = 0)
    : Attack(model, epsilon)
{
    public double StepSize { get; } = stepSize;
    public int Steps { get; } = steps;

    public override Tensor Perturb(Tensor images, Tensor labels, long[] ids)
    {
        using var scope = NewDisposeScope();
        Tensor? best = null, bestLoss = null;
        for (int r = 0; r < Math.Max(1, restarts); r++)
        {
            var x = randomStart ? RandomStart(images, ids, seed, r) : images.clone();
            for (int s = 0; s < Steps; s++)
            {
                x = Project(Step(x, Gradient(x, labels), StepSize), images).detach();
                scope.DisposeEverythingBut(Kept(x, best, bestLoss)); // a step's working tensors go with it (see Attack.Kept)
                Progress?.Invoke((r * Steps + s + 1) / (double)(Math.Max(1, restarts) * Steps));
            }
            using (no_grad())
            {
                var logits = Model(x);
                var loss = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
                // Misclassified images count as +∞ loss, so the first success is kept over later, merely higher-loss points.
                using var infinity = double.PositiveInfinity.ToScalar();
                loss = where(logits.argmax(1) != labels, full_like(loss, infinity), loss);
                if (best is null) { best = x; bestLoss = loss; }
                else
                {
                    var better = (loss > bestLoss!).reshape(-1, 1, 1, 1);
                    best = where(better, x, best);
                    bestLoss = maximum(loss, bestLoss!);
                }
            }
        }
        return best!.detach().MoveToOuterDisposeScope();
    }

    /// <summary>The gradient to step along; EOT-PGD averages it over the defence's randomness.</summary>
    protected virtual Tensor Gradient(Tensor x, Tensor labels) => LossGradient(x, labels);
}
